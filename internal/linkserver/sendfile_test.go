package linkserver_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"
)

// readFromRecorder is a ResponseWriter that, like net/http's, can take a body through
// ReadFrom, and remembers what it was handed.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	source io.Reader
}

func (w *readFromRecorder) ReadFrom(r io.Reader) (int64, error) {
	w.source = r
	return io.Copy(w.ResponseRecorder, r)
}

// TestBodiesReachTheSocketAsFiles guards the sendfile path: the innermost writer must be
// handed the cached body as an *os.File (inside ServeContent's LimitedReader), which is
// what lets net/http's TCP connection use sendfile. A wrapper without ReadFrom anywhere
// in the chain would silently turn every download into a user-space copy.
func TestBodiesReachTheSocketAsFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("memfd bodies are Linux-only")
	}
	// Bodies under 16 KiB stay in the heap (content.memfileMin); this one goes to a
	// memory file.
	large := bytes.Repeat([]byte("evidence "), 64<<10/9)
	f := newFixture(t, func(f *fixture) { f.secret.Data["evidence"] = large })
	eventuallyStatus(t, f.url(), http.StatusOK)
	for _, rangeHeader := range []string{"", "bytes=3-9"} {
		w := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, f.url(), nil)
		if rangeHeader != "" {
			req.Header.Set("Range", rangeHeader)
		}
		server.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusPartialContent {
			t.Fatalf("status %d", w.Code)
		}
		src := w.source
		if lr, ok := src.(*io.LimitedReader); ok {
			src = lr.R
		}
		if _, ok := src.(*os.File); !ok {
			t.Errorf("Range %q: body handed to the writer as %T, not *os.File", rangeHeader, w.source)
		}
		want := large
		if rangeHeader != "" {
			want = want[3:10]
		}
		if !bytes.Equal(w.Body.Bytes(), want) {
			t.Errorf("Range %q: body of %d bytes, not the %d wanted", rangeHeader, w.Body.Len(), len(want))
		}
	}
}
