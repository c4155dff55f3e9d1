package linkserver_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
)

// eventuallyHeld waits until s holds the body f's link serves now, which no download
// has asked for: it can only have been fetched ahead.
func eventuallyHeld(t testing.TB, s *linkserver.Server, f *fixture) {
	t.Helper()
	NewWithT(t).Eventually(func() bool { return linkserver.HoldsBody(context.Background(), s, f.file) }).
		WithTimeout(10*time.Second).WithPolling(10*time.Millisecond).Should(BeTrue(), "the body was not fetched ahead")
}

// TestBodiesAreFetchedAheadAndAgainWhenTheSourceChanges: the body of a File is in the
// content cache once the File is Ready, before any download, and the new version is
// there once the source changes; downloading it then makes no API call.
func TestBodiesAreFetchedAheadAndAgainWhenTheSourceChanges(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyHeld(t, server, f)
	if held := gather(t)[`filelink_link_content_cache_bodies{state="held"}`]; held < 1 {
		t.Errorf("filelink_link_content_cache_bodies{state=\"held\"} is %v with a body held", held)
	}

	v2 := []byte("%PDF-1.7\nsecond version, fetched ahead\n")
	f.secret.Data["evidence"] = v2
	if err := k8s.Update(context.Background(), f.secret); err != nil {
		t.Fatal(err)
	}
	// HoldsBody reads the source's version from the cache: wait for the new one there,
	// without a request, which would read the body itself.
	NewWithT(t).Eventually(func() (string, error) {
		m := metadataOf(f)
		err := mgr.GetCache().Get(context.Background(), client.ObjectKeyFromObject(f.secret), m)
		return m.GetResourceVersion(), err
	}).WithTimeout(10 * time.Second).Should(Equal(f.secret.ResourceVersion))
	eventuallyHeld(t, server, f)
	before := apiCalls.Load()
	if resp, body := request(t, http.MethodGet, f.url(), nil); resp.StatusCode != http.StatusOK || string(body) != string(v2) {
		t.Fatalf("after the change: %d %q", resp.StatusCode, body)
	}
	if n := apiCalls.Load() - before; n != 0 {
		t.Errorf("the first download of the new version made %d API calls; its body was not fetched ahead", n)
	}
}
