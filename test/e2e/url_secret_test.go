//go:build e2e

package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestURLSecretKeepsTheURLOutOfStatus drives SPEC §12's URL Secrets as the README does:
// a patch moves the URL into a Secret, status shows it redacted, and the Secret's URL
// downloads the file.
func TestURLSecretKeepsTheURLOutOfStatus(t *testing.T) {
	ns, before := sampleNamespace(t, "url-secret")

	mustKubectl(t, ns, "patch", "fl", "receipt-for-bank", "--type", "merge", "-p", `{"spec":{"urlSecretName":"receipt-url"}}`)
	mustKubectl(t, ns, "wait", "--for=jsonpath={.status.url}="+before[:strings.LastIndexByte(before, '/')+1]+"…", "fl/receipt-for-bank", "--timeout=30s")
	encoded := mustKubectl(t, ns, "get", "secret", "receipt-url", "-o", "jsonpath={.data.url}")
	url, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if string(url) != before {
		t.Errorf("the Secret holds %q, the link's URL is %q", url, before)
	}
	if resp, body := get(t, string(url)); resp.StatusCode != http.StatusOK || body != sampleReceipt {
		t.Errorf("the Secret's URL: %d %q", resp.StatusCode, body)
	}
	if owner := mustKubectl(t, ns, "get", "secret", "receipt-url", "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}"); owner != "FileLink/receipt-for-bank" {
		t.Errorf("the Secret is owned by %q", owner)
	}
}
