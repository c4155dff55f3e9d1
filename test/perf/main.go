// Command bench measures the targets of SPEC §9 on this machine: reconcile throughput
// against a bare client, expiry lag, link server load against nginx and bare
// http.ServeContent, manager memory, and restart time. It starts its own control plane
// (envtest's kube-apiserver and etcd), runs the manager binary as a separate process,
// and writes a table with the numbers, the targets and whether each is met.
//
// `make bench` runs it; `go run ./test/perf -h` lists the sizes that can be changed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// config holds every size and knob of a run; the defaults are SPEC §9's sizes.
type config struct {
	manager     string
	managerArgs string
	managerEnv  string
	results     string
	profileDir  string

	n             int
	memoryN       int
	unrelated     int
	expiryN       int
	restartSample int
	workers       int

	requests    int
	conns       int
	fileBytes   int
	httpRounds  int
	wrkDuration time.Duration

	largeBytes  int
	largeConns  int
	largeRounds int
	// largeProxyBuffering is nginx's proxy_buffering for row 7's peer: on, off or both.
	largeProxyBuffering string

	rows map[string]bool // which rows of the table to measure

	// The scaling curve (scaling.go): with sizes, the only thing a run measures.
	scaleSizes   []int
	scaleExpiryN int
	scaleResults string

	// The soak (soak.go): with a duration, the only thing a run does.
	soak soakConfig

	// Limited links (limited.go).
	limitedN        int
	limitedConns    int
	limitedAttempts int

	expiryLead          time.Duration
	failoverLease       time.Duration
	maxInflight         int
	maxMutatingInflight int
	timeout             time.Duration
}

// parseFlags uses its own flag set: controller-runtime registers --kubeconfig on the
// global one, and the harness writes its own kubeconfig.
func parseFlags() config {
	var c config
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.StringVar(&c.manager, "manager", "bin/manager", "The manager binary to run; make build writes bin/manager.")
	fs.StringVar(&c.managerArgs, "manager-args", "", "Extra flags for the manager, space separated, e.g. \"--kube-api-qps=2000 --max-concurrent-reconciles=16\".")
	fs.StringVar(&c.managerEnv, "manager-env", "", "Extra environment for the manager, space separated, e.g. \"GOMEMLIMIT=120MiB GOGC=50\".")
	fs.StringVar(&c.results, "results", "bench/RESULTS.md", "Where to write the results table (Markdown).")
	fs.StringVar(&c.profileDir, "profile-dir", "", "Profile the manager (served on a loopback --pprof-bind-address) into this directory: its heap at the memory row; its CPU over the first 20 s of the reconcile-only row, the link server under the harness's generator, the expiry minute, the restart and the limited links; `go tool pprof -top FILE` reads them. Empty: no profiles.")
	fs.IntVar(&c.n, "n", 5000, "Reconcile throughput: Files and FileLinks per measurement (SPEC: 5000).")
	fs.IntVar(&c.memoryN, "memory-n", 10000, "Memory and restart: Files and FileLinks present, all Ready (SPEC: 10000); at least 2×n are present anyway.")
	fs.IntVar(&c.unrelated, "unrelated-secrets", 10000, "Memory: unlabelled 10 KiB Secrets applied client-side that no File reads (SPEC: 10000).")
	fs.IntVar(&c.expiryN, "expiry-n", 5000, "Expiry lag: links expiring within the same minute (SPEC: 5000).")
	fs.IntVar(&c.restartSample, "restart-sample", 500, "Restart: links sampled at random that must all answer 200.")
	fs.IntVar(&c.workers, "workers", 8, "Parallel client workers creating objects and making the baseline's patches.")
	fs.IntVar(&c.requests, "requests", 200000, "Link server load: requests per server in the harness generator's run (its second opinion next to wrk).")
	fs.DurationVar(&c.wrkDuration, "wrk-duration", 8*time.Second, "Link server load: length of each wrk run, in whole seconds.")
	fs.IntVar(&c.conns, "conns", 64, "Link server load: concurrent keep-alive connections.")
	fs.IntVar(&c.fileBytes, "file-bytes", 64<<10, "Link server load: size of the file served.")
	fs.IntVar(&c.httpRounds, "http-rounds", 3, "Link server load: wrk rounds over all servers; the best round of each counts.")
	fs.IntVar(&c.largeBytes, "large-bytes", 100<<20, "Large file: size of the object in SeaweedFS (SPEC: 100 MiB).")
	fs.IntVar(&c.largeConns, "large-conns", 8, "Large file: concurrent downloads (SPEC: 8).")
	fs.IntVar(&c.largeRounds, "large-rounds", 5, "Large file: rounds of downloads, straight and through the link server; the best of each counts.")
	fs.StringVar(&c.largeProxyBuffering, "large-proxy-buffering", "on", "Large file: proxy_buffering of the nginx proxy_pass peer: on (nginx's default), off, or both (each measured every round, the faster counts). By hand here (100 MiB, 8 downloads, two cores) on was the faster: 522 against 498 MiB/s at best, 400-550 against 280-500 MiB/s per round.")
	fs.DurationVar(&c.failoverLease, "failover-lease-duration", 15*time.Second, "Failover: the replicas' --leader-election-lease-duration (the manager's default is 15 s); renew deadline and retry period keep the default proportions.")
	fs.DurationVar(&c.expiryLead, "expiry-lead", 0, "Expiry lag: how far ahead the expiry minute starts; 0 estimates it from the measured creation rate.")
	fs.IntVar(&c.maxInflight, "apiserver-max-requests-inflight", 1600, "kube-apiserver --max-requests-inflight; its own default of 400 can throttle a benchmark.")
	fs.IntVar(&c.maxMutatingInflight, "apiserver-max-mutating-requests-inflight", 800, "kube-apiserver --max-mutating-requests-inflight; its own default is 200.")
	fs.DurationVar(&c.timeout, "timeout", 0, "Give up and clean up after this long; 0: 40 minutes for the table, 4 hours for the scaling curve, the soak's length plus 20 minutes for the soak.")
	rows := fs.String("rows", "1,2,3,4,5,6,7,8,9", "Rows to measure, comma separated: 1 throughput, 2 expiry, 3 link server, 4 memory, 5 restart, 6 failover, 7 large file, 8 limited links, 9 ledger cost.")
	sizes := fs.String("scale-sizes", "", "Measure the scaling curve instead of the table: rows 1a, 2, 4 and 5 at each of these File+FileLink pair counts, comma separated, ascending (SPEC: 1000,10000,50000; `make bench-scale`), each on a fresh control plane.")
	fs.IntVar(&c.scaleExpiryN, "scale-expiry-n", 5000, "Scaling curve: links expiring within one minute at each size, on top of the size's pairs (SPEC's burst: 5000).")
	fs.StringVar(&c.scaleResults, "scale-results", "bench/SCALING.md", "Scaling curve: where to write its table (Markdown).")
	fs.IntVar(&c.limitedN, "limited-n", 1000, "Limited links: links of spec.maxDownloads 1 (SPEC: 1000), and the bare client's compare-and-swap patches.")
	fs.IntVar(&c.limitedConns, "limited-conns", 64, "Limited links: concurrent connections consuming them (SPEC: 64), and the bare client's workers.")
	fs.IntVar(&c.limitedAttempts, "limited-attempts", 2, "Limited links: requests per link, made by different connections at about the same moment; all but one must answer 410.")
	c.soak.addFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: KUBEBUILDER_ASSETS=DIR go run ./test/perf [flags]\n\n"+
			"Measures the SPEC §9 targets on a local control plane and writes a results table.\n"+
			"nginx and wrk (Debian packages nginx-light and wrk) must be installed for the link server comparison.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	c.rows = map[string]bool{}
	for r := range strings.SplitSeq(*rows, ",") {
		c.rows[strings.TrimSpace(r)] = true
	}
	if *sizes != "" {
		var err error
		if c.scaleSizes, err = parseSizes(*sizes); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
	}
	return c
}

func (c config) validate() error {
	var errs []error
	positive := map[string]int{"n": c.n, "expiry-n": c.expiryN, "scale-expiry-n": c.scaleExpiryN,
		"limited-n": c.limitedN, "limited-conns": c.limitedConns, "limited-attempts": c.limitedAttempts, "restart-sample": c.restartSample, "workers": c.workers,
		"requests": c.requests, "conns": c.conns, "file-bytes": c.fileBytes, "http-rounds": c.httpRounds,
		"large-bytes": c.largeBytes, "large-conns": c.largeConns, "large-rounds": c.largeRounds}
	for name, v := range positive {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive", name))
		}
	}
	if c.wrkDuration < time.Second {
		errs = append(errs, errors.New("--wrk-duration must be at least 1s"))
	}
	if c.failoverLease < 300*time.Millisecond {
		errs = append(errs, errors.New("--failover-lease-duration must be at least 300ms"))
	}
	if _, ok := proxyBufferings[c.largeProxyBuffering]; !ok {
		errs = append(errs, errors.New("--large-proxy-buffering must be on, off or both"))
	}
	if c.fileBytes > 900<<10 {
		errs = append(errs, errors.New("--file-bytes must fit in a Secret (at most 900 KiB here)"))
	}
	for r := range c.rows {
		if r < "1" || r > "9" || len(r) != 1 {
			errs = append(errs, fmt.Errorf("--rows: no row %q", r))
		}
	}
	if len(c.scaleSizes) > 0 && c.soak.minutes > 0 {
		errs = append(errs, errors.New("--scale-sizes and --soak-minutes are separate runs; choose one"))
	}
	errs = append(errs, c.soak.validate())
	if _, err := os.Stat(c.manager); err != nil {
		errs = append(errs, fmt.Errorf("--manager: %w (run `make build`)", err))
	}
	return errors.Join(errs...)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == serveSubcommand {
		// The bare reference server runs in its own process, like nginx and the manager,
		// so no server shares a Go runtime with the load generator.
		os.Exit(serveMain(os.Args[2:]))
	}
	cfg := parseFlags()
	// The harness uses controller-runtime's cache and client, which log nothing useful
	// here but complain when no logger is set.
	ctrllog.SetLogger(logr.Discard())
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.runTimeout())
	defer cancel()

	mode := run
	switch {
	case len(cfg.scaleSizes) > 0:
		mode = runScaling
	case cfg.soak.minutes > 0:
		mode = runSoak
	}
	if err := mode(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run measures every row in an order that lets later rows reuse earlier objects: the
// baseline needs a quiet server, the reconcile-only row needs objects the manager has
// never seen, memory and restart need all of them Ready, and the expiry minute comes
// last so that its timers disturb nothing else.
func run(ctx context.Context, cfg config) error {
	var cleanups cleanupStack
	defer cleanups.run()

	rep := newReport(ctx, cfg)
	b, err := newBench(ctx, cfg, &cleanups, rep)
	if err != nil {
		return err
	}

	steps := []struct {
		name string
		rows string // the step runs when any of these rows is selected
		fn   func(context.Context) error
	}{
		{"baseline", "1", b.measureBaseline},
		{"reconcile throughput", "1", b.measureThroughput},
		{"objects for memory and restart", "45", b.populate},
		{"memory", "4", b.measureMemory},
		{"restart", "5", b.measureRestart},
		{"link server", "3", b.measureLinkServer},
		{"ledger cost", "9", b.measureLedger},
		{"large file", "7", b.measureLargeFile},
		// It stops the manager for its baseline and starts it again.
		{"limited links", "8", b.measureLimited},
		{"expiry lag", "2", b.measureExpiry},
		// Last: it stops the bench's manager for two replicas of its own.
		{"failover", "6", b.measureFailover},
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		if !cfg.selected(s.rows) {
			continue
		}
		if err := s.fn(ctx); err != nil && ctx.Err() == nil {
			rep.failed(s.rows, err)
			b.logf("%s failed: %v", s.name, err)
			b.mgr.TailLog(os.Stderr, 20)
		}
	}
	b.logf("done in %s", time.Since(b.start).Round(time.Second))
	rep.finish()
	fmt.Println()
	fmt.Print(rep.markdown())
	if ctx.Err() != nil {
		// A cut-short run must not replace the results of a complete one.
		return fmt.Errorf("interrupted (%w); %s not written", context.Cause(ctx), cfg.results)
	}
	if err := rep.write(cfg.results); err != nil {
		return err
	}
	fmt.Printf("\nwritten to %s\n", cfg.results)
	return nil
}

// runTimeout is --timeout, or the default for the kind of run.
func (c config) runTimeout() time.Duration {
	switch {
	case c.timeout > 0:
		return c.timeout
	case len(c.scaleSizes) > 0:
		return 4 * time.Hour
	case c.soak.minutes > 0:
		return c.soak.duration() + 20*time.Minute
	}
	return 40 * time.Minute
}

// cleanupStack runs what was started in reverse order, so the manager stops before the
// control plane it talks to.
type cleanupStack []func()

func (s *cleanupStack) push(f func()) { *s = append(*s, f) }

func (s *cleanupStack) run() {
	for _, f := range slices.Backward(*s) {
		f()
	}
	*s = nil
}

// selected reports whether any of rows (one character each) was asked for.
func (c config) selected(rows string) bool {
	for _, r := range rows {
		if c.rows[string(r)] {
			return true
		}
	}
	return false
}

// splitArgs splits --manager-args and --manager-env on whitespace; neither needs quoting.
func splitArgs(s string) []string { return strings.Fields(s) }
