package linkserver_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The suite runs the link server alone in a real manager against envtest: no reconciler
// runs, so every answer here comes from the server's own reading of spec and cache;
// tests write the File's Ready condition themselves where the File controller would.
// Requests go over real HTTP.

var (
	k8s      client.Client
	signer   *signing.Signer
	clk      *clocktesting.FakeClock
	base     string
	server   *linkserver.Server
	mgr      ctrl.Manager
	apiCfg   *rest.Config // envtest's API server, for managers of the tests' own
	apiCalls atomic.Int64 // requests from the manager to the API server, watches excluded
)

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

func runSuite(m *testing.M) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, err); return 1 }
	env, err := framework.New()
	if err != nil {
		return fail(err)
	}
	cfg, c, err := framework.Start(env)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = env.Stop() }()
	k8s, apiCfg = c, cfg
	if signer, err = signing.NewSigner([]byte(strings.Repeat("k", 32))); err != nil {
		return fail(err)
	}

	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt} }
	if mgr, err = newManager(mgrCfg); err != nil {
		return fail(err)
	}
	addr, err := freeAddr()
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk = clocktesting.NewFakeClock(time.Now())
	if server, err = linkserver.Setup(ctx, mgr, linkserver.Options{Addr: addr, Keys: signing.Fixed(signer), Clock: clk}); err != nil {
		return fail(err)
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	base = "http://" + addr
	if err := waitForServer(base); err != nil {
		return fail(err)
	}
	code := m.Run()
	if err := stopStores(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the S3 server:", err)
		return 1
	}
	return code
}

// newManager builds a manager with the options the binary gives it, so Last-Modified is
// tested through its cache transform.
func newManager(cfg *rest.Config) (ctrl.Manager, error) {
	return ctrl.NewManager(cfg, ctrl.Options{Scheme: framework.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: controllers.UncachedObjects()}},
		Cache:  cache.Options{DefaultTransform: linkserver.CacheTransform(), ByObject: filesource.CacheByObject()}})
}

// startServer runs one more link server on the suite's manager, with options of its own
// (the suite's fixed key unless o.Keys says otherwise) and without fetching ahead, and
// returns its base URL.
func startServer(t testing.TB, o linkserver.Options, tune ...func(*linkserver.Server)) string {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	o.Addr = addr
	if o.Keys == nil {
		o.Keys = signing.Fixed(signer)
	}
	if o.Clock == nil {
		o.Clock = clk
	}
	if o.Status == nil {
		o.Status = k8s
	}
	s := linkserver.NewServer(mgr.GetCache(), mgr.GetAPIReader(), o)
	// Only the suite's server fetches bodies ahead: the tests' own would read every
	// body in the cluster when they start, beside the API calls a test counts.
	linkserver.WithoutFetchAhead(s)
	for _, f := range tune {
		f(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	framework.RunUntilCleanup(ctx, cancel, t, s.Start)
	base := "http://" + addr
	if err := waitForServer(base); err != nil {
		t.Fatal(err)
	}
	return base
}

type countingTransport struct{ next http.RoundTripper }

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Query().Get("watch") != "true" {
		apiCalls.Add(1)
	}
	return t.next.RoundTrip(r)
}

var freeAddr = framework.FreeAddr

func waitForServer(base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("link server at %s did not come up", base)
}

func newNamespace(t testing.TB) string { return framework.NewNamespace(t, k8s, "ls-") }

// startStoppable starts a link server of its own on a free port, tuned by tune (when
// set), for a test that stops it to watch what the stop does: it returns the server,
// its base URL, the function that stops it, and where Start's result arrives. The
// server is stopped, if the test has not, when the test ends.
func startStoppable(t *testing.T, tune func(*linkserver.Server)) (s *linkserver.Server, srv string, stop context.CancelFunc, done <-chan error) {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	s = linkserver.NewServer(mgr.GetCache(), mgr.GetAPIReader(), linkserver.Options{Addr: addr, Keys: signing.Fixed(signer), Clock: clk})
	if tune != nil {
		tune(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	started := make(chan error, 1)
	go func() { started <- s.Start(ctx) }()
	srv = "http://" + addr
	if err := waitForServer(srv); err != nil {
		t.Fatal(err)
	}
	return s, srv, cancel, started
}
