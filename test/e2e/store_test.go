//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// storeBucket is not versioned: the link server pins its objects by ETag alone, so an
// overwritten object can only ever answer 503 or, once the File follows, the new bytes.
const storeBucket = "dispute-evidence"

const storeKey = "2026/11/receipt-0042.pdf"

// TestStoreBackedFile drives README's "Large files" with kubectl and plain HTTP against
// the manager binary and a real S3 server (SeaweedFS). Two FileStores share one bucket,
// one delivering by proxy and one by redirect, each with a File of the same 5 MiB
// object and a link to it. By proxy the object is served byte-exact, whole and ranged;
// overwritten, it is never served again, and its File follows it at once, long before
// the stores' 10-minute interval, because the link server asks for a re-check. The
// redirecting File, still describing the old object, never redirects to the new one
// before it follows it the same way; then plain net/http follows its 302 to a presigned
// URL that outlives neither 60 s nor the link. A re-check asked by hand is answered.
func TestStoreBackedFile(t *testing.T) {
	ctx := context.Background()
	s3, err := s3server.Start(ctx, s3server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Idle keep-alive connections would hold up the server's graceful stop.
		http.DefaultClient.CloseIdleConnections()
		framework.NoRedirects.CloseIdleConnections()
		if err := s3.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := s3.CreateBucket(ctx, storeBucket, false); err != nil {
		t.Fatal(err)
	}
	put := func(t *testing.T, body []byte) {
		t.Helper()
		if _, err := s3.Put(ctx, storeBucket, storeKey, body, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
	}

	ns := newNamespace(t, "store")
	first := randomBytes(t, 5<<20)
	put(t, first)
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: s3-reader
  labels: {filelink.dev/shareable: "true"}
stringData: {%s: %q, %s: %q}
`, filelinkv1.CredentialsAccessKeyID, s3.AccessKeyID, filelinkv1.CredentialsSecretAccessKey, s3.SecretAccessKey)
	for _, delivery := range []filelinkv1.Delivery{filelinkv1.DeliveryProxy, filelinkv1.DeliveryRedirect} {
		manifest += fmt.Sprintf(`---
apiVersion: filelink.dev/v1alpha1
kind: FileStore
metadata: {name: by-%[1]s}
spec:
  s3:
    endpoint: %[2]s
    region: %[3]s
    bucket: %[4]s
    forcePathStyle: true
    allowInsecureHTTP: true
    credentials: {secretName: s3-reader}
  delivery: %[1]s
---
apiVersion: filelink.dev/v1alpha1
kind: File
metadata: {name: evidence-by-%[1]s}
spec:
  purpose: dispute_evidence
  source:
    store: {name: by-%[1]s, key: %[5]q}
---
apiVersion: filelink.dev/v1alpha1
kind: FileLink
metadata: {name: evidence-by-%[1]s}
spec:
  file: evidence-by-%[1]s
  expiresAt: %[6]s
`, delivery, s3.Endpoint, s3server.Region, storeBucket, storeKey, expires.Format(time.RFC3339))
	}
	applyManifest(t, ns, "store.yaml", manifest)
	mustKubectl(t, ns, "wait", "--for=condition=Ready", "filestore/by-proxy", "filestore/by-redirect", "--timeout=30s")
	mustKubectl(t, ns, "wait", "--for=condition=Ready", "file/evidence-by-proxy", "file/evidence-by-redirect",
		"filelink/evidence-by-proxy", "filelink/evidence-by-redirect", "--timeout=30s")
	if interval := mustKubectl(t, ns, "get", "filestore", "by-proxy", "by-redirect", "-o", "jsonpath={.items[*].spec.interval}"); interval != "10m 10m" {
		t.Fatalf("intervals %q: the re-checks below must not come from the interval", interval)
	}
	proxied := mustKubectl(t, ns, "get", "filelink", "evidence-by-proxy", "-o", "jsonpath={.status.url}")
	redirected := mustKubectl(t, ns, "get", "filelink", "evidence-by-redirect", "-o", "jsonpath={.status.url}")

	if !t.Run("proxy serves the object byte-exact, whole and ranged", func(t *testing.T) {
		wantDigest(t, ns, "evidence-by-proxy", first)
		resp, body := fetch(t, http.DefaultClient, proxied, nil)
		if resp.StatusCode != http.StatusOK || digest(body) != digest(first) {
			t.Fatalf("download: %d, %d bytes, sha256 %s, want %s", resp.StatusCode, len(body), digest(body), digest(first))
		}
		if etag := resp.Header.Get("ETag"); etag != `"`+digest(first)+`"` {
			t.Errorf("ETag %q is not the File's sha256", etag)
		}
		resp, body = fetch(t, http.DefaultClient, proxied, http.Header{"Range": {"bytes=1000000-1000999"}})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, first[1000000:1001000]) {
			t.Fatalf("Range: %d, %d bytes, equal %v", resp.StatusCode, len(body), bytes.Equal(body, first[1000000:1001000]))
		}
		if got, want := resp.Header.Get("Content-Range"), "bytes 1000000-1000999/"+strconv.Itoa(len(first)); got != want {
			t.Errorf("Content-Range %q, want %q", got, want)
		}
	}) {
		return
	}

	second := randomBytes(t, 5<<20)
	if !t.Run("an overwritten object is never served by proxy, and the File follows it at once", func(t *testing.T) {
		put(t, second)
		awaitOnly(t, proxied, second)
		wantDigest(t, ns, "evidence-by-proxy", second)
		wantRecheckAnswered(t, ns, "evidence-by-proxy")
	}) {
		return
	}

	t.Run("redirect never reaches the overwritten object before its File follows, then serves it byte-exact", func(t *testing.T) {
		// Nobody downloaded this File since the overwrite: it still describes the first
		// object, until its first download asks for a re-check.
		wantDigest(t, ns, "evidence-by-redirect", first)
		awaitOnly(t, redirected, second)
		wantDigest(t, ns, "evidence-by-redirect", second)
		wantRecheckAnswered(t, ns, "evidence-by-redirect")

		// Plain net/http follows the 302; the bytes come from the object store.
		resp, body := fetch(t, http.DefaultClient, redirected, nil)
		if resp.StatusCode != http.StatusOK || digest(body) != digest(second) || resp.URL.Host != strings.TrimPrefix(s3.Endpoint, "http://") {
			t.Fatalf("followed: %d from %s, %d bytes, sha256 %s, want %s", resp.StatusCode, resp.URL.Host, len(body), digest(body), digest(second))
		}
		if got := resp.Header.Get("Content-Type"); got != "application/pdf" {
			t.Errorf("Content-Type from the object store %q, want the File's", got)
		}
	})

	t.Run("redirect hands out a presigned URL that outlives neither 60 s nor the link", func(t *testing.T) {
		wantPresignedWithin(t, redirected, expires)
		soon := time.Now().Add(30 * time.Second).UTC().Truncate(time.Second)
		applyManifest(t, ns, "short.yaml", fmt.Sprintf(`apiVersion: filelink.dev/v1alpha1
kind: FileLink
metadata: {name: evidence-short}
spec: {file: evidence-by-redirect, expiresAt: %s}
`, soon.Format(time.RFC3339)))
		mustKubectl(t, ns, "wait", "--for=condition=Ready", "filelink/evidence-short", "--timeout=15s")
		wantPresignedWithin(t, mustKubectl(t, ns, "get", "filelink", "evidence-short", "-o", "jsonpath={.status.url}"), soon)
	})

	t.Run("kubectl annotate asks for a re-check by hand, as README says", func(t *testing.T) {
		third := randomBytes(t, 1<<20)
		put(t, third)
		// Nanoseconds, so the value differs from the link server's last request even
		// within the same second.
		now := time.Now().UTC().Format(time.RFC3339Nano)
		mustKubectl(t, ns, "annotate", "file", "evidence-by-proxy", filelinkv1.RecheckRequestedAtAnnotation+"="+now, "--overwrite")
		mustKubectl(t, ns, "wait", "file/evidence-by-proxy", "--for=jsonpath={.status.lastHandledRecheckAt}="+now, "--timeout=15s")
		wantDigest(t, ns, "evidence-by-proxy", third)
	})
}

// applyManifest writes manifest to a file named name and applies it in ns.
func applyManifest(t *testing.T, ns, name, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, ns, "apply", "-f", path)
}

// fetch sends a GET for url with the headers h and returns its answer, and the answer's
// body.
func fetch(t *testing.T, c *http.Client, url string, h http.Header) (framework.Answer, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h != nil {
		req.Header = h
	}
	resp, err := framework.Do(c, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, resp.Body
}

// awaitOnly downloads url, following any redirect, until it serves want, failing at
// once on any answer but that or 503: never the bytes the File described before. The
// FileStore's interval is ten minutes, so want can only come this soon through the
// re-check the download asks for.
func awaitOnly(t *testing.T, url string, want []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	last := 0
	err := framework.Poll(ctx, 20*time.Millisecond, manager.Exited, func(ctx context.Context) (bool, error) {
		resp, err := framework.Get(ctx, url)
		if err != nil {
			return false, err
		}
		last = resp.StatusCode
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable:
			return false, nil
		case resp.StatusCode == http.StatusOK && digest(resp.Body) == digest(want):
			return true, nil
		}
		return false, fmt.Errorf("answered %d with %d bytes of sha256 %s; only 503 or the new object (sha256 %s) may come", resp.StatusCode, len(resp.Body), digest(resp.Body), digest(want))
	})
	if err != nil {
		t.Fatalf("after the overwrite, last answer %d: %v", last, err)
	}
}

// wantDigest checks that the File named file describes body.
func wantDigest(t *testing.T, ns, file string, body []byte) {
	t.Helper()
	out := mustKubectl(t, ns, "get", "file", file, "-o", "jsonpath={.status.sha256} {.status.size}")
	if want := digest(body) + " " + strconv.Itoa(len(body)); out != want {
		t.Fatalf("File %s: status sha256 and size %q, want %q", file, out, want)
	}
}

// wantRecheckAnswered checks that the File named file carries a re-check request of the
// link server (a time) and that its status records it answered.
func wantRecheckAnswered(t *testing.T, ns, file string) {
	t.Helper()
	jsonpath := `jsonpath={.metadata.annotations.filelink\.dev/recheck-requested-at} {.status.lastHandledRecheckAt}`
	out := mustKubectl(t, ns, "get", "file", file, "-o", jsonpath)
	requested, handled, _ := strings.Cut(out, " ")
	if _, err := time.Parse(time.RFC3339, requested); err != nil || handled != requested {
		t.Fatalf("File %s: re-check requested %q, handled %q: want a time, answered", file, requested, handled)
	}
}

// wantPresignedWithin checks the presigned URL link redirects to: it works neither
// longer than 60 s nor past expires, the link's expiresAt.
func wantPresignedWithin(t *testing.T, link string, expires time.Time) {
	t.Helper()
	signedAt, valid := framework.PresignedRedirect(t, link)
	if valid <= 0 || valid > 60*time.Second || signedAt.Add(valid).After(expires) {
		t.Fatalf("presigned URL signed at %s, valid %s: want at most 60 s and not past the link's expiry %s", signedAt, valid, expires)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
