package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The soak (SPEC §9, `make soak`): two leader-electing replicas against the bench's
// control plane for --soak-minutes, the lease moved every --soak-handover-every,
// downloads from both replicas at a steady rate, links created, expired and deleted
// throughout. Each replica's VmRSS and open descriptors (from /proc) and Go heap and
// goroutines (from its metrics endpoint) are sampled and tested for an upward trend
// (trend.go); every download of a live link must succeed and every link must end in the
// right status.

const (
	// soakHolder is the identity under which the harness holds the lease for a moment
	// to move it (see moveLease).
	soakHolder = "filelink-soak-harness"
	// leaseNamespace and leaseName are where the replicas campaign: out of a cluster,
	// the namespace of --signing-key-secret (SPEC §6), and the manager's election ID.
	leaseNamespace = framework.ManagerNamespace
	leaseName      = "filelink-operator.filelink.dev"
	// soakGrace is how long after the harness saw a change (a link Ready, deleted) a
	// replica's caches have to see it too before a download is held to it.
	soakGrace = 2 * time.Second
	// soakWorkers make the downloads; each waits for the next tick.
	soakWorkers = 16
	// soakContentBytes is each soak File's size.
	soakContentBytes = 4 << 10
)

type soakConfig struct {
	minutes        float64
	results        string
	handoverEvery  time.Duration
	leaseHold      time.Duration
	downloadRate   int
	linksPerSecond float64
	initialLinks   int
	files          int
	sampleEvery    time.Duration
	warmup         time.Duration
}

func (c *soakConfig) addFlags(fs *flag.FlagSet) {
	fs.Float64Var(&c.minutes, "soak-minutes", 0, "Run the soak instead of the table for this many minutes (SPEC: 30; `make soak SOAK_MINUTES=30`).")
	fs.StringVar(&c.results, "soak-results", "bench/SOAK.md", "Soak: where to write its report (Markdown).")
	fs.DurationVar(&c.handoverEvery, "soak-handover-every", 30*time.Second, "Soak: how often the lease is moved from the leader.")
	fs.DurationVar(&c.leaseHold, "soak-lease-hold", 12*time.Second, "Soak: how long the harness holds the lease to move it; longer than the replicas' renew deadline plus a retry period (10 s + 0.5 s by default), so the leader has stepped down before another replica can take it.")
	fs.IntVar(&c.downloadRate, "soak-download-rate", 40, "Soak: downloads per second, spread over both replicas.")
	fs.Float64Var(&c.linksPerSecond, "soak-links-per-second", 2, "Soak: FileLinks created per second, each later expired and deleted, or deleted while live.")
	fs.IntVar(&c.initialLinks, "soak-initial-links", 100, "Soak: FileLinks created at the start that live to the end.")
	fs.IntVar(&c.files, "soak-files", 10, "Soak: Files (each of a Secret of 4 KiB) the links share.")
	fs.DurationVar(&c.sampleEvery, "soak-sample-every", 10*time.Second, "Soak: how often each replica's RSS, heap, goroutines and descriptors are read.")
	fs.DurationVar(&c.warmup, "soak-warmup", 0, "Soak: samples left out of the trend test at the start (0: a sixth of the run, at least 2.5 minutes, when the churned links have reached their steady number, at most 5 minutes and half the run).")
}

func (c soakConfig) validate() error {
	if c.minutes <= 0 {
		return nil
	}
	var errs []error
	if c.handoverEvery <= c.leaseHold {
		errs = append(errs, errors.New("--soak-handover-every must be longer than --soak-lease-hold"))
	}
	if c.downloadRate <= 0 || c.linksPerSecond <= 0 || c.files <= 0 || c.initialLinks <= 0 || c.sampleEvery <= 0 {
		errs = append(errs, errors.New("--soak-download-rate, --soak-links-per-second, --soak-files, --soak-initial-links and --soak-sample-every must be positive"))
	}
	return errors.Join(errs...)
}

func (c soakConfig) duration() time.Duration { return time.Duration(c.minutes * float64(time.Minute)) }

func (c soakConfig) warmupFor() time.Duration {
	if c.warmup > 0 {
		return c.warmup
	}
	// A sixth of the run, but at least the time the churned links take to reach their
	// steady number (each lives at most 2 minutes), and at most half of the run.
	return min(max(c.duration()/6, 150*time.Second), 5*time.Minute, c.duration()/2)
}

// soakLink is one link the soak created and what it has planned for it.
type soakLink struct {
	name      string
	file      int
	created   time.Time
	expiresAt time.Time // zero: never
	deleteAt  time.Time // zero: kept to the end
	deleted   time.Time // zero: not yet
}

// soakReplica is one manager process and its samples.
type soakReplica struct {
	name    string
	mgr     *framework.Manager
	samples []resourceSample
	// answers counts the downloads it answered, by what was expected.
	answers map[string]*answerCount
}

type resourceSample struct {
	at         time.Time
	rss        int64
	fds        int
	heap       float64 // go_memstats_heap_alloc_bytes
	goroutines float64
	leader     bool
}

type answerCount struct {
	ok, wrong atomic.Int64
}

// handover is one move of the lease.
type handover struct {
	at       time.Time
	from, to string // replica names
	took     time.Duration
	err      error
}

type soak struct {
	b        *bench
	cfg      soakConfig
	start    time.Time
	replicas []*soakReplica
	contents [][]byte
	client   *http.Client

	mu        sync.Mutex
	links     map[string]*soakLink
	next      int
	handovers []handover
	wrongs    []string // the first wrong answers, for the report
	// served counts the 200s each link answered the harness, the only downloader; with
	// the download ledger, status.downloads must end equal to it (SPEC §13).
	served map[string]int64
	// ledger: the manager has the download ledger (its --help lists --download-ledger).
	ledger bool
}

func runSoak(ctx context.Context, cfg config) error {
	var cleanups cleanupStack
	defer cleanups.run()
	rep := newReport(ctx, cfg)
	b, err := newBench(ctx, cfg, &cleanups, rep)
	if err != nil {
		return err
	}
	s := &soak{b: b, cfg: cfg.soak, links: map[string]*soakLink{}, served: map[string]int64{}, ledger: managerHasFlag(ctx, cfg.manager, "download-ledger"),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: soakWorkers, DisableCompression: true}}}
	defer s.client.CloseIdleConnections()
	if err := s.startReplicas(ctx, &cleanups); err != nil {
		return err
	}
	if err := s.createFiles(ctx); err != nil {
		return err
	}
	b.logf("soak: %d initial links", s.cfg.initialLinks)
	if err := parallel(ctx, b.cfg.workers, s.cfg.initialLinks, func(ctx context.Context, _ int) error {
		return s.createLink(ctx, false)
	}); err != nil {
		return err
	}
	if _, err := b.tracker.waitReady(ctx, nsSoak, s.cfg.initialLinks, readyTimeout(s.cfg.initialLinks), s.alive); err != nil {
		return err
	}

	s.start = time.Now()
	end := s.start.Add(s.cfg.duration())
	b.logf("soak: running until %s (%s)", end.Format(time.TimeOnly), s.cfg.duration())
	runCtx, stop := context.WithDeadline(ctx, end)
	var wg sync.WaitGroup
	wg.Go(func() { s.churn(runCtx) })
	wg.Go(func() { s.deletions(runCtx) })
	wg.Go(func() { s.downloads(runCtx) })
	wg.Go(func() { s.sample(runCtx) })
	wg.Go(func() { s.moveLeases(runCtx) })
	wg.Go(func() {
		// A replica that exits ends the soak early; the report says so.
		_ = framework.Poll(runCtx, time.Second, s.alive, func(context.Context) (bool, error) { return false, nil })
		stop()
	})
	wg.Wait()
	stop()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted (%w); %s not written", context.Cause(ctx), s.cfg.results)
	}
	ran := time.Since(s.start)
	b.logf("soak: load stopped after %s; checking every link's final status", ran.Round(time.Second))
	final := s.checkFinal(ctx)
	doc := s.markdown(ran, final)
	fmt.Println()
	fmt.Print(doc)
	if err := os.MkdirAll(filepath.Dir(s.cfg.results), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(s.cfg.results, []byte(doc), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwritten to %s\n", s.cfg.results)
	return nil
}

// alive fails once either replica has exited.
func (s *soak) alive() error {
	for _, r := range s.replicas {
		if err := r.mgr.Exited(); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	return nil
}

// startReplicas starts two leader-electing managers with their metrics endpoints on,
// the first taking the lease before the second starts.
func (s *soak) startReplicas(ctx context.Context, cleanups *cleanupStack) error {
	b := s.b
	var base string
	for i := range 2 {
		mcfg, err := b.cluster.ManagerConfig(b.cfg.manager, filepath.Join(b.tmp, fmt.Sprintf("replica-%d.log", i)))
		if err != nil {
			return err
		}
		// Both replicas issue URLs under one public base, as behind one Service.
		if base == "" {
			base = "http://" + mcfg.LinkAddr
		}
		mcfg.LinkBaseURL = base
		mcfg.Args = append(splitArgs(b.cfg.managerArgs), "--leader-elect")
		if managerHasFlag(ctx, b.cfg.manager, "audit-log") {
			// The audit log (SPEC §13) stays on, in a file of its own: in the manager's
			// log, where the harness looks for lease acquisitions, it would be read
			// whole again and again.
			mcfg.Args = append(mcfg.Args, "--audit-log="+filepath.Join(b.tmp, fmt.Sprintf("replica-%d.audit.log", i)))
		}
		mcfg.Env = splitArgs(b.cfg.managerEnv)
		r := &soakReplica{name: fmt.Sprintf("replica-%d", i), mgr: framework.NewManager(mcfg), answers: map[string]*answerCount{}}
		for _, k := range []string{"live", "expired", "deleted"} {
			r.answers[k] = &answerCount{}
		}
		s.replicas = append(s.replicas, r)
		cleanups.push(func() { _ = r.mgr.Stop(30 * time.Second) })
		if err := r.mgr.Start(ctx); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		if i == 0 {
			if err := framework.Poll(ctx, 50*time.Millisecond, r.mgr.Exited, func(context.Context) (bool, error) {
				return r.mgr.LogContains("Successfully acquired lease"), nil
			}); err != nil {
				return fmt.Errorf("the first replica never led: %w", err)
			}
		}
	}
	b.logf("soak: two replicas running, %s leads", s.replicas[0].name)
	return nil
}

// createFiles creates the Files every soak link points to, each of its own bytes.
func (s *soak) createFiles(ctx context.Context) error {
	c := s.b.clients.ctrl
	s.contents = make([][]byte, s.cfg.files)
	for i := range s.cfg.files {
		s.contents[i] = make([]byte, soakContentBytes)
		if _, err := rand.Read(s.contents[i]); err != nil {
			return err
		}
		if err := create(ctx, c, newSecret(nsSoak, i, s.contents[i])); err != nil {
			return err
		}
		if err := create(ctx, c, newFile(nsSoak, i, i)); err != nil {
			return err
		}
	}
	return s.b.waitFilesReady(ctx, nsSoak, s.cfg.files)
}

// createLink creates one link with its fate: with churn, half expire 20–80 s later and
// are deleted 10–40 s after that, the other half are deleted while live 20–100 s later;
// without, it lives to the end.
func (s *soak) createLink(ctx context.Context, churn bool) error {
	now := time.Now()
	s.mu.Lock()
	l := &soakLink{name: fmt.Sprintf("soak-%06d", s.next), file: s.next % s.cfg.files, created: now}
	s.next++
	s.mu.Unlock()
	if churn {
		if mathrand.IntN(2) == 0 {
			l.expiresAt = now.Add(time.Duration(20+mathrand.IntN(60)) * time.Second).Truncate(time.Second)
			l.deleteAt = l.expiresAt.Add(time.Duration(10+mathrand.IntN(30)) * time.Second)
		} else {
			l.deleteAt = now.Add(time.Duration(20+mathrand.IntN(80)) * time.Second)
		}
	}
	var at *time.Time
	if !l.expiresAt.IsZero() {
		at = &l.expiresAt
	}
	if err := create(ctx, s.b.clients.ctrl, framework.Link(nsSoak, l.name, fileName(l.file), at)); err != nil {
		return err
	}
	s.mu.Lock()
	s.links[l.name] = l
	s.mu.Unlock()
	return nil
}

// churn creates links at --soak-links-per-second until ctx ends.
func (s *soak) churn(ctx context.Context) {
	t := time.NewTicker(time.Duration(float64(time.Second) / s.cfg.linksPerSecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.createLink(ctx, true); err != nil && ctx.Err() == nil {
			s.b.logf("soak: creating a link: %v", err)
		}
	}
}

// deletions deletes each link once its time has come.
func (s *soak) deletions(ctx context.Context) {
	for ctx.Err() == nil {
		now := time.Now()
		var due []*soakLink
		s.mu.Lock()
		for _, l := range s.links {
			if l.deleted.IsZero() && !l.deleteAt.IsZero() && !l.deleteAt.After(now) {
				due = append(due, l)
			}
		}
		s.mu.Unlock()
		for _, l := range due {
			err := s.b.clients.ctrl.Delete(ctx, framework.Link(nsSoak, l.name, "", nil))
			if err != nil && !apierrors.IsNotFound(err) {
				if ctx.Err() == nil {
					s.b.logf("soak: deleting %s: %v", l.name, err)
				}
				continue
			}
			s.mu.Lock()
			l.deleted = time.Now()
			s.mu.Unlock()
		}
		_ = framework.Sleep(ctx, 250*time.Millisecond)
	}
}

// downloadJob is one download: a URL path, from which replica, what it must answer.
type downloadJob struct {
	replica *soakReplica
	link    *soakLink
	kind    string // live, expired, deleted
	url     string
}

// downloads makes --soak-download-rate downloads a second, alternating between the
// replicas: mostly of live links (200 with the File's bytes), one in ten of an expired
// link (410) and one in ten of a deleted one (404).
func (s *soak) downloads(ctx context.Context) {
	jobs := make(chan downloadJob, soakWorkers)
	var wg sync.WaitGroup
	for range soakWorkers {
		wg.Go(func() {
			for j := range jobs {
				s.download(ctx, j)
			}
		})
	}
	t := time.NewTicker(time.Second / time.Duration(s.cfg.downloadRate))
	defer t.Stop()
	var n int
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			j, ok := s.pick(n)
			n++
			if !ok {
				continue
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
}

func (s *soak) pick(n int) (downloadJob, bool) {
	now := time.Now()
	r := s.replicas[n%len(s.replicas)]
	want := "live"
	switch mathrand.IntN(10) {
	case 0:
		want = "expired"
	case 1:
		want = "deleted"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var live, expired, deleted []*soakLink
	for _, l := range s.links {
		switch {
		case !l.deleted.IsZero():
			if now.Sub(l.deleted) > soakGrace {
				deleted = append(deleted, l)
			}
		case !l.deleteAt.IsZero() && l.deleteAt.Sub(now) < soakGrace:
			// About to go: neither live nor gone.
		case !l.expiresAt.IsZero() && !l.expiresAt.After(now):
			expired = append(expired, l)
		case l.expiresAt.IsZero() || l.expiresAt.Sub(now) > soakGrace:
			live = append(live, l)
		}
	}
	pool := map[string][]*soakLink{"live": live, "expired": expired, "deleted": deleted}[want]
	if len(pool) == 0 {
		want, pool = "live", live
	}
	// A link is held to its answer only once the harness's watch has seen it Ready a
	// grace period ago, so each replica's caches have had the time to see it too.
	for range 8 {
		if len(pool) == 0 {
			return downloadJob{}, false
		}
		l := pool[mathrand.IntN(len(pool))]
		readyAt, url, ok := s.b.tracker.link(nsSoak, l.name)
		if !ok || now.Sub(readyAt) < soakGrace {
			continue
		}
		path := url[strings.Index(url, "/links/"):]
		return downloadJob{replica: r, link: l, kind: want, url: "http://" + r.mgr.LinkAddr + path}, true
	}
	return downloadJob{}, false
}

func (s *soak) download(ctx context.Context, j downloadJob) {
	code, body, err := fetchAll(ctx, s.client, j.url)
	if ctx.Err() != nil {
		return
	}
	want := map[string]int{"live": http.StatusOK, "expired": http.StatusGone, "deleted": http.StatusNotFound}[j.kind]
	ok := err == nil && code == want && (want != http.StatusOK || bytes.Equal(body, s.contents[j.link.file]))
	c := j.replica.answers[j.kind]
	if ok {
		c.ok.Add(1)
		if code == http.StatusOK {
			s.mu.Lock()
			s.served[j.link.name]++
			s.mu.Unlock()
		}
		return
	}
	c.wrong.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.wrongs) < 20 {
		what := fmt.Sprintf("status %d", code)
		if err != nil {
			what = err.Error()
		} else if code == want {
			what = "wrong bytes"
		}
		s.wrongs = append(s.wrongs, fmt.Sprintf("%s at +%.1f s: %s link %s (expiresAt %s) answered %s, want %d",
			j.replica.name, time.Since(s.start).Seconds(), j.kind, j.link.name, fmtTime(j.link.expiresAt), what, want))
	}
}

func fetchAll(ctx context.Context, c *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.TimeOnly)
}

// sample reads every replica's resources every --soak-sample-every.
func (s *soak) sample(ctx context.Context) {
	t := time.NewTicker(s.cfg.sampleEvery)
	defer t.Stop()
	for {
		leader := s.leaderName(ctx)
		for _, r := range s.replicas {
			if x, err := readResources(ctx, r.mgr); err == nil {
				x.leader = r.name == leader
				s.mu.Lock()
				r.samples = append(r.samples, x)
				s.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readResources reads VmRSS and the open descriptors of m from /proc, and its Go heap
// and goroutines from its metrics endpoint.
func readResources(ctx context.Context, m *framework.Manager) (resourceSample, error) {
	x := resourceSample{at: time.Now()}
	pid := m.PID()
	if pid == 0 {
		return x, errors.New("not running")
	}
	var err error
	if x.rss, _, err = memoryBytes(pid); err != nil {
		return x, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return x, err
	}
	x.fds = len(fds)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.MetricsAddr+"/metrics", nil)
	if err != nil {
		return x, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return x, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return x, err
	}
	gauge := func(name string) float64 {
		if f := families[name]; f != nil && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
		return 0
	}
	x.heap, x.goroutines = gauge("go_memstats_heap_alloc_bytes"), gauge("go_goroutines")
	return x, nil
}

// leaderName is the replica whose log says it acquired the lease last; "" while the
// harness holds it. Both replicas run on one host, so the Lease's holder identities
// (hostname_uuid) do not say which process holds it; the logs do.
func (s *soak) leaderName(ctx context.Context) string {
	lease, err := s.b.clients.kube.CoordinationV1().Leases(leaseNamespace).Get(ctx, leaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == soakHolder {
		return ""
	}
	best, bestAt := "", time.Time{}
	for _, r := range s.replicas {
		if at := lastAcquired(r.mgr.LogPath); at.After(bestAt) {
			best, bestAt = r.name, at
		}
	}
	return best
}

// lastAcquired is the time the manager logged on the last "Successfully acquired
// lease" line of its log (JSON lines with an RFC 3339 "ts").
func lastAcquired(path string) time.Time {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	i := bytes.LastIndex(data, []byte("Successfully acquired lease"))
	if i < 0 {
		return time.Time{}
	}
	line := data[bytes.LastIndexByte(data[:i], '\n')+1:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	var entry struct {
		TS string `json:"ts"`
	}
	if json.Unmarshal(line, &entry) != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, entry.TS)
	if err != nil {
		return time.Time{}
	}
	return t
}

// moveLeases moves the lease every --soak-handover-every.
func (s *soak) moveLeases(ctx context.Context) {
	t := time.NewTicker(s.cfg.handoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := s.moveLease(ctx)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.handovers = append(s.handovers, h)
		s.mu.Unlock()
		if h.err != nil {
			s.b.logf("soak: moving the lease: %v", h.err)
		} else {
			s.b.logf("soak: lease moved from %s to %s in %.1f s", h.from, h.to, h.took.Seconds())
		}
	}
}

// moveLease takes the lease from its holder without stopping any process: the harness
// writes itself into the Lease as holder for --soak-lease-hold. The leader's next renew
// finds the lease held by another, it keeps trying until its renew deadline, then its
// reconcilers stop (the process keeps serving, SPEC §5, and campaigns again, as after any
// lost lease). A standby saw the harness's record at once, so its view of the record's
// expiry comes first, and it acquires the lease when the hold ends. Because the hold is
// longer than the renew deadline, the old leader has stepped down before: never two
// leaders at once. This is what happens to a leader that cannot renew in time (a stalled
// or partitioned leader), made to happen on a schedule.
func (s *soak) moveLease(ctx context.Context) handover {
	h := handover{at: time.Now(), from: s.leaderName(ctx)}
	leases := s.b.clients.kube.CoordinationV1().Leases(leaseNamespace)
	// The leader renews every retry period: an update between our read and our write
	// is a conflict, and the move is tried again on a fresh read.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := leases.Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" || h.from == "" {
			return errors.New("no replica holds the lease")
		}
		now := metav1.NewMicroTime(time.Now())
		holder, secs := soakHolder, int32((s.cfg.leaseHold+time.Second-1)/time.Second)
		transitions := int32(1)
		if lease.Spec.LeaseTransitions != nil {
			transitions += *lease.Spec.LeaseTransitions
		}
		lease.Spec = coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now, LeaseTransitions: &transitions}
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		h.err = fmt.Errorf("taking the lease: %w", err)
		return h
	}
	taken := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, s.cfg.leaseHold+time.Minute)
	defer cancel()
	err = framework.Poll(waitCtx, 100*time.Millisecond, s.alive, func(ctx context.Context) (bool, error) {
		l, err := leases.Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		id := l.Spec.HolderIdentity
		return id != nil && *id != "" && *id != soakHolder, nil
	})
	if err != nil {
		h.err = fmt.Errorf("no replica took the lease after the harness's hold: %w", err)
		return h
	}
	h.took = time.Since(taken)
	// The new leader's log line may trail its Lease write by a moment.
	logCtx, cancelLog := context.WithTimeout(ctx, 5*time.Second)
	defer cancelLog()
	_ = framework.Poll(logCtx, 50*time.Millisecond, nil, func(ctx context.Context) (bool, error) {
		h.to = s.leaderName(ctx)
		return h.to != "" && h.to != h.from, nil
	})
	return h
}

// managerHasFlag reports whether the manager binary lists --name in its --help.
func managerHasFlag(ctx context.Context, bin, name string) bool {
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	return bytes.Contains(out, []byte("-"+name+" ")) || bytes.Contains(out, []byte("-"+name+"\n")) || bytes.Contains(out, []byte("-"+name+"="))
}

// linkCheck is the final status of the links.
type linkCheck struct {
	created, expired, deleted, kept int
	readyLatencies                  []time.Duration
	neverReady                      int
	wrong                           []string
}

// checkFinal waits, for at most a minute, until every link the soak created and did not
// delete has the status its spec calls for, and every deleted one is gone.
func (s *soak) checkFinal(ctx context.Context) linkCheck {
	var res linkCheck
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_ = framework.Poll(waitCtx, time.Second, nil, func(ctx context.Context) (bool, error) {
		res = s.finalOnce(ctx)
		return len(res.wrong) == 0, nil
	})
	return res
}

func (s *soak) finalOnce(ctx context.Context) linkCheck {
	var res linkCheck
	list := &filelinkv1.FileLinkList{}
	if err := s.b.clients.ctrl.List(ctx, list, client.InNamespace(nsSoak)); err != nil {
		res.wrong = append(res.wrong, "listing: "+err.Error())
		return res
	}
	byName := map[string]*filelinkv1.FileLink{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range s.links {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		l := s.links[name]
		res.created++
		if readyAt, _, ok := s.b.tracker.link(nsSoak, name); ok {
			res.readyLatencies = append(res.readyLatencies, readyAt.Sub(l.created))
		} else if l.expiresAt.IsZero() || l.expiresAt.Sub(l.created) > 5*time.Second {
			res.neverReady++
		}
		got := byName[name]
		switch {
		case !l.deleted.IsZero():
			res.deleted++
			if got != nil {
				res.wrong = append(res.wrong, name+": deleted but still present")
			}
		case got == nil:
			res.wrong = append(res.wrong, name+": missing, never deleted")
		default:
			if why := wrongStatus(got, l, now); why != "" {
				res.wrong = append(res.wrong, name+": "+why)
			} else if s.ledger && got.Status.Downloads != s.served[name] {
				res.wrong = append(res.wrong, fmt.Sprintf("%s: status.downloads %d, the harness was served %d", name, got.Status.Downloads, s.served[name]))
			}
			if !l.expiresAt.IsZero() && !l.expiresAt.After(now) {
				res.expired++
			} else {
				res.kept++
			}
		}
	}
	return res
}

// wrongStatus says what is wrong with a present link's status, "" when nothing is.
func wrongStatus(got *filelinkv1.FileLink, l *soakLink, now time.Time) string {
	ready := meta.FindStatusCondition(got.Status.Conditions, filelinkv1.ConditionReady)
	if got.Status.ObservedGeneration != got.Generation {
		return fmt.Sprintf("observedGeneration %d of generation %d", got.Status.ObservedGeneration, got.Generation)
	}
	if ready == nil || ready.Status != metav1.ConditionTrue {
		return "not Ready"
	}
	if !l.expiresAt.IsZero() && !l.expiresAt.After(now) {
		if !got.Status.Expired || ready.Reason != filelinkv1.ReasonExpired {
			return fmt.Sprintf("expiresAt %s passed, status.expired=%v, Ready reason %s", fmtTime(l.expiresAt), got.Status.Expired, ready.Reason)
		}
		return ""
	}
	if got.Status.Expired || ready.Reason != filelinkv1.ReasonActive || got.Status.URL == "" {
		return fmt.Sprintf("live, but status.expired=%v, Ready reason %s, url set %v", got.Status.Expired, ready.Reason, got.Status.URL != "")
	}
	return ""
}
