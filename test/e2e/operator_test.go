//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

var sampleReceipt = "Receipt 2026-0042\nCustomer: Jenny Rosen\nAmount: 42.00 EUR\nDelivered: 2026-11-20, signed for at the door.\n"

// get fetches url and returns its answer, and the answer's body as a string.
func get(t *testing.T, url string) (framework.Answer, string) {
	t.Helper()
	resp, err := framework.Get(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(resp.Body)
}

// waitForStatus fails the test unless url answers code within timeout, and returns
// that answer's body.
func waitForStatus(t *testing.T, url string, code int, timeout time.Duration) string {
	t.Helper()
	body, err := framework.WaitForStatus(t.Context(), url, code, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// sampleLinkURL is the issued URL of config/samples' link.
func sampleLinkURL(t *testing.T, ns string) string {
	t.Helper()
	url := mustKubectl(t, ns, "get", "filelink", "receipt-for-bank", "-o", "jsonpath={.status.url}")
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/links/[A-Za-z0-9_-]{43}$`).MatchString(url) {
		t.Fatalf("status.url %q has the wrong shape", url)
	}
	return url
}

// sampleNamespace is a new namespace (newNamespace) with the samples applied in it, and
// the URL of their link once it is Ready.
func sampleNamespace(t *testing.T, name string) (ns, url string) {
	t.Helper()
	ns = newNamespace(t, name)
	applySamples(t, ns)
	return ns, sampleLinkURL(t, ns)
}

func applySamples(t *testing.T, ns string) {
	t.Helper()
	mustKubectl(t, ns, "apply", "-k", "config/samples")
	mustKubectl(t, ns, "wait", "--for=condition=Ready", "filelink/receipt-for-bank", "--timeout=30s")
}

func TestSamplesServeTheirFile(t *testing.T) {
	ns := newNamespace(t, "samples")
	applySamples(t, ns)

	out := mustKubectl(t, ns, "get", "filelinks")
	if !regexp.MustCompile(`receipt-for-bank\s+receipt\s+Active\s+0\s+2035-01-01T00:00:00Z`).MatchString(out) {
		t.Errorf("kubectl get filelinks:\n%s", out)
	}
	out = mustKubectl(t, ns, "get", "files")
	if !regexp.MustCompile(`receipt\s+dispute_evidence\s+105\s+Succeeded`).MatchString(out) {
		t.Errorf("kubectl get files:\n%s", out)
	}
	if id := mustKubectl(t, ns, "get", "fl", "receipt-for-bank", "-o", "jsonpath={.status.id}"); !regexp.MustCompile(`^link_[0-9A-Za-z]{24}$`).MatchString(id) {
		t.Errorf("status.id %q", id)
	}
	out = mustKubectl(t, ns, "get", "fl", "--field-selector", "spec.file=receipt", "-o", "name")
	if strings.TrimSpace(out) != "filelink.filelink.dev/receipt-for-bank" {
		t.Errorf("field selector listed %q", out)
	}

	resp, body := get(t, sampleLinkURL(t, ns))
	if resp.StatusCode != http.StatusOK || body != sampleReceipt {
		t.Fatalf("download: %d %q", resp.StatusCode, body)
	}
	for k, v := range map[string]string{
		"Content-Type":           "text/plain; charset=utf-8",
		"Content-Disposition":    `attachment; filename="receipt-2026-0042.txt"; filename*=UTF-8''receipt-2026-0042.txt`,
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "private, no-store",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if etag := resp.Header.Get("ETag"); etag != `"`+mustKubectl(t, ns, "get", "file", "receipt", "-o", "jsonpath={.status.sha256}")+`"` {
		t.Errorf("ETag %q is not the File's sha256", etag)
	}
}

func TestBadManifestsAreRefused(t *testing.T) {
	ns := newNamespace(t, "refusals")
	applySamples(t, ns)

	// 51 metadata keys, one over Stripe's limit.
	var many strings.Builder
	many.WriteString("apiVersion: filelink.dev/v1alpha1\nkind: FileLink\nmetadata:\n  name: chatty\nspec:\n  file: receipt\n  metadata:\n")
	for i := range 51 {
		fmt.Fprintf(&many, "    key%02d: v\n", i)
	}
	manyPath := filepath.Join(t.TempDir(), "many-keys.yaml")
	if err := os.WriteFile(manyPath, []byte(many.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		manifest string
		want     []string
	}{
		{"test/e2e/testdata/unlinkable-purpose.yaml", []string{"spec.file", `purpose "identity_document"`, "linkable purposes are"}},
		{manyPath, []string{"spec.metadata", "50"}},
		{"test/e2e/testdata/changed-file.yaml", []string{"spec.file", "file is immutable"}},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.manifest), func(t *testing.T) {
			out, err := kubectl(t, ns, "apply", "-f", c.manifest)
			if err == nil {
				t.Fatalf("kubectl apply succeeded:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("kubectl output does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestPastExpiryIsAdmittedAndBornExpired: validation never depends on the clock (SPEC
// §12). kubectl prints the webhook's warning, and the link never serves a byte.
func TestPastExpiryIsAdmittedAndBornExpired(t *testing.T) {
	ns := newNamespace(t, "born-expired")
	applySamples(t, ns)
	out := mustKubectl(t, ns, "apply", "-f", "test/e2e/testdata/past-expiry.yaml")
	if !strings.Contains(out, "Warning: spec.expiresAt 2020-01-01T00:00:00Z is not in the future") {
		t.Errorf("kubectl apply printed no warning:\n%s", out)
	}
	wantBornExpired(t, ns, "born-expired")
}

// TestGitOpsDirectoryWithExpiredLinksReapplies applies, server-side as Flux does, a
// directory whose links expired years ago into a namespace that never saw it.
func TestGitOpsDirectoryWithExpiredLinksReapplies(t *testing.T) {
	ns := newNamespace(t, "gitops-reapply")
	mustKubectl(t, ns, "apply", "--server-side", "--field-manager=gitops", "-f", "test/e2e/testdata/gitops/")
	mustKubectl(t, ns, "wait", "--for=condition=Ready", "filelink/archive", "--timeout=30s")
	for _, name := range []string{"for-auditors-2020", "for-tax-office-2021"} {
		wantBornExpired(t, ns, name)
	}
	url := mustKubectl(t, ns, "get", "fl", "archive", "-o", "jsonpath={.status.url}")
	if resp, body := get(t, url); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "date,amount") {
		t.Errorf("the live link: %d %q", resp.StatusCode, body)
	}
	// Applying the same directory again changes nothing and fails nothing.
	mustKubectl(t, ns, "apply", "--server-side", "--field-manager=gitops", "-f", "test/e2e/testdata/gitops/")
}

// wantBornExpired waits until the link is Expired and checks that its URL answers 410.
func wantBornExpired(t *testing.T, ns, name string) {
	t.Helper()
	mustKubectl(t, ns, "wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=Expired", "filelink/"+name, "--timeout=30s")
	if expired := mustKubectl(t, ns, "get", "fl", name, "-o", "jsonpath={.status.expired}"); expired != "true" {
		t.Errorf("%s: status.expired = %q", name, expired)
	}
	url := mustKubectl(t, ns, "get", "fl", name, "-o", "jsonpath={.status.url}")
	if resp, body := get(t, url); resp.StatusCode != http.StatusGone || strings.TrimSpace(body) != "expired" {
		t.Errorf("%s: %d %q, want 410 expired", name, resp.StatusCode, body)
	}
}

func TestExpiryByPatchAnswers410WithinASecond(t *testing.T) {
	ns, url := sampleNamespace(t, "expiry")
	if resp, _ := get(t, url); resp.StatusCode != http.StatusOK {
		t.Fatalf("before expiry: %d", resp.StatusCode)
	}

	past := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	mustKubectl(t, ns, "patch", "filelink", "receipt-for-bank", "--type=merge", "-p", `{"spec":{"expiresAt":"`+past+`"}}`)
	if body := waitForStatus(t, url, http.StatusGone, time.Second); strings.TrimSpace(body) != "expired" {
		t.Errorf("410 body %q", body)
	}
	mustKubectl(t, ns, "wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=Expired", "filelink/receipt-for-bank", "--timeout=10s")
	if expired := mustKubectl(t, ns, "get", "fl", "receipt-for-bank", "-o", "jsonpath={.status.expired}"); expired != "true" {
		t.Errorf("status.expired = %q", expired)
	}
	// An expired link's spec is frozen.
	out, err := kubectl(t, ns, "patch", "filelink", "receipt-for-bank", "--type=merge", "-p", `{"spec":{"metadata":{"late":"edit"}}}`)
	if err == nil || !strings.Contains(out, "expired and can no longer be updated") {
		t.Errorf("patching an expired link: %v\n%s", err, out)
	}
}

func TestRestartKeepsURLsServingAndDeleteAnswers404(t *testing.T) {
	ns, url := sampleNamespace(t, "restart")

	if err := manager.Stop(20 * time.Second); err != nil {
		t.Fatalf("stopping the manager: %v", err)
	}
	if err := manager.Start(context.Background()); err != nil {
		t.Fatalf("restarting the manager: %v", err)
	}
	if after := sampleLinkURL(t, ns); after != url {
		t.Fatalf("URL changed across restart: %s -> %s", url, after)
	}
	if resp, body := get(t, url); resp.StatusCode != http.StatusOK || body != sampleReceipt {
		t.Fatalf("after restart: %d %q", resp.StatusCode, body)
	}

	mustKubectl(t, ns, "delete", "filelink", "receipt-for-bank")
	if body := waitForStatus(t, url, http.StatusNotFound, 5*time.Second); strings.TrimSpace(body) != "not found" {
		t.Errorf("404 body %q", body)
	}
}

func TestMetricsCountDownloads(t *testing.T) {
	get(t, "http://"+manager.LinkAddr+"/links/unknown")
	resp, body := get(t, "http://"+manager.MetricsAddr+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	for _, series := range []string{`filelink_link_requests_total{code="404"}`, "filelink_link_request_duration_seconds_bucket", "controller_runtime_reconcile_total"} {
		if !strings.Contains(body, series) {
			t.Errorf("metrics lack %s", series)
		}
	}
}
