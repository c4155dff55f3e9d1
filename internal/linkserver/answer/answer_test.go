package answer

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCounted(t *testing.T) {
	for _, tc := range []struct {
		name, method string
		code         int
		sent, asked  string
		want         bool
	}{
		{"GET 200", http.MethodGet, 200, "", "", true},
		{"GET 200 for a range answered whole", http.MethodGet, 200, "", "bytes=5-9", true},
		{"HEAD 200", http.MethodHead, 200, "", "", false},
		{"GET 304", http.MethodGet, 304, "", "", false},
		{"GET 206 from byte 0", http.MethodGet, 206, "bytes 0-9/100", "bytes=0-9", true},
		{"GET 206 from byte 5", http.MethodGet, 206, "bytes 5-9/100", "bytes=5-9", false},
		{"GET 206 of a suffix covering the whole body", http.MethodGet, 206, "bytes 0-99/100", "bytes=-500", true},
		{"GET 206 of a suffix", http.MethodGet, 206, "bytes 90-99/100", "bytes=-10", false},
		{"many-part 206 whose first range starts at 0", http.MethodGet, 206, "", "bytes= 0-1, 5-9", true},
		{"many-part 206 whose first range starts later", http.MethodGet, 206, "", "bytes=5-9,0-1", false},
		{"many-part 206 with a leading zero", http.MethodGet, 206, "", "bytes=00-1,5-6", true},
		{"GET 404", http.MethodGet, 404, "", "", false},
		{"GET 416", http.MethodGet, 416, "", "bytes=0-1", false},
		{"unknown method", "", 400, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Counted(tc.method, tc.code, tc.sent, tc.asked); got != tc.want {
				t.Errorf("Counted(%s, %d, %q, %q) = %v", tc.method, tc.code, tc.sent, tc.asked, got)
			}
		})
	}
}

func TestCut(t *testing.T) {
	ascii := strings.Repeat("a", 300)
	if got := Cut(ascii, MaxUserAgent); got != ascii[:256] {
		t.Errorf("cut to %d bytes", len(got))
	}
	if got := Cut("short", MaxUserAgent); got != "short" {
		t.Errorf("short value changed to %q", got)
	}
	// A three-byte character straddling byte 256 is dropped whole.
	straddling := strings.Repeat("a", 255) + "€" + "b"
	got := Cut([]byte(straddling), MaxUserAgent)
	if got != strings.Repeat("a", 255) || !utf8.ValidString(got) {
		t.Errorf("cut %q", got)
	}
	// Bytes that are not UTF-8 are cut at the limit.
	if got := Cut(strings.Repeat("\x80", 300), MaxUserAgent); len(got) != MaxUserAgent {
		t.Errorf("cut invalid bytes to %d", len(got))
	}
}

func TestCutCopiesBytes(t *testing.T) {
	buf := []byte("curl/8.5.0")
	s := Cut(buf, MaxUserAgent)
	copy(buf, "XXXXXXXXXX")
	if s != "curl/8.5.0" {
		t.Errorf("the cut follows the buffer: %q", s)
	}
}
