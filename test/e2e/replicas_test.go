//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// Short lease timings keep these tests fast; the defaults (15 s, 10 s, 0.5 s) are
// asserted in internal/app/options_test.go. A take-over can come up to about 2 × 2.2 retry periods after the
// lease expires (client-go jitters each retry by up to 1.2 periods, and a candidate
// times the lease from when it last saw it renewed), so the retry period is short
// enough that lease + 2 s always holds.
const (
	leaseDuration = 3 * time.Second
	renewDeadline = 2 * time.Second
	retryPeriod   = 250 * time.Millisecond
)

var leaseFlags = []string{
	"--leader-elect",
	"--leader-election-lease-duration=" + leaseDuration.String(),
	"--leader-election-renew-deadline=" + renewDeadline.String(),
	"--leader-election-retry-period=" + retryPeriod.String(),
}

// acquired is what client-go's leader elector logs on taking the lease.
const acquired = "Successfully acquired lease"

// withoutSuiteManager stops the suite's single, not leader-elected, manager for the
// test, which would otherwise reconcile too, and starts it again afterwards. The API
// server calls the webhook on its registered port: a proxy there forwards to whichever
// of the test's replicas is up, as a Service would.
func withoutSuiteManager(t *testing.T, replicas int) (webhookPorts []int) {
	t.Helper()
	if err := manager.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := manager.Start(context.Background()); err != nil {
			t.Errorf("restarting the suite's manager: %v", err)
		}
	})
	addrs, err := framework.FreeAddrs(replicas)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := framework.StartProxy(fmt.Sprintf("127.0.0.1:%d", cluster.Env.WebhookInstallOptions.LocalServingPort), addrs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	for _, a := range addrs {
		var port int
		if _, err := fmt.Sscanf(a[strings.LastIndex(a, ":")+1:], "%d", &port); err != nil {
			t.Fatal(err)
		}
		webhookPorts = append(webhookPorts, port)
	}
	return webhookPorts
}

// replica is a leader-electing manager process serving its webhook on webhookPort,
// its log in the test's directory; it is stopped after the test.
func replica(t *testing.T, name, kubeconfig string, webhookPort int, linkBaseURL string) *framework.Manager {
	t.Helper()
	cfg, err := cluster.ManagerConfig(manager.Binary, filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	wh := *cfg.Webhooks
	wh.LocalServingPort = webhookPort
	cfg.Webhooks, cfg.LinkBaseURL = &wh, linkBaseURL
	if kubeconfig != "" {
		cfg.Kubeconfig = kubeconfig
	}
	cfg.Args = leaseFlags
	m := framework.NewManager(cfg)
	t.Cleanup(func() {
		if t.Failed() {
			fmt.Fprintf(os.Stderr, "--- %s\n", name)
			m.TailLog(os.Stderr, 40)
		}
		_ = m.Stop(20 * time.Second)
	})
	return m
}

// twoReplicas runs two leader-electing replicas in place of the suite's manager: a,
// started first, holds the lease; b is up and serving although not the leader. Both
// issue URLs on a's base, as replicas behind one Service do.
func twoReplicas(t *testing.T) (a, b *framework.Manager) {
	t.Helper()
	ports := withoutSuiteManager(t, 2)
	a = replica(t, "a", "", ports[0], "")
	start(t, a)
	awaitLog(t, a, acquired, 30*time.Second)
	b = replica(t, "b", "", ports[1], "http://"+a.LinkAddr)
	start(t, b)
	return a, b
}

func start(t *testing.T, m *framework.Manager) {
	t.Helper()
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// awaitLog fails the test unless m's log holds s within timeout.
func awaitLog(t *testing.T, m *framework.Manager, s string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := framework.Poll(ctx, 50*time.Millisecond, m.Exited, func(context.Context) (bool, error) {
		return m.LogContains(s), nil
	})
	if err != nil {
		t.Fatalf("%q not in %s: %v", s, m.LogPath, err)
	}
}

// createLink creates a FileLink to config/samples' File.
func createLink(t *testing.T, ns, name string) {
	t.Helper()
	create(t, ns, name, fmt.Sprintf("apiVersion: filelink.dev/v1alpha1\nkind: FileLink\nmetadata:\n  name: %s\nspec:\n  file: receipt\n", name))
}

// create creates the object in manifest and returns when it was sent.
func create(t *testing.T, ns, name, manifest string) time.Time {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	mustKubectl(t, ns, "create", "-f", path)
	return sent
}

// awaitActive fails the test unless link ns/name is Ready within timeout of since, and
// returns its URL.
func awaitActive(t *testing.T, ns, name string, since time.Time, timeout time.Duration) string {
	t.Helper()
	left := max(time.Until(since.Add(timeout)), time.Second) // kubectl's own granularity
	mustKubectl(t, ns, "wait", "--for=condition=Ready", "filelink/"+name, fmt.Sprintf("--timeout=%dms", left.Milliseconds()))
	if took := time.Since(since); took > timeout {
		t.Fatalf("filelink %s Ready after %s, want within %s", name, took.Round(10*time.Millisecond), timeout)
	}
	return mustKubectl(t, ns, "get", "filelink", name, "-o", "jsonpath={.status.url}")
}

// downloader fetches url in a loop until stopped and counts every answer that is not
// 200 with the sample's body.
type downloader struct {
	ok, failed atomic.Int64
	firstErr   atomic.Value
	stop       chan struct{}
	wg         sync.WaitGroup
}

func download(url string) *downloader {
	d := &downloader{stop: make(chan struct{})}
	d.wg.Go(func() {
		for {
			select {
			case <-d.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := framework.Get(ctx, url)
			cancel()
			switch {
			case err != nil:
				d.fail(err)
			case resp.StatusCode != http.StatusOK || string(resp.Body) != sampleReceipt:
				d.fail(fmt.Errorf("%s: %d %q", url, resp.StatusCode, resp.Body))
			default:
				d.ok.Add(1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return d
}

func (d *downloader) fail(err error) {
	d.failed.Add(1)
	d.firstErr.CompareAndSwap(nil, err)
}

// finish stops the loop and fails the test unless every download succeeded.
func (d *downloader) finish(t *testing.T, during string) {
	t.Helper()
	close(d.stop)
	d.wg.Wait()
	if n := d.failed.Load(); n > 0 || d.ok.Load() == 0 {
		t.Errorf("%s: %d downloads failed, %d succeeded; first failure: %v", during, n, d.ok.Load(), d.firstErr.Load())
	}
	t.Logf("%s: %d downloads, none failed", during, d.ok.Load())
}

// relocate is url served by the link server at addr instead.
func relocate(url, addr string) string {
	return "http://" + addr + url[strings.Index(url, "/links/"):]
}

func TestLeaderCutOffFromTheAPIServerKeepsServingAndCatchesUp(t *testing.T) {
	ports := withoutSuiteManager(t, 1)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	api, err := cluster.ProxiedKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	m := replica(t, "leader", kubeconfig, ports[0], "")
	start(t, m)
	awaitLog(t, m, acquired, 30*time.Second)

	ns, url := sampleNamespace(t, "api-outage")
	waitForStatus(t, url, http.StatusOK, 10*time.Second)

	// Longer than the renew deadline: the leader loses its lease.
	d := download(url)
	api.Cut()
	cutAt := time.Now()
	awaitLog(t, m, "reconcilers stopped", renewDeadline+5*time.Second)
	for time.Since(cutAt) < renewDeadline+2*time.Second {
		if !m.Running() {
			t.Fatalf("manager exited during the API outage: %v", m.Exited())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Changes made meanwhile, which this replica cannot see: a File created (FileLinks
	// cannot be, their webhook needs the API server too) and the link deleted.
	create(t, ns, "receipt-copy", "apiVersion: filelink.dev/v1alpha1\nkind: File\nmetadata:\n  name: receipt-copy\nspec:\n  purpose: dispute_evidence\n  filename: receipt-copy.txt\n  source:\n    secret:\n      name: dispute-evidence\n      key: receipt.txt\n")
	mustKubectl(t, ns, "delete", "filelink", "receipt-for-bank", "--wait=false")
	time.Sleep(time.Second)
	d.finish(t, "API server unreachable")
	if !m.Running() {
		t.Fatalf("manager exited during the API outage: %v", m.Exited())
	}
	if resp, _ := get(t, "http://"+m.ProbeAddr+"/readyz"); resp.StatusCode != http.StatusOK {
		t.Errorf("readyz during the outage: %d, want 200: serving does not depend on the API server", resp.StatusCode)
	}

	api.Restore()
	restored := time.Now()
	mustKubectl(t, ns, "wait", "--for=condition=Ready", "file/receipt-copy", "--timeout=30s")
	// The link deleted during the outage stops being served.
	waitForStatus(t, url, http.StatusNotFound, 30*time.Second)
	newURL := awaitActive(t, ns, "to-the-copy", create(t, ns, "to-the-copy", "apiVersion: filelink.dev/v1alpha1\nkind: FileLink\nmetadata:\n  name: to-the-copy\nspec:\n  file: receipt-copy\n"), 30*time.Second)
	t.Logf("caught up %s after the API server came back", time.Since(restored).Round(10*time.Millisecond))
	waitForStatus(t, newURL, http.StatusOK, 10*time.Second)
	if !m.Running() {
		t.Fatalf("manager restarted: %v", m.Exited())
	}
}

func TestTwoReplicasFailOverWithoutFailedDownloads(t *testing.T) {
	a, b := twoReplicas(t)

	ns, url := sampleNamespace(t, "replicas")
	for _, m := range []*framework.Manager{a, b} {
		if body := waitForStatus(t, relocate(url, m.LinkAddr), http.StatusOK, 10*time.Second); body != sampleReceipt {
			t.Fatalf("replica at %s serves %q", m.LinkAddr, body)
		}
	}
	if b.LogContains(acquired) {
		t.Fatal("the second replica leads while the first is up")
	}

	// The leader crashes: the other takes over within the lease duration + 2 s.
	d := download(relocate(url, b.LinkAddr))
	a.Kill()
	killed := time.Now()
	createLink(t, ns, "after-crash")
	awaitActive(t, ns, "after-crash", killed, leaseDuration+2*time.Second)
	t.Logf("new link Active %s after SIGKILL of the leader", time.Since(killed).Round(10*time.Millisecond))
	d.finish(t, "leader SIGKILLed")

	// The first replica returns; the new leader stops gracefully and hands over at once.
	start(t, a)
	d = download(relocate(url, a.LinkAddr))
	sigterm := time.Now()
	if err := b.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	// b has exited, so whoever reconciles this link is a, which had to take the lease.
	createLink(t, ns, "after-handover")
	newURL := awaitActive(t, ns, "after-handover", sigterm, 3*time.Second)
	t.Logf("new link Active %s after SIGTERM of the leader", time.Since(sigterm).Round(10*time.Millisecond))
	waitForStatus(t, relocate(newURL, a.LinkAddr), http.StatusOK, 5*time.Second)
	d.finish(t, "leader SIGTERMed")
}
