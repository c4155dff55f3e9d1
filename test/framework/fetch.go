package framework

import (
	"io"
	"net/http"
	"testing"
)

// Fetch sends req with the default client and returns its response, whose body it has
// read in full and closed, with that body; a request that fails fails the test.
func Fetch(t testing.TB, req *http.Request) (*http.Response, []byte) {
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
	return resp, body
}
