package linkserver_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// TestAuditStoreAnswers: the answers of store delivery, proxied (whole, ranged, and 503
// for an object changed under its File) and redirected, are one line each with their
// link, like any other.
func TestAuditStoreAnswers(t *testing.T) {
	st := stores(t)
	a := auditedServer(t, linkserver.Options{}, func(s *linkserver.Server) { linkserver.SetStoreTransport(s, st.transport) })
	data := randomBytes(t, 64<<10)
	proxied := st.newStoreFixture(t, plainBucket, "audit-proxied.pdf", data, nil)
	redirected := st.newStoreFixture(t, versionedBucket, "audit-redirected.pdf", data, redirecting)
	proxiedURL, redirectURL := proxied.url(a.base), redirected.url(a.base)
	eventuallyStatusOf(t, proxiedURL, http.StatusOK)
	eventuallyRedirect(t, redirectURL)

	get := func(client *http.Client, u, ua string, h map[string]string, want int) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", ua)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d, want %d", ua, resp.StatusCode, want)
		}
	}
	get(http.DefaultClient, proxiedURL, "store-200", nil, http.StatusOK)
	get(http.DefaultClient, proxiedURL, "store-206", map[string]string{"Range": "bytes=10-19"}, http.StatusPartialContent)
	get(framework.NoRedirects, redirectURL, "store-302", nil, http.StatusFound)
	st.put(t, plainBucket, "audit-proxied.pdf", randomBytes(t, 1024))
	get(http.DefaultClient, proxiedURL, "store-503", nil, http.StatusServiceUnavailable)

	lines := a.lines(t)
	local := map[string]any{"client": "127.0.0.1", "method": "GET"}
	proxiedLink := map[string]any{"namespace": proxied.ns, "fileLink": proxied.link.Name, "file": proxied.link.Spec.File}
	for ua, want := range map[string]map[string]any{
		"store-200": merge(proxiedLink, local, map[string]any{"code": 200.0, "bytes": float64(len(data))}),
		"store-206": merge(proxiedLink, local, map[string]any{"code": 206.0, "bytes": 10.0, "range": "bytes=10-19"}),
		"store-503": merge(proxiedLink, local, map[string]any{"code": 503.0}),
		"store-302": merge(local, map[string]any{"namespace": redirected.ns, "fileLink": redirected.link.Name, "file": redirected.link.Spec.File, "code": 302.0}),
	} {
		wantFields(t, byAgent(t, lines, ua), want)
	}
	noSecrets(t, a.sink.buf.Bytes(), proxiedURL, redirectURL)
}
