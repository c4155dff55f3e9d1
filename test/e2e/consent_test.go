//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShareableLabelRevokesAndRestores drives README's "Consent" with kubectl against the
// manager binary as main.go builds it: removing the sample Secret's label stops its link
// within seconds and clears the File's digest; labelling it again serves it again.
func TestShareableLabelRevokesAndRestores(t *testing.T) {
	ns, url := sampleNamespace(t, "consent")
	if resp, body := get(t, url); resp.StatusCode != http.StatusOK || body != sampleReceipt {
		t.Fatalf("labelled sample: %d %q", resp.StatusCode, body)
	}

	mustKubectl(t, ns, "label", "secret", "dispute-evidence", "filelink.dev/shareable-")
	awaitStatus(t, url, http.StatusNotFound, "after the label was removed")
	mustKubectl(t, ns, "wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=SourceNotShareable", "file/receipt", "--timeout=10s")
	if digest := mustKubectl(t, ns, "get", "file", "receipt", "-o", "jsonpath={.status.sha256}"); strings.TrimSpace(digest) != "" {
		t.Errorf("an unshareable source's digest is published: %q", digest)
	}

	mustKubectl(t, ns, "label", "secret", "dispute-evidence", "filelink.dev/shareable=true")
	mustKubectl(t, ns, "wait", "--for=condition=Ready", "file/receipt", "--timeout=10s")
	awaitStatus(t, url, http.StatusOK, "after the label was added again")
	if resp, body := get(t, url); resp.StatusCode != http.StatusOK || body != sampleReceipt {
		t.Fatalf("labelled again: %d %q", resp.StatusCode, body)
	}
}

// awaitStatus polls url until it answers code, for at most 5 s.
func awaitStatus(t *testing.T, url string, code int, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := get(t, url)
		if resp.StatusCode == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d 5 s %s; want %d", resp.StatusCode, when, code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
