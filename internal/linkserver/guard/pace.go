package guard

import (
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"sync"
	"time"
)

// Pacer holds an answer to a minimum transfer rate instead of a fixed write timeout:
// before each chunk of rate×window bytes it moves the connection's write deadline one
// window ahead. A slow reader of a large file that keeps taking bytes at the rate
// finishes however long it takes; one that stops taking them is cut off a window after
// its socket buffers fill. The deadline is also set at the start, so an answer without a
// body (304, 404, HEAD) is bounded too. It paces net/http's answers (Writer) and the
// fast path's, which write to the connection itself.
type Pacer struct {
	out       io.Writer
	deadlines writeDeadliner
	window    time.Duration
	chunk     int64
	// noDeadlines: the writer reaches no connection (a test's recorder).
	noDeadlines bool
	// movedAt is when the deadline was last moved, zero once bytes have been written
	// under it: a chunk starting soon after a move is already covered. Most answers fit
	// in one chunk, and moving a deadline is a lock and a timer update on the
	// connection; this spares one per answer while giving no chunk noticeably less
	// than its window.
	movedAt time.Time
}

// writeDeadliner is what both a net.Conn and an http.ResponseController offer.
type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

// Start paces writes to out, whose deadlines are set through deadlines, at rate bytes per
// second over window, and sets the first deadline.
func (p *Pacer) Start(out io.Writer, deadlines writeDeadliner, rate int64, window time.Duration) {
	p.out, p.deadlines = out, deadlines
	p.window = window
	p.chunk = max(int64(math.Min(float64(rate)*window.Seconds(), math.MaxInt64)), 1)
	p.extend()
}

// freshFor is how long a deadline nothing was written under still counts as just moved.
func (p *Pacer) freshFor() time.Duration { return p.window / 64 }

func (p *Pacer) extend() {
	if p.noDeadlines {
		return
	}
	now := time.Now()
	if !p.movedAt.IsZero() && now.Sub(p.movedAt) < p.freshFor() {
		return
	}
	p.movedAt = now
	if err := p.deadlines.SetWriteDeadline(now.Add(p.window)); errors.Is(err, http.ErrNotSupported) {
		p.noDeadlines = true
	}
}

func (p *Pacer) Write(b []byte) (int, error) {
	var written int
	for len(b) > 0 {
		n := int(min(int64(len(b)), p.chunk))
		p.extend()
		m, err := p.out.Write(b[:n])
		p.movedAt = time.Time{}
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// ReadFrom copies chunk by chunk through the output's own ReadFrom. It narrows the
// *io.LimitedReader it is handed (ServeContent's, around the cached *os.File) instead of
// wrapping it in another, since the sendfile paths of net/http and of *net.TCPConn look
// through exactly one. Any other source (an object store's body) is copied through Write
// with a pooled buffer: net/http's fallback for such a source allocates a new buffer per
// call, which is one per chunk, hundreds of MiB of garbage for a large download.
func (p *Pacer) ReadFrom(r io.Reader) (int64, error) {
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		lr = &io.LimitedReader{R: r, N: math.MaxInt64}
	}
	if _, file := lr.R.(*os.File); !file {
		buf := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(buf)
		return io.CopyBuffer(writerOnly{p}, lr, *buf)
	}
	var total int64
	for lr.N > 0 {
		step := &io.LimitedReader{R: lr.R, N: min(lr.N, p.chunk)}
		p.extend()
		n, err := readFrom(p.out, step)
		p.movedAt = time.Time{}
		total += n
		lr.N -= n
		if err != nil {
			return total, err
		}
		if step.N > 0 { // the source ended before the chunk did
			break
		}
	}
	return total, nil
}

// copyBufferSize is the most one read from a streamed source takes: large enough that a
// fast source costs few system calls per MiB, small enough that many concurrent
// downloads stay cheap (SPEC §10: bounded memory whatever the object's size).
const copyBufferSize = 256 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// readFrom copies r into w through w's own ReadFrom when it has one.
func readFrom(w io.Writer, r io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w}, r)
}

// writerOnly hides any ReadFrom of w, so io.Copy does not call back into it.
type writerOnly struct{ io.Writer }
