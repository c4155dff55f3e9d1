// Package audit writes the link server's audit log (SPEC §13): one JSON line per
// answered request, to stdout or a file. Serving never waits on it: lines are gathered
// in memory and written by one goroutine, at least every second; a writer that fails or
// falls behind loses lines, counted in filelink_audit_lines_dropped_total and reported
// in the manager's log at most every ReportInterval, never a request.
package audit

import (
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
)

const (
	// FlushInterval is the longest a line waits in memory: `kubectl logs -f` and a
	// tail of the file show a download within about a second.
	FlushInterval = time.Second
	// batchBytes is when a batch goes to the writer before the interval: a few
	// hundred lines, one write each, at full load.
	batchBytes = 64 << 10
	// queuedBatches bound what a stalled writer costs in memory (about 0.5 MiB); past
	// it, lines are dropped rather than serving slowed.
	queuedBatches = 8
	// ReportInterval spaces the manager's log lines about lost audit lines, so a full
	// disk does not flood the manager's log too.
	ReportInterval = time.Minute
)

// Config is what a Log writes with.
type Config struct {
	Writer io.Writer
	// Replica names the replica in every line: the pod's name (Replica).
	Replica string
	// Log reports lost lines.
	Log logr.Logger
	// Clock times the flushes and the reports; a real clock outside tests.
	Clock clock.WithTicker
}

// Log is an audit log. A nil *Log writes nothing (--audit-log=off).
type Log struct {
	cfg Config

	mu     sync.Mutex
	batch  *batch // lines not yet handed to the writer; guarded by mu
	closed bool   // guarded by mu
	// queued are batches for the writer goroutine; spare are written ones, reused.
	queued, spare chan *batch
	// lost counts lines dropped at hand-off, for the writer goroutine's next report.
	lost chan int

	stop, stopped chan struct{}
}

// batch is a run of whole lines.
type batch struct {
	buf   []byte
	lines int
}

// New returns a Log that writes once Start has been called.
func New(cfg Config) *Log {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Log{
		cfg:    cfg,
		batch:  &batch{buf: make([]byte, 0, batchBytes)},
		queued: make(chan *batch, queuedBatches),
		spare:  make(chan *batch, queuedBatches),
		lost:   make(chan int, 1),
		stop:   make(chan struct{}),
	}
}

// Write adds a's line. It never blocks on the writer.
func (l *Log) Write(a *answer.Answer) {
	if l == nil {
		return
	}
	line := lineBuffers.Get().(*[]byte)
	*line = AppendLine((*line)[:0], l.cfg.Replica, a)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.dropped(1)
		lineBuffers.Put(line)
		return
	}
	l.batch.buf = append(l.batch.buf, *line...)
	l.batch.lines++
	if len(l.batch.buf) >= batchBytes {
		// Queued under mu, so that no batch is queued once Start's stop has drained.
		full := l.takeLocked()
		select {
		case l.queued <- full:
		default:
			l.dropped(full.lines)
			l.recycle(full)
		}
	}
	l.mu.Unlock()
	lineBuffers.Put(line)
}

// takeLocked returns the batch gathered so far, nil when empty, and starts another.
func (l *Log) takeLocked() *batch {
	if l.batch.lines == 0 {
		return nil
	}
	b := l.batch
	select {
	case l.batch = <-l.spare:
	default:
		l.batch = &batch{buf: make([]byte, 0, batchBytes)}
	}
	return b
}

func (l *Log) recycle(b *batch) {
	b.buf, b.lines = b.buf[:0], 0
	select {
	case l.spare <- b:
	default:
	}
}

// dropped counts lines lost before reaching the writer, for the metric and the next
// report.
func (l *Log) dropped(n int) {
	droppedLines.Add(float64(n))
	for {
		select {
		case l.lost <- n:
			return
		case m := <-l.lost:
			n += m
		}
	}
}

// Start runs the writer goroutine; the function it returns writes what is gathered and
// waits for it, for shutdown once nothing answers any more.
func (l *Log) Start() (stop func()) {
	if l == nil {
		return func() {}
	}
	l.stopped = make(chan struct{})
	go l.run()
	return func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.stop)
		<-l.stopped
	}
}

func (l *Log) run() {
	defer close(l.stopped)
	tick := l.cfg.Clock.NewTicker(FlushInterval)
	defer tick.Stop()
	r := reporter{log: l.cfg.Log, clock: l.cfg.Clock}
	for {
		select {
		case b := <-l.queued:
			l.write(b, &r)
		case <-tick.C():
			l.flush(&r)
		case <-l.stop:
			l.drain(&r)
			return
		}
	}
}

// drain writes every line gathered, once Write takes no more.
func (l *Log) drain(r *reporter) {
	for {
		select {
		case b := <-l.queued:
			l.write(b, r)
		default:
			l.flush(r)
			r.report(true)
			return
		}
	}
}

// flush writes the lines gathered so far, and reports losses if one is due.
func (l *Log) flush(r *reporter) {
	l.mu.Lock()
	b := l.takeLocked()
	l.mu.Unlock()
	if b != nil {
		l.write(b, r)
	}
	select {
	case n := <-l.lost:
		r.add(n, errWriterBehind)
	default:
	}
	r.report(false)
}

// write hands b to the writer; the lines it did not take whole are lost.
func (l *Log) write(b *batch, r *reporter) {
	n, err := l.cfg.Writer.Write(b.buf)
	if err != nil || n < len(b.buf) {
		lost := bytes.Count(b.buf[max(n, 0):], []byte("\n"))
		droppedLines.Add(float64(lost))
		if err == nil {
			err = io.ErrShortWrite
		}
		r.add(lost, err)
	}
	l.recycle(b)
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
