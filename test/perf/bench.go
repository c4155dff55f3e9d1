package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// bench is the state the measurements share: one control plane, one manager process
// (restarted by the restart row), and one watch on every FileLink.
type bench struct {
	cfg   config
	rep   *report
	start time.Time
	tmp   string

	cluster *framework.Cluster
	restCfg *rest.Config
	clients clients
	tracker *linkTracker
	mgr     *framework.Manager
	// pprofAddr is where the manager serves net/http/pprof, with --profile-dir only.
	pprofAddr    string
	apiserverPID int
	etcdPID      int
	// serverPIDs are the reference servers running now (nginx, the bare servers), so
	// that a phase's CPU accounting names them instead of lumping them with the rest.
	serverPIDs map[string]int

	// Carried from one row to the next.
	baseline       baselineResult
	reconcileOnly  reconcileOnlyResult
	secondsPerLink float64 // end-to-end time per link with its File, from row 1

	// loadURL serves loadData, row 3's file, once a row has created it.
	loadURL  string
	loadData []byte

	// measured holds the numbers the rows judged, for the scaling curve's table.
	measured measurements
}

// measurements are the judged numbers of rows 1a, 2, 4 and 5; zero when not measured.
type measurements struct {
	reconcileRatio float64 // 1a: manager / bare client making the same requests
	reconcileRate  float64 // 1a: the manager's objects per second
	bareRate       float64 // 1a: the bare client's objects per second
	reconcileMin   bool    // 1a: the manager made no more than the minimum of requests
	expiryP99      time.Duration
	expiryN        int // links the expiry row created (and saw expire, less expiryMissing)
	expiryMissing  int
	rss            int64 // 4: VmRSS once idle
	pairs          int   // 4, 5: File+FileLink pairs present and Ready
	restart        time.Duration
}

// newBench starts the control plane and the tracker and prepares (without starting)
// the manager. Everything started is registered on cleanups.
func newBench(ctx context.Context, cfg config, cleanups *cleanupStack, rep *report) (*bench, error) {
	b := &bench{cfg: cfg, rep: rep, start: time.Now()}
	tmp, err := os.MkdirTemp("", "filelink-bench-")
	if err != nil {
		return nil, err
	}
	cleanups.push(func() { os.RemoveAll(tmp) })
	// nginx's workers run as an unprivileged user and must read the served file.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	b.tmp = tmp

	b.logf("starting the control plane")
	// The in-flight limits are raised because their defaults can be what a benchmark
	// measures instead of the server's real capacity.
	cluster, err := framework.StartCluster(framework.ClusterOptions{
		Kubeconfig: filepath.Join(tmp, "kubeconfig"),
		APIServerFlags: map[string]string{
			"max-requests-inflight":          strconv.Itoa(cfg.maxInflight),
			"max-mutating-requests-inflight": strconv.Itoa(cfg.maxMutatingInflight),
		},
		// The scaling curve's largest size holds 50,000 unrelated 10 KiB Secrets (each
		// twice, with its last-applied annotation) besides everything else: past
		// etcd's default quota of 2 GiB once old revisions count. 8 GiB is etcd's
		// documented maximum; a quota reserves nothing.
		EtcdFlags:  map[string]string{"quota-backend-bytes": strconv.Itoa(8 << 30)},
		Namespaces: []string{nsBaseline, nsReconcile, nsEndToEnd, nsExtra, nsLoad, nsExpiry, nsFailover, nsLarge, nsLimited, nsLimitedBase, nsSoak},
	})
	if err != nil {
		return nil, err
	}
	cleanups.push(func() {
		b.logf("stopping the control plane")
		if err := cluster.Stop(); err != nil {
			b.logf("stopping the control plane: %v", err)
		}
	})
	b.cluster = cluster
	b.restCfg = unthrottled(cluster.Config)
	children := childPIDs(os.Getpid())
	b.apiserverPID, b.etcdPID = children["kube-apiserver"], children["etcd"]
	if b.clients, err = newClients(b.restCfg); err != nil {
		return nil, err
	}

	trackerCtx, stopTracker := context.WithCancel(ctx)
	cleanups.push(stopTracker)
	if b.tracker, err = startTracker(trackerCtx, b.restCfg); err != nil {
		return nil, err
	}

	mcfg, err := cluster.ManagerConfig(cfg.manager, filepath.Join(tmp, "manager.log"))
	if err != nil {
		return nil, err
	}
	// Only the link server listens: probes and metrics would be load of their own.
	mcfg.ProbeAddr, mcfg.MetricsAddr = "0", "0"
	mcfg.Args, mcfg.Env = splitArgs(cfg.managerArgs), splitArgs(cfg.managerEnv)
	// Each answer's audit line goes to a file of its own, as nginx's access log does in
	// row 3, and not into the manager's log, which the harness reads.
	mcfg.Args = append(mcfg.Args, "--audit-log="+filepath.Join(tmp, "manager.audit.log"))
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return nil, err
		}
		if b.pprofAddr, err = framework.FreeAddr(); err != nil {
			return nil, err
		}
		mcfg.Args = append(mcfg.Args, "--pprof-bind-address="+b.pprofAddr)
	}
	b.mgr = framework.NewManager(mcfg)
	cleanups.push(func() {
		if b.mgr.Running() {
			b.logf("stopping the manager")
		}
		if err := b.mgr.Stop(10 * time.Second); err != nil {
			b.logf("%v", err)
		}
	})
	return b, nil
}

// ensureManager starts the manager unless it runs already.
func (b *bench) ensureManager(ctx context.Context) error {
	if b.mgr.Running() {
		return nil
	}
	return b.startManager(ctx)
}

// startManager starts the manager and waits until its link server listens.
func (b *bench) startManager(ctx context.Context) error {
	return b.mgr.Start(ctx)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

// readyTimeout bounds a wait for n objects to become Ready: generous against a slow
// machine, but finite.
func readyTimeout(n int) time.Duration {
	return 2*time.Minute + time.Duration(n)*20*time.Millisecond
}
