package framework

import (
	"io"
	"net/http"
	"testing"
)

// Received is what a test keeps of a response whose body it has read and closed, under
// http.Response's own field names.
type Received struct {
	StatusCode    int
	Header        http.Header
	ContentLength int64
}

// ReceivedOf is what a test keeps of r.
func ReceivedOf(r *http.Response) *Received {
	return &Received{StatusCode: r.StatusCode, Header: r.Header, ContentLength: r.ContentLength}
}

// Fetch sends req with the default client, reads the response's body in full and
// closes it, and returns what it received with that body; a request that fails fails
// the test.
func Fetch(t testing.TB, req *http.Request) (*Received, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return ReceivedOf(resp), body
}
