package objectstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// A store whose address the policy refuses is sent nothing, by any request of the S3
// client and its retries; the refusal comes back through the client's error wrapping
// (url.Error around net.OpError) as netguard.ErrAddressNotAllowed, classed
// ErrAccessDenied so that the link server answers 404, not 503.
func TestRefusedAddressIsNeverConnected(t *testing.T) {
	port, accepted := framework.CountingListener(t)
	creds := objectstore.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		endpoint string
		networks *netguard.Policy // nil: the process default, the built-in denials
	}{
		{"http://localhost:" + port, nil},
		{"http://127.0.0.1:" + port, nil},
		{"http://[::ffff:127.0.0.1]:" + port, nil},
		// Denied although allowed: an explicit deny wins.
		{"http://127.0.0.1:" + port, netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})},
		// The metadata service: no listener there, and none needed to prove the
		// refusal is the policy's rather than a failed connection.
		{"http://169.254.169.254", nil},
		{"https://[fd00:ec2::254]", nil},
	} {
		spec := filelinkv1.S3Bucket{Endpoint: tc.endpoint, AllowInsecureHTTP: true, Region: "us-east-1", Bucket: "evidence", ForcePathStyle: true}
		b, err := objectstore.New(spec, creds, objectstore.Options{Networks: tc.networks})
		if err != nil {
			t.Fatal(err)
		}
		checkErr := b.Check(ctx)
		_, statErr := b.Stat(ctx, "key", "")
		for what, err := range map[string]error{"check": checkErr, "stat": statErr} {
			if !errors.Is(err, netguard.ErrAddressNotAllowed) || !errors.Is(err, objectstore.ErrAccessDenied) || errors.Is(err, objectstore.ErrUnreachable) {
				t.Errorf("%s of %s: %v, want ErrAddressNotAllowed classed ErrAccessDenied only", what, tc.endpoint, err)
			}
			if r := objectstore.Reason(err); r != filelinkv1.ReasonEndpointNotAllowed {
				t.Errorf("%s of %s: reason %q", what, tc.endpoint, r)
			}
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("%d connections reached the refused store", n)
	}

	// The same client with loopback allowed does connect: the listener counts.
	spec := filelinkv1.S3Bucket{Endpoint: "http://localhost:" + port, AllowInsecureHTTP: true, Region: "us-east-1", Bucket: "evidence", ForcePathStyle: true}
	b, err := objectstore.New(spec, creds, objectstore.Options{Networks: onLoopback, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx); errors.Is(err, netguard.ErrAddressNotAllowed) {
		t.Fatalf("allowed loopback refused: %v", err)
	}
	if accepted.Load() == 0 {
		t.Fatal("no connection with loopback allowed")
	}
}

// The S3 client follows no redirect: a store that answers 307 towards the metadata
// service (or anywhere) is taken at its word, and the only connection is the store's.
func TestNoRedirectIsFollowed(t *testing.T) {
	var followed atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
	t.Cleanup(target.Close)
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(store.Close)
	spec := filelinkv1.S3Bucket{Endpoint: store.URL, AllowInsecureHTTP: true, Region: "us-east-1", Bucket: "evidence", ForcePathStyle: true}
	b, err := objectstore.New(spec, objectstore.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, objectstore.Options{Networks: onLoopback, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := b.Check(ctx); err == nil {
		t.Error("a redirect answered a bucket check")
	}
	if _, err := b.Stat(ctx, "key", ""); err == nil {
		t.Error("a redirect answered a stat")
	}
	if r, _, err := b.Open(ctx, "key", objectstore.Version{}, nil); err == nil {
		_ = r.Close()
		t.Error("a redirect answered a read")
	}
	if n := followed.Load(); n != 0 {
		t.Fatalf("the S3 client followed %d redirects", n)
	}
}
