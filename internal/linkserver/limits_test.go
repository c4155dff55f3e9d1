package linkserver_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

func limitedTo(n int32) func(*fixture) {
	return func(f *fixture) { f.link.Spec.MaxDownloads = new(n) }
}

func storedDownloads(t testing.TB, l *filelinkv1.FileLink) int64 {
	t.Helper()
	got := &filelinkv1.FileLink{}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(l), got); err != nil {
		t.Fatal(err)
	}
	return got.Status.Downloads
}

// A one-time link: what is not a download (HEAD, a 304) leaves it alone; its one
// download is served whole; every request after it answers 410, at once, before this
// replica's cache has seen its own write.
func TestOneTimeLinkServesOneDownload(t *testing.T) {
	f := newFixture(t, limitedTo(1))
	NewWithT(t).Eventually(func() int { r, _ := request(t, http.MethodHead, f.url(), nil); return r.StatusCode }).Should(Equal(http.StatusOK))
	for range 5 {
		if r, _ := request(t, http.MethodHead, f.url(), nil); r.StatusCode != http.StatusOK {
			t.Fatalf("HEAD: %d", r.StatusCode)
		}
	}
	if r, _ := request(t, http.MethodGet, f.url(), map[string]string{"If-None-Match": etagOf(content)}); r.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %d, want 304", r.StatusCode)
	}
	if n := storedDownloads(t, f.link); n != 0 {
		t.Fatalf("%d downloads counted before any", n)
	}
	r, body := request(t, http.MethodGet, f.url(), nil)
	if r.StatusCode != http.StatusOK || string(body) != string(content) {
		t.Fatalf("the one download: %d, %q", r.StatusCode, body)
	}
	for range 3 {
		if r, body := request(t, http.MethodGet, f.url(), nil); r.StatusCode != http.StatusGone {
			t.Fatalf("after the one download: %d, %d bytes", r.StatusCode, len(body))
		}
	}
	if n := storedDownloads(t, f.link); n != 1 {
		t.Fatalf("%d downloads stored, want 1", n)
	}
	// HEAD too: the link has ended.
	eventuallyStatus(t, f.url(), http.StatusGone)
	if r, _ := request(t, http.MethodHead, f.url(), nil); r.StatusCode != http.StatusGone {
		t.Fatalf("HEAD of a used one-time link: %d", r.StatusCode)
	}
}

// A limited link serves a range only from the first byte, and counts it; any other
// range would be a way round the limit, so it gets the whole file, counted.
func TestLimitedLinkServesAndCountsRangesFromTheFirstByteOnly(t *testing.T) {
	f := newFixture(t, limitedTo(10))
	eventuallyStatus(t, f.url(), http.StatusOK) // 1
	cases := []struct {
		rng      string
		code     int
		body     string
		counted  int64
		describe string
	}{
		{"bytes=0-3", http.StatusPartialContent, string(content[:4]), 2, "from the first byte"},
		{"bytes=2-5", http.StatusOK, string(content), 3, "from the third"},
		{"bytes=-4", http.StatusOK, string(content), 4, "a suffix"},
		{"bytes=0-1,4-5", http.StatusOK, string(content), 5, "two ranges"},
	}
	for _, c := range cases {
		r, body := request(t, http.MethodGet, f.url(), map[string]string{"Range": c.rng})
		if r.StatusCode != c.code || string(body) != c.body {
			t.Errorf("%s (%s): %d %q, want %d %q", c.rng, c.describe, r.StatusCode, body, c.code, c.body)
		}
		if n := storedDownloads(t, f.link); n != c.counted {
			t.Errorf("%s (%s): %d downloads stored, want %d", c.rng, c.describe, n, c.counted)
		}
	}
}

// Every replica answers 410 once the limit is reached, whichever served the downloads.
func TestReachedLimitIsGoneOnEveryReplica(t *testing.T) {
	f := newFixture(t, limitedTo(2))
	other := startServer(t, linkserver.Options{})
	eventuallyStatus(t, f.url(), http.StatusOK)
	if r, _ := request(t, http.MethodGet, signer.URL(other, f.link.UID), nil); r.StatusCode != http.StatusOK {
		t.Fatalf("second download, other replica: %d", r.StatusCode)
	}
	for _, srv := range []string{base, other} {
		if r, _ := request(t, http.MethodGet, signer.URL(srv, f.link.UID), nil); r.StatusCode != http.StatusGone {
			t.Errorf("%s after the limit: %d, want 410", srv, r.StatusCode)
		}
	}
}

// While the API server cannot take a reservation, a limited link answers 503 with
// Retry-After, and a link without a limit keeps serving from the same replica.
func TestLimitedLinkWaitsForTheAPIServerUnlimitedDoNot(t *testing.T) {
	limited := newFixture(t, limitedTo(5))
	unlimited := newFixture(t, nil)
	writer, p := framework.PartitionableClient(t, apiCfg, time.Second)
	srv := startServer(t, linkserver.Options{Status: writer})
	eventuallyStatus(t, signer.URL(srv, unlimited.link.UID), http.StatusOK)
	eventuallyStatus(t, signer.URL(srv, limited.link.UID), http.StatusOK)

	p.Cut()
	r, body := request(t, http.MethodGet, signer.URL(srv, limited.link.UID), nil)
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("limited link cut off from the API server: %d, Retry-After %q, %q", r.StatusCode, r.Header.Get("Retry-After"), body)
	}
	if r, body := request(t, http.MethodGet, signer.URL(srv, unlimited.link.UID), nil); r.StatusCode != http.StatusOK || string(body) != string(content) {
		t.Fatalf("unlimited link cut off from the API server: %d", r.StatusCode)
	}
	p.Restore()
	if r, _ := request(t, http.MethodGet, signer.URL(srv, limited.link.UID), nil); r.StatusCode != http.StatusOK {
		t.Fatalf("limited link after the partition: %d", r.StatusCode)
	}
	if n := storedDownloads(t, limited.link); n != 2 {
		t.Fatalf("%d downloads stored, want the two served", n)
	}
}

// A link without a limit is counted by the replica that serves it, on either path, and
// the count reaches status on the flush interval's tick, not before: serving never waits
// for it. HEAD, 304 and a range from further in are not downloads.
func TestDownloadsOfUnlimitedLinksAreCountedOnTheFlushTick(t *testing.T) {
	f := newFixture(t, nil)
	// A server of the test's own, whose clock (and so whose flushes) no other test moves.
	own := clocktesting.NewFakeClock(time.Now())
	var srv *linkserver.Server
	base := startServer(t, linkserver.Options{Clock: own}, func(s *linkserver.Server) { srv = s })
	url := signer.URL(base, f.link.UID)
	// Plain GETs until one is the fast path's (the body cached): each is a download.
	var gets int64
	NewWithT(t).Eventually(func() bool {
		fresh() // net/http keeps a connection once handed one
		before := linkserver.FastAnswers(srv)
		r, _ := request(t, http.MethodGet, url, nil)
		if r.StatusCode == http.StatusOK {
			gets++
		}
		return r.StatusCode == http.StatusOK && linkserver.FastAnswers(srv) > before
	}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(BeTrue())
	for _, h := range []map[string]string{
		{"Range": "bytes=0-3"}, // a download, net/http's
		{"Range": "bytes=4-9"},
		{"If-None-Match": etagOf(content)},
	} {
		request(t, http.MethodGet, url, h)
	}
	request(t, http.MethodHead, url, nil)
	time.Sleep(100 * time.Millisecond)
	if n := storedDownloads(t, f.link); n != 0 {
		t.Fatalf("%d downloads stored before the flush interval passed", n)
	}
	own.Step(10 * time.Second)
	NewWithT(t).Eventually(func() int64 { return storedDownloads(t, f.link) }).WithTimeout(10 * time.Second).Should(Equal(gets + 1))
}
