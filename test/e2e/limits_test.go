//go:build e2e

package e2e

import (
	"context"
	"maps"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// SPEC §13 end to end: two replicas behind one URL base, a link of three downloads and
// 40 clients racing for it across both. Exactly three get the file; every other gets 410;
// HEADs before change nothing; kubectl shows the count and the reason.
func TestDownloadLimitHoldsAcrossTwoReplicas(t *testing.T) {
	a, b := twoReplicas(t)

	ns := newNamespace(t, "limits")
	applySamples(t, ns)
	sent := create(t, ns, "three", "apiVersion: filelink.dev/v1alpha1\nkind: FileLink\nmetadata:\n  name: three\nspec:\n  file: receipt\n  maxDownloads: 3\n")
	url := awaitActive(t, ns, "three", sent, 10*time.Second)
	replicas := []string{relocate(url, a.LinkAddr), relocate(url, b.LinkAddr)}
	for _, u := range replicas {
		awaitHeadOK(t, u)
	}
	for i := range 5 {
		if resp, err := send(t, http.MethodHead, replicas[i%2], nil); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD %d: %v %v", i, resp.StatusCode, err)
		}
	}
	if got := mustKubectl(t, ns, "get", "fl", "three", "-o", "jsonpath={.status.downloads}"); got != "0" {
		t.Fatalf("downloads after HEADs only: %q", got)
	}

	var mu sync.Mutex
	codes := map[int]int{}
	whole := 0
	var wg sync.WaitGroup
	startLine := make(chan struct{})
	for i := range 40 {
		wg.Go(func() {
			<-startLine
			resp, err := framework.Get(context.Background(), replicas[i%2])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				codes[-1]++
				return
			}
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusOK && string(resp.Body) == sampleReceipt {
				whole++
			}
		})
	}
	close(startLine)
	wg.Wait()
	if whole != 3 || codes[http.StatusOK] != 3 || codes[http.StatusGone] != 37 {
		t.Fatalf("40 racing clients got %v (%d whole bodies), want 3 × 200 and 37 × 410", codes, whole)
	}

	mustKubectl(t, ns, "wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=DownloadLimitReached", "filelink/three", "--timeout=10s")
	out := mustKubectl(t, ns, "get", "fl", "three")
	if !regexp.MustCompile(`three\s+receipt\s+DownloadLimitReached\s+3\s`).MatchString(out) {
		t.Errorf("kubectl get fl:\n%s", out)
	}
	for _, u := range replicas {
		if resp, _ := get(t, u); resp.StatusCode != http.StatusGone {
			t.Errorf("%s after the limit: %d", u, resp.StatusCode)
		}
	}
}

// A link without a limit is counted too, by each replica in the background: the count
// appears in status within the 10 s flush interval, for downloads from either path (the
// fast path's plain GETs and net/http's ranges).
func TestDownloadsOfUnlimitedLinksAppearInStatus(t *testing.T) {
	ns, url := sampleNamespace(t, "ledger")
	for range 3 {
		if resp, _ := get(t, url); resp.StatusCode != http.StatusOK {
			t.Fatalf("download: %d", resp.StatusCode)
		}
	}
	if resp, err := send(t, http.MethodGet, url, http.Header{"Range": {"bytes=0-6"}}); err != nil || resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("range from the first byte: %v %v", resp.StatusCode, err)
	}
	if resp, err := send(t, http.MethodGet, url, http.Header{"Range": {"bytes=5-9"}}); err != nil || resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("range from the sixth byte: %v %v", resp.StatusCode, err)
	}
	mustKubectl(t, ns, "wait", "--for=jsonpath={.status.downloads}=4", "filelink/receipt-for-bank", "--timeout=15s")
	if got := mustKubectl(t, ns, "get", "fl", "receipt-for-bank", "-o", "jsonpath={.status.lastDownloadedAt}"); got == "" {
		t.Error("no lastDownloadedAt")
	}
}

// send makes one request of url with header and returns its answer.
func send(t *testing.T, method, url string, header http.Header) (framework.Answer, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	return framework.Do(http.DefaultClient, req)
}

// awaitHeadOK waits until url answers a HEAD with 200: a replica serving a limited link
// without using up a download.
func awaitHeadOK(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := framework.Poll(ctx, 20*time.Millisecond, nil, func(context.Context) (bool, error) {
		resp, err := send(t, http.MethodHead, url, nil)
		return err == nil && resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("%s: no 200 to HEAD: %v", url, err)
	}
}
