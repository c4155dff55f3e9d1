package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The suite runs the real reconcilers in a real manager against envtest, and asserts
// through k8s, a client that reads the API server directly rather than the manager's cache.

const (
	baseURL = "http://links.test"
	// directNS is left out of the manager's cache, so tests there can call Reconcile
	// themselves with a fake clock and nobody else writes the objects.
	directNS = "direct"
)

var (
	k8s     client.WithWatch
	restCfg *rest.Config
	clk     = &offsetClock{}
	keyRef  = types.NamespacedName{Namespace: "filelink-system", Name: "filelink-signing-key"}
	running *runningManager
	// linkAddr is where the suite manager's link server listens; URLs are issued under
	// baseURL all the same, and local turns one into an address to fetch.
	linkAddr string
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

// loopbackStores is the suite manager's store address policy: SeaweedFS runs on
// loopback, which the policy refuses unless exempted, as the manager's
// --allow-store-networks does for make dev.
var loopbackStores = netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, nil)

func runSuite(m *testing.M) int {
	env, err := framework.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if restCfg, k8s, err = framework.Start(env); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if linkAddr, err = freeAddr(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := framework.CreateNamespaces(k8s, keyRef.Namespace, directNS); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if running, err = startManager(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = running.stop() }()
	code := m.Run()
	if err := stopStoreEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the store tests' S3 server:", err)
	}
	return code
}

// runningManager is a manager started the way main.go starts one.
type runningManager struct {
	cancel context.CancelFunc
	done   chan error
	// cache is the manager's, for tests of what it holds.
	cache cache.Cache
}

// startManager builds a manager like main.go does (the live signing key, loaded or
// created from its Secret, the same client options, the reconcilers and the link
// server) and starts it.
func startManager() (*runningManager, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := rest.CopyConfig(restCfg)
	cfg.Wrap(secretGETs.count)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  framework.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Client:  client.Options{Cache: &client.CacheOptions{DisableFor: controllers.UncachedObjects()}},
		Cache:   suiteCacheOptions(),
		// Restarts in one process register the same controller names again.
		Controller: config.Controller{SkipNameValidation: new(true)},
	})
	if err != nil {
		cancel()
		return nil, err
	}
	keys, err := signing.NewLiveKey(ctx, restCfg, keyRef)
	if err != nil {
		cancel()
		return nil, err
	}
	if err := mgr.Add(keys); err != nil {
		cancel()
		return nil, err
	}
	// The link server too, as on every replica, so a test sees what a download answers.
	server, err := linkserver.Setup(ctx, mgr, linkserver.Options{Addr: linkAddr, Keys: keys, Clock: clk, StoreNetworks: loopbackStores})
	if err != nil {
		cancel()
		return nil, err
	}
	if err := controllers.Setup(ctx, mgr, controllers.Config{Clock: clk, Keys: keys, BaseURL: baseURL, StoreNetworks: loopbackStores,
		SourceRead: server.KeepBody}); err != nil {
		cancel()
		return nil, err
	}
	r := &runningManager{cancel: cancel, done: make(chan error, 1), cache: mgr.GetCache()}
	go func() { r.done <- mgr.Start(ctx) }()
	return r, nil
}

func (r *runningManager) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("manager did not stop within 30s")
	}
}

var freeAddr = framework.FreeAddr

// local is the address at which the suite's link server answers an issued URL.
func local(url string) string { return strings.Replace(url, baseURL, "http://"+linkAddr, 1) }

// offsetClock is the wall clock plus an offset that tests move forward. Requeues still
// fire in real time, and a test can jump hours ahead without sleeping.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Step moves the clock forward by d.
func (c *offsetClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// suiteCacheOptions are the manager's, minus the namespace the direct tests own.
func suiteCacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform:     linkserver.CacheTransform(),
		ByObject:             filesource.CacheByObject(),
		DefaultFieldSelector: fields.OneTermNotEqualSelector("metadata.namespace", directNS),
	}
}
