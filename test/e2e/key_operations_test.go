//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// sh runs a command line from the README's "Key operations" as an operator would.
func sh(t *testing.T, script string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "sh", "-ec", script)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out.String())
	}
}

// eventuallyAnswers waits until url answers code.
func eventuallyAnswers(t *testing.T, url string, code int) {
	t.Helper()
	if _, err := framework.WaitForStatus(t.Context(), url, code, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// eventuallyNewURL waits until the sample link's status.url differs from old.
func eventuallyNewURL(t *testing.T, ns, old string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if url := sampleLinkURL(t, ns); url != old {
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("status.url still %s 10s after the key changed", old)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The README's key operations, run verbatim against the manager binary.
func TestKeyOperationsFromTheREADME(t *testing.T) {
	ns, first := sampleNamespace(t, "keys")
	eventuallyAnswers(t, first, http.StatusOK)

	sh(t, `OLD=$(kubectl -n filelink-system get secret filelink-signing-key -o jsonpath='{.data.key}')
NEW=$(openssl rand -base64 32)
kubectl -n filelink-system patch secret filelink-signing-key --type merge \
  -p "{\"data\":{\"key\":\"$NEW\",\"retired-2026-11\":\"$OLD\"}}"`)
	second := eventuallyNewURL(t, ns, first)
	eventuallyAnswers(t, second, http.StatusOK)
	eventuallyAnswers(t, first, http.StatusOK)

	sh(t, `kubectl -n filelink-system patch secret filelink-signing-key --type json \
  -p '[{"op":"remove","path":"/data/retired-2026-11"}]'`)
	eventuallyAnswers(t, first, http.StatusNotFound)
	eventuallyAnswers(t, second, http.StatusOK)

	sh(t, `kubectl -n filelink-system patch secret filelink-signing-key --type json \
  -p "[{\"op\":\"replace\",\"path\":\"/data\",\"value\":{\"key\":\"$(openssl rand -base64 32)\"}}]"`)
	third := eventuallyNewURL(t, ns, second)
	eventuallyAnswers(t, third, http.StatusOK)
	eventuallyAnswers(t, second, http.StatusNotFound)

	sh(t, `kubectl -n filelink-system delete secret filelink-signing-key`)
	fourth := eventuallyNewURL(t, ns, third)
	eventuallyAnswers(t, fourth, http.StatusOK)
	eventuallyAnswers(t, third, http.StatusNotFound)
}
