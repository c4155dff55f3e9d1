package delivery

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSingleRangeAgreesWithServeContent asks http.ServeContent itself: for every Range it
// answers with a single-range 206, singleRange must name the bytes of its Content-Range,
// and for every multipart 206 it must report several.
func TestSingleRangeAgreesWithServeContent(t *testing.T) {
	const size = 100
	body := bytes.Repeat([]byte("x"), size)
	headers := []string{
		"bytes=0-0", "bytes=0-99", "bytes=0-", "bytes=10-20", "bytes=95-200", "bytes=-1", "bytes=-100",
		"bytes=-1000", "bytes=99-", "bytes= 5 - 9 ", "bytes=5-9,", "bytes=,5-9", "bytes=5-9, 200-300",
		"bytes=200-300, 5-9", "bytes=0-1,3-4", "bytes=0-1,-2", "bytes=50-,60-70", "bytes=0-0,0-0",
		"bytes=100-", "bytes=-0", "bytes=9-5", "bytes=abc", "bytes=1-2-3", "items=0-1", "bytes=0-1,100-",
	}
	singles, multis := 0, 0
	for _, h := range headers {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
		req.Header.Set("Range", h)
		rec := httptest.NewRecorder()
		http.ServeContent(rec, req, "", time.Time{}, bytes.NewReader(body))
		first, last, single := singleRange(h, size)
		if rec.Code != http.StatusPartialContent {
			continue
		}
		if cr := rec.Header().Get("Content-Range"); cr != "" {
			singles++
			if want := fmt.Sprintf("bytes %d-%d/%d", first, last, size); !single || cr != want {
				t.Errorf("Range %q: ServeContent sends %q, singleRange says %d-%d (%v)", h, cr, first, last, single)
			}
			continue
		}
		multis++
		if single {
			t.Errorf("Range %q: ServeContent answers multipart, singleRange names %d-%d", h, first, last)
		}
	}
	if singles < 10 || multis < 3 {
		t.Fatalf("only %d single and %d multipart answers: the table no longer covers both", singles, multis)
	}
}
