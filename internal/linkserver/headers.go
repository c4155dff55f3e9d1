package linkserver

import (
	"io"
	"net/http"
)

// hardenedWriter stamps the headers every answer carries, success or error, at the moment
// the status line is written. Setting them up front is not enough: http.ServeContent
// drops Cache-Control from its own error answers (416, 412), and a 416 cached by a proxy
// would outlive an expired link.
type hardenedWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

func (w *hardenedWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "private, no-store")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *hardenedWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the kernel's sendfile path open: http.ServeContent copies the body with
// io.Copy, which uses the writer's ReadFrom when it has one, and only the innermost
// http.ResponseWriter can hand an *os.File to the socket.
func (w *hardenedWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return readFrom(w.ResponseWriter, r)
}

// readFrom copies r into w through w's own ReadFrom when it has one.
func readFrom(w io.Writer, r io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w}, r)
}

// writerOnly hides any ReadFrom of w, so io.Copy does not call back into it.
type writerOnly struct{ io.Writer }
