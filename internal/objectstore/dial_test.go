package objectstore_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// Options.DialContext is where the dial-time address policy goes (SPEC §12): every
// connection of the client goes through it, and one it refuses carries no request.
func TestDialContextMakesEveryConnection(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		requests.Add(1) // a HEAD of the bucket: it exists
	}))
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	spec := filelinkv1.S3Bucket{Endpoint: srv.URL, AllowInsecureHTTP: true, Region: "us-east-1", Bucket: "evidence", ForcePathStyle: true}
	creds := objectstore.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}
	ctx := context.Background()

	var mu sync.Mutex
	var dialled []string
	var d net.Dialer
	through := func(ctx context.Context, network, address string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, address)
		mu.Unlock()
		return d.DialContext(ctx, network, address)
	}
	b, err := objectstore.New(spec, creds, objectstore.Options{DialContext: through})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(dialled) != 1 || dialled[0] != host {
		t.Errorf("dialled %q, want once %s", dialled, host)
	}
	mu.Unlock()
	if requests.Load() != 1 {
		t.Fatalf("%d requests reached the store, want 1", requests.Load())
	}

	denied := errors.New("address not allowed")
	refuse := func(context.Context, string, string) (net.Conn, error) { return nil, denied }
	b, err = objectstore.New(spec, creds, objectstore.Options{DialContext: refuse, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx); !errors.Is(err, denied) {
		t.Errorf("check through a refusing dialer: %v, want its refusal", err)
	}
	if requests.Load() != 1 {
		t.Errorf("%d requests reached the store through a refusing dialer", requests.Load()-1)
	}

	// A transport of its own would dial around the hook, and a dialer of its own
	// around the address policy.
	if _, err := objectstore.New(spec, creds, objectstore.Options{DialContext: through, Transport: http.DefaultTransport}); err == nil {
		t.Error("Transport and DialContext together accepted")
	}
	if _, err := objectstore.New(spec, creds, objectstore.Options{Networks: onLoopback, Transport: http.DefaultTransport}); err == nil {
		t.Error("Transport and Networks together accepted")
	}
	if _, err := objectstore.New(spec, creds, objectstore.Options{Networks: onLoopback, DialContext: through}); err == nil {
		t.Error("DialContext and Networks together accepted")
	}
}
