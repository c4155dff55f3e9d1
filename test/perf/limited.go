package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// Rows 8 and 9 (SPEC §13): download limits and the download ledger. They speak to the
// API in JSON field names (spec.maxDownloads, status.downloads, status.lastDownloadedAt)
// through unstructured objects, so they build whatever the Go types hold, and say so
// plainly when the control plane's CRD or the manager lacks the feature.

// limitedWarmup links are patched, untimed, before the bare client's timed patches.
const limitedWarmup = 200

var fileLinkGVK = schema.GroupVersionKind{Group: "filelink.dev", Version: "v1alpha1", Kind: "FileLink"}

// errNoLimits means the FileLink CRD has no spec.maxDownloads: the API server pruned it.
var errNoLimits = errors.New("the FileLink CRD of this build has no spec.maxDownloads (the API server pruned it): SPEC §13's download limits are not in this tree yet")

// limitedLink is a FileLink of maxDownloads: max to File file, as unstructured JSON.
func limitedLink(ns, name, file string, maxDownloads int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec":     map[string]any{"file": file},
	}}
	if maxDownloads > 0 {
		u.Object["spec"].(map[string]any)["maxDownloads"] = maxDownloads
	}
	u.SetGroupVersionKind(fileLinkGVK)
	return u
}

// createLimitedLinks creates links 0..n-1 of maxDownloads 1 to File 0 of ns, and fails
// with errNoLimits when the first comes back without its limit.
func (b *bench) createLimitedLinks(ctx context.Context, ns string, n int) ([]*unstructured.Unstructured, error) {
	c := b.clients.ctrl
	links := make([]*unstructured.Unstructured, n)
	links[0] = limitedLink(ns, linkName(0), fileName(0), 1)
	if err := create(ctx, c, links[0]); err != nil {
		return nil, err
	}
	if _, found, _ := unstructured.NestedInt64(links[0].Object, "spec", "maxDownloads"); !found {
		return nil, errNoLimits
	}
	err := parallel(ctx, b.cfg.workers, n-1, func(ctx context.Context, i int) error {
		links[i+1] = limitedLink(ns, linkName(i+1), fileName(0), 1)
		return create(ctx, c, links[i+1])
	})
	return links, err
}

// limitedProfileSeconds covers, with --profile-dir, the downloads of row 8 and the
// reconciler's status writes they cause.
const limitedProfileSeconds = 5

// measureLimited is row 8: --limited-n links of maxDownloads 1, each requested
// --limited-attempts times by different connections at about the same moment (its
// requests are queued next to each other), --limited-conns connections in all. Every
// link must be served exactly once and answer 410 otherwise; the rate of downloads
// served is held against a bare client's compare-and-swap status patches (the least a
// reservation costs the API server), measured in the same run with the manager stopped.
func (b *bench) measureLimited(ctx context.Context) error {
	n := b.cfg.limitedN
	casRate, err := b.measureCASBaseline(ctx, n)
	if errors.Is(err, errNoLimits) {
		b.reportNoLimits("8", err)
		return b.ensureManager(ctx)
	}
	if err != nil {
		return err
	}
	if err := b.ensureManager(ctx); err != nil {
		return err
	}
	c, ns := b.clients.ctrl, nsLimited
	content := smallContent(ns, 0)
	if err := create(ctx, c, newSecret(ns, 0, content)); err != nil {
		return err
	}
	if err := create(ctx, c, newFile(ns, 0, 0)); err != nil {
		return err
	}
	if err := b.waitFilesReady(ctx, ns, 1); err != nil {
		return err
	}
	b.logf("limited links: creating %d links of maxDownloads 1", n)
	if _, err := b.createLimitedLinks(ctx, ns, n); err != nil {
		return err
	}
	if _, err := b.tracker.waitReady(ctx, ns, n, readyTimeout(n), b.mgr.Exited); err != nil {
		return err
	}
	if _, err := b.mgr.WaitQuiet(ctx, 3*time.Minute); err != nil {
		return err
	}
	urls := make([]string, n)
	for i := range n {
		_, urls[i], _ = b.tracker.link(ns, linkName(i))
	}

	ph := b.beginPhase(ctx, "limited links (every link requested by several connections at once)")
	b.logf("limited links: %d requests per link over %d connections", b.cfg.limitedAttempts, b.cfg.limitedConns)
	profiled := b.captureCPU(ctx, "limited", limitedProfileSeconds)
	res := consumeLinks(ctx, urls, b.cfg.limitedAttempts, b.cfg.limitedConns, content)
	ph.end(ctx)
	if err := profiled(); err != nil {
		return err
	}
	counts, countErr := b.downloadCounts(ctx, ns, n)
	b.reportLimited(res, casRate, counts, countErr)
	return nil
}

// measureCASBaseline creates n FileLinks with the manager stopped and times one
// compare-and-swap merge patch of each one's status (status.downloads and
// status.lastDownloadedAt, with metadata.resourceVersion as the precondition), on
// --limited-conns workers. The objects are deleted before the manager starts again.
func (b *bench) measureCASBaseline(ctx context.Context, n int) (float64, error) {
	if err := b.mgr.Stop(30 * time.Second); err != nil {
		return 0, err
	}
	c, ns := b.clients.ctrl, nsLimitedBase
	defer func() {
		_ = deleteAllOf(ctx, c, limitedLink(ns, "", "", 0), ns)
		_ = b.tracker.waitGone(ctx, ns, time.Minute)
	}()
	b.logf("limited links: bare client, %d links and one compare-and-swap status patch each (%d workers)", n, b.cfg.limitedConns)
	// The first requests of a kind pay for the API server's cold caches and compiled
	// schemas; a few hundred links more are patched first, untimed.
	warm := min(n, limitedWarmup)
	all, err := b.createLimitedLinks(ctx, ns, warm+n)
	if err != nil {
		return 0, err
	}
	patch := func(links []*unstructured.Unstructured) error {
		return parallel(ctx, b.cfg.limitedConns, len(links), func(ctx context.Context, i int) error {
			body, err := json.Marshal(map[string]any{
				"metadata": map[string]any{"resourceVersion": links[i].GetResourceVersion()},
				"status":   map[string]any{"downloads": 1, "lastDownloadedAt": time.Now().UTC().Format(time.RFC3339)},
			})
			if err != nil {
				return err
			}
			return c.Status().Patch(ctx, links[i], client.RawPatch(types.MergePatchType, body))
		})
	}
	if err := patch(all[:warm]); err != nil {
		return 0, err
	}
	links := all[warm:]
	ph := b.beginPhase(ctx, "limited links: bare client's compare-and-swap status patches (no manager)")
	start := time.Now()
	err = patch(links)
	elapsed := time.Since(start)
	ph.end(ctx)
	if err != nil {
		return 0, err
	}
	if _, found, _ := unstructured.NestedInt64(links[0].Object, "status", "downloads"); !found {
		return 0, errors.New("the FileLink CRD of this build has no status.downloads (the API server pruned it)")
	}
	r := rate(n, elapsed)
	b.rep.note(fmt.Sprintf("limited links, bare client (manager stopped): %d compare-and-swap merge patches of FileLink status (downloads, lastDownloadedAt; resourceVersion precondition) on %d workers in %.2f s: %.0f patches/s",
		n, b.cfg.limitedConns, elapsed.Seconds(), r))
	return r, nil
}

// consumeResult is what the connections got, per link.
type consumeResult struct {
	elapsed time.Duration
	served  []int32 // 200s with the right bytes, per link
	gone    []int32 // 410s, per link
	other   atomic.Int64
	mu      sync.Mutex
	firstEr string
}

// consumeLinks requests each URL attempts times, the requests for one link next to each
// other in one queue that conns workers take from, so that they race.
func consumeLinks(ctx context.Context, urls []string, attempts, conns int, want []byte) *consumeResult {
	res := &consumeResult{served: make([]int32, len(urls)), gone: make([]int32, len(urls))}
	tr := &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	total := len(urls) * attempts
	start := time.Now()
	_ = parallel(ctx, conns, total, func(ctx context.Context, k int) error {
		i := k / attempts
		code, body, err := fetchAll(ctx, hc, urls[i])
		switch {
		case err == nil && code == http.StatusOK && bytes.Equal(body, want):
			atomic.AddInt32(&res.served[i], 1)
		case err == nil && code == http.StatusGone:
			atomic.AddInt32(&res.gone[i], 1)
		default:
			res.other.Add(1)
			res.mu.Lock()
			if res.firstEr == "" {
				res.firstEr = fmt.Sprintf("%s: status %d, error %v", linkName(i), code, err)
			}
			res.mu.Unlock()
		}
		return nil
	})
	res.elapsed = time.Since(start)
	return res
}

// limitCounts is what the FileLinks of row 8 say after the run: how many links hold
// each status.downloads, and how many are Ready with reason DownloadLimitReached.
type limitCounts struct {
	downloads map[int64]int
	reached   int
}

// downloadCounts reads the links of ns once they have settled: the reconciler sets the
// DownloadLimitReached reason after the count reached the limit, so while every count
// is in but not every reason, it waits for them, at most half a minute.
func (b *bench) downloadCounts(ctx context.Context, ns string, n int) (limitCounts, error) {
	var res limitCounts
	var err error
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = framework.Poll(waitCtx, 500*time.Millisecond, nil, func(ctx context.Context) (bool, error) {
		res, err = b.readLimitCounts(ctx, ns, n)
		return err != nil || res.downloads[1] != n || res.reached == n, nil
	})
	return res, err
}

func (b *bench) readLimitCounts(ctx context.Context, ns string, n int) (limitCounts, error) {
	res := limitCounts{downloads: map[int64]int{}}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(fileLinkGVK.GroupVersion().WithKind("FileLinkList"))
	if err := b.clients.ctrl.List(ctx, list, client.InNamespace(ns)); err != nil {
		return res, err
	}
	for _, l := range list.Items {
		d, _, _ := unstructured.NestedInt64(l.Object, "status", "downloads")
		res.downloads[d]++
		conditions, _, _ := unstructured.NestedSlice(l.Object, "status", "conditions")
		for _, c := range conditions {
			if m, ok := c.(map[string]any); ok && m["type"] == "Ready" && m["status"] == "True" && m["reason"] == "DownloadLimitReached" {
				res.reached++
			}
		}
	}
	if len(list.Items) != n {
		return res, fmt.Errorf("%d links listed, %d created", len(list.Items), n)
	}
	return res, nil
}

func (b *bench) reportLimited(res *consumeResult, casRate float64, lc limitCounts, countErr error) {
	counts := lc.downloads
	n := len(res.served)
	var served, past, never, gone int
	for i := range n {
		s := int(res.served[i])
		served += s
		gone += int(res.gone[i])
		switch {
		case s > 1:
			past += s - 1
		case s == 0:
			never++
		}
	}
	dps := rate(served, res.elapsed)
	r := ratio(dps, casRate)
	statusNote := fmt.Sprintf("status.downloads after the run: %s; %d of %d Ready with reason DownloadLimitReached", describeCounts(counts), lc.reached, n)
	if countErr != nil {
		statusNote += " (" + countErr.Error() + ")"
	}
	exact := past == 0 && never == 0 && res.other.Load() == 0 && gone == n*(b.cfg.limitedAttempts-1) && counts[1] == n
	result := fmt.Sprintf("%d served in %.2f s → **%.0f downloads/s**; bare client's compare-and-swap status patches %.0f/s → **ratio %.2f**; **%d served past a limit**, %d links never served, %d × 410, %d other answers; %s",
		served, res.elapsed.Seconds(), dps, casRate, r, past, never, gone, res.other.Load(), statusNote)
	if res.firstEr != "" {
		result += "; first other answer: " + res.firstEr
	}
	if counts[0] == n && served > n {
		// Not a race lost now and then: the server serves limited links as unlimited.
		result = "**this build's link server does not enforce spec.maxDownloads** (no link's status.downloads moved from 0): " + result
	}
	b.rep.set(row{id: "8",
		what: fmt.Sprintf("Limited links: %d links of maxDownloads 1, each requested %d times at once, %d connections; every link served exactly once, 410 otherwise",
			n, b.cfg.limitedAttempts, b.cfg.limitedConns),
		result: result,
		target: "≥ 0.8 × a bare client's compare-and-swap status patches/s; 0 served past a limit",
		status: verdict(casRate > 0, r >= 0.8 && exact),
	})
}

func describeCounts(counts map[int64]int) string {
	var parts []string
	for d := int64(0); d <= 3; d++ {
		if counts[d] > 0 {
			parts = append(parts, fmt.Sprintf("%d links at %d", counts[d], d))
		}
	}
	for d, k := range counts {
		if d > 3 || d < 0 {
			parts = append(parts, fmt.Sprintf("%d links at %d", k, d))
		}
	}
	return strings.Join(parts, ", ")
}

// reportNoLimits marks a limits row as not measured, saying why.
func (b *bench) reportNoLimits(id string, err error) {
	for _, o := range rowOrder {
		if o.id == id {
			b.rep.set(row{id: id, what: o.what, target: o.target, status: notMeasured, result: "**not measured**: " + err.Error()})
		}
	}
	b.logf("row %s not measured: %v", id, err)
}

// measureLedger is row 9: row 3's wrk load against two replicas of the same build, one
// with the download ledger on (the default) and one with --download-ledger=false, in
// alternating rounds, the best of each counting. Both run with --leader-elect, so one
// reconciles (idle by then) and both serve the same link from the same caches.
func (b *bench) measureLedger(ctx context.Context) error {
	wrk := wrkPath()
	if wrk == "" {
		fmt.Fprintln(os.Stderr, "wrk not found: apt-get install wrk")
		b.reportNoLimits("9", errors.New("wrk not found (apt-get install wrk)"))
		return nil
	}
	if err := b.ensureManager(ctx); err != nil {
		return err
	}
	if b.loadURL == "" {
		data := make([]byte, b.cfg.fileBytes)
		copy(data, bytes.Repeat([]byte("ledger "), len(data)/7+1))
		if _, err := b.loadLinkURL(ctx, data); err != nil {
			return err
		}
	}
	path := b.loadURL[strings.Index(b.loadURL, "/links/"):]
	// The bench's manager does not campaign; running, it would reconcile too.
	if err := b.mgr.Stop(30 * time.Second); err != nil {
		return err
	}
	defer func() { _ = b.ensureManager(ctx) }()
	var targets []*loadTarget
	for _, mode := range []string{"on", "off"} {
		mcfg, err := b.cluster.ManagerConfig(b.cfg.manager, filepath.Join(b.tmp, "ledger-"+mode+".log"))
		if err != nil {
			return err
		}
		mcfg.MetricsAddr, mcfg.LinkBaseURL = "0", b.mgr.LinkBaseURL
		if mcfg.LinkBaseURL == "" {
			mcfg.LinkBaseURL = "http://" + b.mgr.LinkAddr
		}
		mcfg.Args = append(splitArgs(b.cfg.managerArgs), "--leader-elect", "--download-ledger="+map[string]string{"on": "true", "off": "false"}[mode])
		mcfg.Env = splitArgs(b.cfg.managerEnv)
		m := framework.NewManager(mcfg)
		defer func() { _ = m.Stop(30 * time.Second) }()
		if err := m.Start(ctx); err != nil {
			if m.LogContains("flag provided but not defined") {
				b.reportNoLimits("9", errors.New("the manager has no --download-ledger flag: SPEC §13's download ledger is not in this build yet"))
				return nil
			}
			return fmt.Errorf("replica with the ledger %s: %w", mode, err)
		}
		if _, err := m.WaitQuiet(ctx, 3*time.Minute); err != nil {
			return err
		}
		targets = append(targets, &loadTarget{name: "ledger " + mode, url: "http://" + m.LinkAddr + path, pid: m.PID()})
	}
	ph := b.beginPhase(ctx, "ledger on vs off (all rounds)")
	for round := 1; round <= b.cfg.httpRounds; round++ {
		for _, t := range targets {
			if err := t.warmUp(ctx, b.cfg.conns, b.loadData); err != nil {
				return err
			}
			res, err := t.measureWrk(ctx, wrk, b.cfg.conns, b.cfg.wrkDuration)
			if err != nil {
				return err
			}
			b.logf("ledger: wrk round %d %-10s %8.0f req/s  p50 %v  p99 %v", round, t.name, res.rps(), res.p50, res.p99)
		}
	}
	ph.end(ctx)
	on, off := targets[0], targets[1]
	r := ratio(on.wrk.rps(), off.wrk.rps())
	b.rep.set(row{id: "9",
		what: fmt.Sprintf("Ledger cost: row 3's load (%d-byte file, %d connections, wrk, %s runs, best of %d rounds) on two replicas of the same build, the download ledger on (default) and off (--download-ledger=false)",
			b.cfg.fileBytes, b.cfg.conns, b.cfg.wrkDuration, b.cfg.httpRounds),
		result: fmt.Sprintf("ledger on %.0f req/s (p99 %s, %.1f µs CPU per request); off %.0f req/s (p99 %s, %.1f µs) → **ratio %.2f**",
			on.wrk.rps(), fmtDur(on.wrk.p99), micros(on.wrkServerCPU), off.wrk.rps(), fmtDur(off.wrk.p99), micros(off.wrkServerCPU), r),
		target: "≥ 0.95 × ledger off",
		status: verdict(true, r >= 0.95),
	})
	b.rep.note("ledger: both replicas run with --leader-elect against the same control plane and serve the same link; the one holding the lease also runs the (idle) reconcilers; rounds alternate between them")
	return nil
}
