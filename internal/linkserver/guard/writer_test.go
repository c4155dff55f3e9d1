package guard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestWriterHooks: the hardened headers reach every answer, the BeforeHead hooks see the
// status first and in order, a refusal replaces the answer without the refused body's
// validators and drops what the handler writes after it, and AfterBody sees what went
// out.
func TestWriterHooks(t *testing.T) {
	changed := errors.New("object changed")
	for _, tc := range []struct {
		name       string
		refuse     bool
		wantCode   int
		wantBody   string
		wantHeader map[string]string
	}{
		{"answered", false, http.StatusPartialContent, "body", map[string]string{"ETag": `"e"`, "Content-Range": "bytes 0-3/10"}},
		{"refused", true, http.StatusServiceUnavailable, "Service Unavailable\n", map[string]string{"ETag": "", "Content-Range": "", "Content-Type": "text/plain; charset=utf-8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w := NewWriter(rec, 1<<20, time.Second)
			var seen []int
			w.BeforeHead(func(code int) *Refusal { seen = append(seen, code); return nil })
			w.BeforeHead(func(code int) *Refusal {
				seen = append(seen, -code)
				if tc.refuse {
					return &Refusal{Status: http.StatusServiceUnavailable, Err: changed}
				}
				return nil
			})
			var gotCode int
			var gotBytes int64
			w.AfterBody(func(code int, written int64) { gotCode, gotBytes = code, written })

			w.Header().Set("ETag", `"e"`)
			w.Header().Set("Content-Range", "bytes 0-3/10")
			w.WriteHeader(http.StatusPartialContent)
			w.WriteHeader(http.StatusTeapot) // ignored
			_, err := w.Write([]byte("body"))
			w.Finish()

			if len(seen) != 2 || seen[0] != http.StatusPartialContent || seen[1] != -http.StatusPartialContent {
				t.Errorf("hooks saw %v, want the status once each, in order", seen)
			}
			if rec.Code != tc.wantCode || rec.Body.String() != tc.wantBody {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body.String(), tc.wantCode, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for k, v := range HardenedHeaders {
				if got := rec.Header().Get(k); got != v[0] {
					t.Errorf("%s = %q, want %q", k, got, v[0])
				}
			}
			if tc.refuse != errors.Is(err, changed) || tc.refuse != errors.Is(w.Refused(), changed) {
				t.Errorf("write after the head: %v, Refused %v", err, w.Refused())
			}
			if gotCode != tc.wantCode || gotBytes != int64(len(tc.wantBody)) {
				t.Errorf("AfterBody saw %d with %d bytes, want %d with %d", gotCode, gotBytes, tc.wantCode, len(tc.wantBody))
			}
		})
	}
}

// TestWriterFinishSendsAnUnwrittenHead: a handler that writes nothing still gets its
// status line through the hooks, with the headers every answer carries.
func TestWriterFinishSendsAnUnwrittenHead(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, 1<<20, time.Second)
	hooked := false
	w.BeforeHead(func(int) *Refusal { hooked = true; return nil })
	w.Finish()
	if !hooked || rec.Code != http.StatusOK || rec.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
		t.Fatalf("hooked %v, %d, CSP %q", hooked, rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
}
