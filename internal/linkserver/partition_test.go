package linkserver_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// apiProxy forwards TCP connections to the API server until it is cut. Then it either
// refuses connections (the API server is down) or, as a partitioned network does,
// accepts them and every open one but forwards nothing more in either direction.
type apiProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []net.Conn
	frozen chan struct{} // closed when packets stop flowing
}

func startProxy(t testing.TB, target string) *apiProxy {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &apiProxy{ln: ln, target: target, frozen: make(chan struct{})}
	go p.serve()
	t.Cleanup(func() { p.cut() })
	return p
}

func (p *apiProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		select {
		case <-p.frozen:
			continue // held open, never answered
		default:
		}
		var d net.Dialer
		up, err := d.DialContext(context.Background(), "tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.track(up)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

func (p *apiProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

// pipe copies until the proxy freezes, then holds on to what it read.
func (p *apiProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// cut closes every connection and the listener: new connections are refused.
func (p *apiProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// freeze stops every byte, keeping connections open and accepting new ones.
func (p *apiProxy) freeze() { close(p.frozen) }

// TestServingDoesNotWaitOnTheAPIServer runs a link server in a manager of its own whose
// only way to the API server is a proxy, and cuts the proxy after one download. Every
// link the caches know keeps answering, quickly: 200 from the cached body, 410 from the
// instant of expiry, 404 for unknown tokens. A link never downloaded before answers 200
// too, from the body fetched ahead when its File became Ready (defect 4 of issue 17: it
// answered 503 for the whole outage). Only a body beyond the content cache needs the
// API server, and answers 503 within the read timeout instead of hanging.
func TestServingDoesNotWaitOnTheAPIServer(t *testing.T) {
	for name, partition := range map[string]func(*apiProxy){
		"connections refused": (*apiProxy).cut,
		"packets dropped":     (*apiProxy).freeze,
	} {
		t.Run(name, func(t *testing.T) { testPartition(t, partition) })
	}
}

func testPartition(t *testing.T, partition func(*apiProxy)) {
	target, err := url.Parse(apiCfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, target.Host)
	cfg := rest.CopyConfig(apiCfg)
	cfg.Host = "https://" + proxy.ln.Addr().String()
	m, err := newManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	pclk := clocktesting.NewFakeClock(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	srvObj, err := linkserver.Setup(ctx, m, linkserver.Options{Addr: addr, Keys: signing.Fixed(signer), Clock: pclk,
		SourceReadTimeout: time.Second, ContentCacheBytes: partitionCacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = m.Start(ctx)
	}()
	// Closing the proxy's connections lets the manager's pending API requests fail, so
	// it stops at once.
	t.Cleanup(func() { cancel(); proxy.cut(); <-stopped })
	srv := "http://" + addr
	if err := waitForServer(srv); err != nil {
		t.Fatal(err)
	}

	expires := metav1.NewTime(pclk.Now().Add(time.Hour).Truncate(time.Second))
	served := newFixture(t, nil)
	expiring := newFixture(t, func(f *fixture) { f.link.Spec.ExpiresAt = &expires })
	cold := newFixture(t, nil) // never downloaded
	large := newFixture(t, withBody(randomBytes(t, 2*partitionCacheBytes)))
	eventuallyStatus(t, on(srv, served.url()), http.StatusOK)
	eventuallyStatus(t, on(srv, expiring.url()), http.StatusOK)
	waitCached(t, m.GetCache(), cold)
	waitCached(t, m.GetCache(), large)
	NewWithT(t).Eventually(func() bool { return linkserver.HoldsBody(ctx, srvObj, cold.file) }).
		WithTimeout(10*time.Second).WithPolling(10*time.Millisecond).Should(BeTrue(), "the body of a Ready File was not fetched ahead")
	// Nor is a read of the large body still under way at the cut, which its download
	// could share.
	NewWithT(t).Eventually(func() bool { return linkserver.FetchAheadIdle(srvObj) }).
		WithTimeout(10 * time.Second).WithPolling(10 * time.Millisecond).Should(BeTrue())

	partition(proxy)

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url string) (int, []byte, time.Duration) {
		t.Helper()
		start := time.Now()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("during the partition: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b, time.Since(start)
	}
	const fast = 500 * time.Millisecond
	for i := range 20 {
		code, b, took := get(on(srv, served.url()))
		if code != http.StatusOK || !bytes.Equal(b, content) || took > fast {
			t.Fatalf("download %d during the partition: %d, %d bytes, in %v", i+1, code, len(b), took)
		}
	}
	if code, _, took := get(on(srv, expiring.url())); code != http.StatusOK || took > fast {
		t.Errorf("expiring link before its instant: %d in %v", code, took)
	}
	pclk.SetTime(expires.Time)
	if code, _, took := get(on(srv, expiring.url())); code != http.StatusGone || took > fast {
		t.Errorf("expiring link at its instant: %d in %v, want 410", code, took)
	}
	if code, _, took := get(srv + "/links/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); code != http.StatusNotFound || took > fast {
		t.Errorf("unknown token: %d in %v, want 404", code, took)
	}
	if code, b, took := get(on(srv, cold.url())); code != http.StatusOK || !bytes.Equal(b, content) || took > fast {
		t.Errorf("a link never downloaded before: %d, %d bytes, in %v; want 200 with the body fetched ahead", code, len(b), took)
	}
	if code, _, took := get(on(srv, large.url())); code != http.StatusServiceUnavailable || took > 3*time.Second {
		t.Errorf("a body larger than the content cache: %d in %v, want 503 within the 1 s read timeout", code, took)
	}
}

// partitionCacheBytes is the partitioned server's content cache: room for the small
// bodies, none for a large one.
const partitionCacheBytes = 128 << 10

// waitCached waits until c holds f's link, File and source metadata.
func waitCached(t *testing.T, c client.Reader, f *fixture) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, obj := range []client.Object{&filelinkv1.FileLink{}, &filelinkv1.File{}, metadataOf(f)} {
		var key client.ObjectKey
		switch obj.(type) {
		case *filelinkv1.FileLink:
			key = client.ObjectKeyFromObject(f.link)
		case *filelinkv1.File:
			key = client.ObjectKeyFromObject(f.file)
		default:
			key = client.ObjectKeyFromObject(f.secret)
		}
		for c.Get(context.Background(), key, obj) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("%T %s never reached the cache", obj, key)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func metadataOf(*fixture) client.Object {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}
