package linkserver

import "net/http"

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
