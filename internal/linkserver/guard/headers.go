package linkserver

import (
	"io"
	"net/http"
	"strings"
)

// contentSecurityPolicy keeps any body inert in the link server's origin: a File of type
// text/html or image/svg+xml, opened in a browser, can run no script, load nothing and
// is treated as a unique origin.
const contentSecurityPolicy = "default-src 'none'; sandbox"

// hardenedHeaders are set on every answer. The value slices are shared by all answers,
// which saves allocating them per request: net/http only reads them, and Header.Set
// replaces a slice rather than writing into it.
var hardenedHeaders = http.Header{
	"X-Content-Type-Options":  {"nosniff"},
	"Referrer-Policy":         {"no-referrer"},
	"Cache-Control":           {"private, no-store"},
	"Content-Security-Policy": {contentSecurityPolicy},
}

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
		for k, v := range hardenedHeaders {
			h[k] = v
		}
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

// Unwrap lets http.ResponseController reach the connection.
func (w *hardenedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// readFrom copies r into w through w's own ReadFrom when it has one.
func readFrom(w io.Writer, r io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w}, r)
}

// writerOnly hides any ReadFrom of w, so io.Copy does not call back into it.
type writerOnly struct{ io.Writer }

// maxHeaderBytes caps a request's header fields. Real browsers send a few KiB; 16 KiB
// leaves room for large cookies of a shared domain, and bounds what one connection costs.
const maxHeaderBytes = 16 << 10

// headerBytes is the size of r's header fields as sent (name, ": ", value, CRLF), Host
// included; net/http parsed them already, so only the sum is left to check.
func headerBytes(r *http.Request) int {
	n := len("Host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// maxRanges is the most byte ranges one request gets as a multipart 206. A many-part
// answer costs more in part headers than in bytes, and no download client needs more
// than a handful; beyond it the whole body is sent, as RFC 9110 allows a server to.
const maxRanges = 8

// limitRanges drops a Range header asking for more than maxRanges ranges.
func limitRanges(r *http.Request) {
	if v := r.Header.Get("Range"); strings.Count(v, ",") >= maxRanges {
		r.Header.Del("Range")
	}
}

// requestHasBody reports whether the client sent, or announced, a request body.
func requestHasBody(r *http.Request) bool {
	return r.ContentLength != 0 || len(r.TransferEncoding) > 0
}
