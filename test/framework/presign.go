package framework

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// PresignedRedirect asks link for the redirect of `delivery: redirect`, without
// following it, and returns when the presigned URL it points at was signed and how long
// it is valid; anything but a 302 fails the test.
func PresignedRedirect(t testing.TB, link string) (signedAt time.Time, valid time.Duration) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Do(NoRedirects, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.StatusCode != http.StatusFound {
		t.Fatalf("want 302, got %d", a.StatusCode)
	}
	loc, err := url.Parse(a.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	signedAt, valid, err = s3server.PresignedValidity(loc)
	if err != nil {
		t.Fatal(err)
	}
	return signedAt, valid
}
