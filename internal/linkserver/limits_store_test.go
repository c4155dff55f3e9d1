package linkserver_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// A limited link on a redirect store is proxied: a presigned URL could be fetched any
// number of times, so the link server streams the object itself, after reserving the
// download. The second request of a one-time link is 410, not a second presigned URL.
func TestLimitedLinkOnARedirectStoreIsProxied(t *testing.T) {
	st := stores(t)
	srv, _ := st.linkServer(t, nil)
	data := randomBytes(t, 256<<10)
	f := st.newStoreFixture(t, versionedBucket, "once.pdf", data, func(f *storeFixture) {
		redirecting(f)
		f.link.Spec.MaxDownloads = ptr.To[int32](1)
	})
	NewWithT(t).Eventually(func() int {
		r, _ := request(t, http.MethodHead, f.url(srv), nil)
		return r.StatusCode
	}).WithTimeout(10 * time.Second).Should(Equal(http.StatusOK))

	got := fetchNoRedirect(t, f.url(srv))
	if got.StatusCode != http.StatusOK || got.Header.Get("Location") != "" || !bytes.Equal(got.Body, data) {
		t.Fatalf("one-time link on a redirect store: %d, Location %q, %d bytes (equal %v)",
			got.StatusCode, got.Header.Get("Location"), len(got.Body), bytes.Equal(got.Body, data))
	}
	if again := fetchNoRedirect(t, f.url(srv)); again.StatusCode != http.StatusGone {
		t.Fatalf("second download: %d, Location %q", again.StatusCode, again.Header.Get("Location"))
	}
	if n := storedDownloads(t, f.link); n != 1 {
		t.Fatalf("%d downloads stored, want 1", n)
	}
}

func fetchNoRedirect(t *testing.T, u string) framework.Answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := framework.Do(framework.NoRedirects, req)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
