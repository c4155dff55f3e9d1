package framework

import (
	"context"
	"net/url"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// PartitionableClient is a client of the API server at cfg whose connections go through
// a Proxy the test can Cut, as a network partition would, each request giving up after
// timeout. Discovery, which the client does on its first request, is done before it is
// returned, so a cut that follows fails the test's own requests only.
func PartitionableClient(t testing.TB, cfg *rest.Config, timeout time.Duration) (client.Client, *Proxy) {
	t.Helper()
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartProxy("127.0.0.1:0", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	c := rest.CopyConfig(cfg)
	c.Host, c.Timeout = "https://"+p.Addr(), timeout
	cl, err := client.New(c, client.Options{Scheme: Scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.List(context.Background(), &filelinkv1.FileLinkList{}, client.Limit(1)); err != nil {
		t.Fatal(err)
	}
	return cl, p
}
