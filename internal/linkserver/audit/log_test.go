package audit

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"
)

// sink is a writer the test reads while the log writes; fail makes its writes fail,
// as a full disk's would.
type sink struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	fail bool
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return 0, errors.New("no space left on device")
	}
	return s.buf.Write(p)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *sink) setFailing(f bool) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

// managerLog collects what the log reports to the manager's log.
type managerLog struct {
	mu    sync.Mutex
	lines []string
}

func (m *managerLog) add(_, args string) {
	m.mu.Lock()
	m.lines = append(m.lines, args)
	m.mu.Unlock()
}

func (m *managerLog) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.lines)
}

func startLog(t *testing.T, w *sink, reports *managerLog) (*Log, *clocktesting.FakeClock, func()) {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Now())
	l := New(Config{Writer: w, Replica: "r", Clock: clk, Log: funcr.New(reports.add, funcr.Options{})})
	stop := l.Start()
	t.Cleanup(func() {
		defer func() { _ = recover() }() // stopped by the test already
		stop()
	})
	return l, clk, stop
}

func TestLinesReachTheWriterWithinAFlushInterval(t *testing.T) {
	g := NewWithT(t)
	w := &sink{}
	l, clk, _ := startLog(t, w, &managerLog{})
	l.Write(&sample)
	g.Consistently(w.String).WithTimeout(50 * time.Millisecond).Should(BeEmpty())
	g.Eventually(clk.HasWaiters).Should(BeTrue())
	clk.Step(FlushInterval)
	g.Eventually(w.String).Should(Equal(string(AppendLine(nil, "r", &sample))))
}

func TestStopWritesWhatIsGathered(t *testing.T) {
	w := &sink{}
	l, _, stop := startLog(t, w, &managerLog{})
	for range 3 {
		l.Write(&sample)
	}
	stop()
	if got := strings.Count(w.String(), "\n"); got != 3 {
		t.Errorf("%d lines written on stop, want 3", got)
	}
	l.Write(&sample) // a late answer is dropped, not written past the stop
	if got := strings.Count(w.String(), "\n"); got != 3 {
		t.Errorf("%d lines after stop", got)
	}
}

// A destination that fails loses lines, counted and reported once per interval, and
// Write keeps returning at once; once it recovers, lines flow again.
func TestFailingWriterDropsLinesAndSaysSoRarely(t *testing.T) {
	g := NewWithT(t)
	w := &sink{fail: true}
	reports := &managerLog{}
	l, clk, _ := startLog(t, w, reports)
	g.Eventually(clk.HasWaiters).Should(BeTrue())
	before := testutil.ToFloat64(droppedLines)
	for round := range 3 {
		for range 10 {
			l.Write(&sample)
		}
		clk.Step(FlushInterval)
		g.Eventually(func() float64 { return testutil.ToFloat64(droppedLines) - before }).Should(Equal(float64(10 * (round + 1))))
	}
	if got := reports.count(); got != 1 {
		t.Errorf("%d reports within %s, want 1: %v", got, ReportInterval, reports.lines)
	}
	g.Expect(reports.lines[0]).To(And(ContainSubstring("no space left on device"), ContainSubstring(`"lines"=10`)))

	clk.Step(ReportInterval)
	g.Eventually(reports.count).Should(Equal(2))
	g.Expect(reports.lines[1]).To(ContainSubstring(`"lines"=20`))

	w.setFailing(false)
	l.Write(&sample)
	clk.Step(FlushInterval)
	g.Eventually(w.String).Should(Equal(string(AppendLine(nil, "r", &sample))))
}

// A writer that blocks (a pipe nobody reads) holds one batch; the batches behind it
// are bounded, and past them lines are dropped, not waited for.
func TestStalledWriterNeverBlocksWrite(t *testing.T) {
	release := make(chan struct{})
	blocked := writerFunc(func(p []byte) (int, error) { <-release; return len(p), nil })
	l := New(Config{Writer: blocked, Replica: "r", Log: funcr.New(func(string, string) {}, funcr.Options{})})
	stop := l.Start()
	defer func() { close(release); stop() }()
	before := testutil.ToFloat64(droppedLines)
	line := len(AppendLine(nil, "r", &sample))
	lines := (queuedBatches + 3) * batchBytes / line
	done := make(chan struct{})
	go func() {
		for range lines {
			l.Write(&sample)
		}
		close(done)
	}()
	NewWithT(t).Eventually(done).WithTimeout(10 * time.Second).Should(BeClosed())
	if testutil.ToFloat64(droppedLines) == before {
		t.Error("no line counted as dropped behind a stalled writer")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestNilLogWritesNothing(*testing.T) {
	var l *Log
	l.Write(&sample)
	l.Start()()
}

// BenchmarkLogWrite is what an answer pays for its line, from all cores at once as
// under load: encoding into a pooled buffer and appending it to the batch under the
// lock; the writer goroutine writes to io.Discard meanwhile.
func BenchmarkLogWrite(b *testing.B) {
	l := New(Config{Writer: io.Discard, Replica: "filelink-7d9f-abcde", Log: funcr.New(func(string, string) {}, funcr.Options{})})
	defer l.Start()()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		a := sample
		for pb.Next() {
			l.Write(&a)
		}
	})
}
