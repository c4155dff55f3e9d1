package linkserver

import (
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"sync"
	"time"
)

// pacedWriter holds an answer to a minimum transfer rate instead of a fixed write
// timeout: before each chunk of rate×window bytes it moves the connection's write
// deadline one window ahead. A slow reader of a large file that keeps taking bytes at
// the rate finishes however long it takes; one that stops taking them is cut off a
// window after its socket buffers fill. The deadline is also set at the start, so an
// answer without a body (304, 404, HEAD) is bounded too.
type pacedWriter struct {
	http.ResponseWriter
	rc     *http.ResponseController
	window time.Duration
	chunk  int64
	// noDeadlines: the writer reaches no connection (a test's recorder).
	noDeadlines bool
	// movedAt is when the deadline was last moved, zero once bytes have been written
	// under it: a chunk starting soon after a move is already covered. Most answers fit
	// in one chunk, and moving a deadline is a lock and a timer update on the
	// connection; this spares one per answer while giving no chunk noticeably less
	// than its window.
	movedAt time.Time
}

// freshFor is how long a deadline nothing was written under still counts as just moved.
func (w *pacedWriter) freshFor() time.Duration { return w.window / 64 }

func newPacedWriter(w http.ResponseWriter, rate int64, window time.Duration) *pacedWriter {
	chunk := int64(math.Min(float64(rate)*window.Seconds(), math.MaxInt64))
	p := &pacedWriter{ResponseWriter: w, rc: http.NewResponseController(w), window: window, chunk: max(chunk, 1)}
	p.extend()
	return p
}

func (w *pacedWriter) extend() {
	if w.noDeadlines {
		return
	}
	now := time.Now()
	if !w.movedAt.IsZero() && now.Sub(w.movedAt) < w.freshFor() {
		return
	}
	w.movedAt = now
	if err := w.rc.SetWriteDeadline(now.Add(w.window)); errors.Is(err, http.ErrNotSupported) {
		w.noDeadlines = true
	}
}

func (w *pacedWriter) Write(p []byte) (int, error) {
	var written int
	for len(p) > 0 {
		n := int(min(int64(len(p)), w.chunk))
		w.extend()
		m, err := w.ResponseWriter.Write(p[:n])
		w.movedAt = time.Time{}
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// ReadFrom copies chunk by chunk through the inner writer's own ReadFrom. It narrows the
// *io.LimitedReader it is handed (ServeContent's, around the cached *os.File) instead of
// wrapping it in another, since net/http's sendfile path looks through exactly one.
// Any other source (an object store's body) is copied through Write with a pooled
// buffer: net/http's fallback for such a source allocates a new buffer per call, which
// is one per chunk, hundreds of MiB of garbage for a large download.
func (w *pacedWriter) ReadFrom(r io.Reader) (int64, error) {
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		lr = &io.LimitedReader{R: r, N: math.MaxInt64}
	}
	if _, file := lr.R.(*os.File); !file {
		buf := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(buf)
		return io.CopyBuffer(writerOnly{w}, lr, *buf)
	}
	var total int64
	for lr.N > 0 {
		step := &io.LimitedReader{R: lr.R, N: min(lr.N, w.chunk)}
		w.extend()
		n, err := readFrom(w.ResponseWriter, step)
		w.movedAt = time.Time{}
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

// Unwrap lets http.ResponseController reach the connection.
func (w *pacedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// copyBufferSize is the most one read from a streamed source takes: large enough that a
// fast source costs few system calls per MiB, small enough that many concurrent
// downloads stay cheap (SPEC §10: bounded memory whatever the object's size).
const copyBufferSize = 256 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}
