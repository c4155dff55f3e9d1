package guard

import (
	"io"
	"maps"
	"net/http"
	"time"
)

// Writer is the one http.ResponseWriter a net/http answer of the link server goes
// through. What every answer is held to is built in: the hardened headers, stamped as
// the status line goes out (http.ServeContent drops Cache-Control from its own 412 and
// 416, and a 416 cached by a proxy would outlive an expired link), and the minimum
// transfer rate, applied per chunk of body by a Pacer. What only some answers need is a
// hook, run at a named moment, instead of one more wrapper around the writer:
//
//   - BeforeHead hooks run in order once the answer's status is chosen and before its
//     status line goes out; one may refuse the answer, which is then replaced by an error
//     answer and the body the handler goes on writing is dropped.
//   - AfterBody hooks run from Finish, with the status sent and the body bytes written.
//
// Body writes keep the connection's sendfile path: ReadFrom hands the source to
// net/http's own ReadFrom, chunk by chunk.
type Writer struct {
	rw   http.ResponseWriter
	pace Pacer

	code     int
	written  int64
	headSent bool
	// refused is the error a BeforeHead hook refused the answer with; body writes fail
	// with it.
	refused    error
	beforeHead []func(code int) *Refusal
	commit     func(code int) *Refusal
	afterBody  []func(code int, written int64)
}

// Refusal replaces an answer whose status line has not gone out yet: Status and its
// text are sent instead, without the validators the refused answer carried.
type Refusal struct {
	Status int
	Err    error
}

// NewWriter starts an answer on rw held to rate bytes per second over window; the first
// write deadline is set now, so an answer without a body is bounded too.
func NewWriter(rw http.ResponseWriter, rate int64, window time.Duration) *Writer {
	w := &Writer{rw: rw, code: http.StatusOK}
	w.pace.Start(rw, http.NewResponseController(rw), rate, window)
	return w
}

// BeforeHead adds a hook run just before the status line goes out.
func (w *Writer) BeforeHead(hook func(code int) *Refusal) { w.beforeHead = append(w.beforeHead, hook) }

// Commit sets the hook run after every BeforeHead hook has let the answer through, the
// last moment before its status line goes out: for what must not happen unless the
// answer is sent, such as reserving a counted download. It may refuse the answer too.
func (w *Writer) Commit(hook func(code int) *Refusal) { w.commit = hook }

// AfterBody adds a hook run by Finish.
func (w *Writer) AfterBody(hook func(code int, written int64)) {
	w.afterBody = append(w.afterBody, hook)
}

// Header is the answer's header, to set before the status line goes out.
func (w *Writer) Header() http.Header { return w.rw.Header() }

// WriteHeader sends the status line once; later calls are ignored, as net/http would
// ignore them after logging.
func (w *Writer) WriteHeader(code int) {
	if w.headSent {
		return
	}
	w.headSent = true
	maps.Copy(w.rw.Header(), HardenedHeaders)
	for _, hook := range w.beforeHead {
		if r := hook(code); r != nil {
			w.refuse(*r)
			return
		}
	}
	if w.commit != nil {
		if r := w.commit(code); r != nil {
			w.refuse(*r)
			return
		}
	}
	w.code = code
	w.rw.WriteHeader(code)
}

// refuse answers r.Status as http.Error would, without what described the refused body.
func (w *Writer) refuse(r Refusal) {
	h := w.rw.Header()
	for _, k := range []string{"Content-Range", "Content-Disposition", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.code = r.Status
	w.rw.WriteHeader(r.Status)
	n, _ := w.pace.Write([]byte(http.StatusText(r.Status) + "\n"))
	w.written += int64(n)
	w.refused = r.Err
}

func (w *Writer) Write(b []byte) (int, error) {
	if !w.headSent {
		w.WriteHeader(http.StatusOK)
	}
	if w.refused != nil {
		return 0, w.refused
	}
	n, err := w.pace.Write(b)
	w.written += int64(n)
	return n, err
}

// ReadFrom lets io.Copy in http.ServeContent hand the body to the connection as it is:
// a cached *os.File reaches net/http's ReadFrom, and so sendfile.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if !w.headSent {
		w.WriteHeader(http.StatusOK)
	}
	if w.refused != nil {
		return 0, w.refused
	}
	n, err := w.pace.ReadFrom(r)
	w.written += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *Writer) Unwrap() http.ResponseWriter { return w.rw }

// Refused is the error a BeforeHead hook refused the answer with, if one did.
func (w *Writer) Refused() error { return w.refused }

// Finish ends the answer: a handler that wrote nothing still sends its status line
// through the hooks, then the AfterBody hooks run.
func (w *Writer) Finish() {
	if !w.headSent {
		w.WriteHeader(http.StatusOK)
	}
	for _, hook := range w.afterBody {
		hook(w.code, w.written)
	}
}
