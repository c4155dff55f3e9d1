package linkserver_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandler measures one warm download through the handler (token check, index
// lookup, File and source metadata from the cache, content from the content cache,
// ServeContent), without the network.
func BenchmarkHandler(b *testing.B) {
	f := newFixture(b, nil)
	eventuallyStatus(b, f.url(), http.StatusOK)
	req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, f.url(), nil)
	h := server.Handler()
	b.ReportAllocs()
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkHandlerUnknownToken measures the 404 path for a well-formed unknown token.
func BenchmarkHandlerUnknownToken(b *testing.B) {
	req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, base+"/links/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil)
	h := server.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
