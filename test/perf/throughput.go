package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// measureThroughput measures row 1 twice, because "created → all Ready" mixes two
// costs that share one API server:
//
//   - reconcile only: N Files and N FileLinks exist before the manager starts; from the
//     manager's start to the last link Ready, it does nothing but reconcile. This is the
//     rate to hold against a bare client's one status patch per object.
//   - end to end: with the manager running, N Files and N FileLinks are created and
//     the clock runs from the first create to the last link Ready. Its bare-client
//     equivalent creates the objects and then patches each one's status.
//
// Both leave their objects in place for the memory and restart rows.
func (b *bench) measureThroughput(ctx context.Context) error {
	if err := b.measureReconcileOnly(ctx); err != nil {
		return err
	}
	if err := b.measureBaselineAgain(ctx); err != nil {
		return err
	}
	b.judgeReconcileOnly()
	if err := b.measureEndToEnd(ctx); err != nil {
		return err
	}
	return b.addLinks(ctx, b.cfg.memoryN-2*b.cfg.n)
}

// populate creates the objects the memory and restart rows need when row 1, which
// leaves them behind, was not selected.
func (b *bench) populate(ctx context.Context) error {
	if b.cfg.selected("1") {
		return nil
	}
	if err := b.ensureManager(ctx); err != nil {
		return err
	}
	return b.addLinks(ctx, b.linkCount())
}

// reconcileProfileSeconds covers, with --profile-dir, the start and the first seconds
// of reconciling: the whole row at SPEC's size on this machine class, a steady stretch
// of it at the scaling curve's larger ones.
const reconcileProfileSeconds = 20

func (b *bench) measureReconcileOnly(ctx context.Context) error {
	c, n, ns := b.clients.ctrl, b.cfg.n, nsReconcile
	b.logf("reconcile only: creating %d Secrets, Files and FileLinks with the manager stopped", n)
	t0 := time.Now()
	if err := createSecrets(ctx, c, b.cfg.workers, ns, n); err != nil {
		return err
	}
	if err := createFilesAndLinks(ctx, c, b.cfg.workers, ns, n); err != nil {
		return err
	}
	created := time.Since(t0)
	b.rep.note(fmt.Sprintf("reconcile only: %d Secrets + %d Files + %d FileLinks created with no manager running in %.1f s (%.0f objects/s)",
		n, n, n, created.Seconds(), rate(3*n, created)))

	ph := b.beginPhase(ctx, "reconcile only (manager start → all Ready)")
	b.logf("reconcile only: starting the manager")
	start := time.Now()
	if err := b.startManager(ctx); err != nil {
		return err
	}
	profiled := b.captureCPU(ctx, "reconcile", reconcileProfileSeconds)
	elapsed, got, err := b.timeUntilReady(ctx, ph, ns, n, start)
	if err != nil {
		return err
	}
	if err := profiled(); err != nil {
		return err
	}
	first := earliest(b.tracker.readyTimes(ns))
	perPair, minimal := managerRequests(ph.requests, n)
	b.rep.note(fmt.Sprintf("reconcile only: manager start → first link Ready %.2f s, → last %.2f s; %.2f status writes per FileLink; API requests per File+link pair: %s",
		first.Sub(start).Seconds(), elapsed.Seconds(), float64(b.tracker.writes(ns))/float64(n), perPair))
	b.logf("reconcile only: %d objects Ready in %.1f s (%.0f/s)", 2*n, elapsed.Seconds(), got)
	b.reconcileOnly = reconcileOnlyResult{rate: got, elapsed: elapsed, counted: ph.requests != nil, minimal: minimal}
	return nil
}

// reconcileOnlyResult is row 1a's measurement, judged once the baseline has been
// measured a second time.
type reconcileOnlyResult struct {
	rate             float64
	elapsed          time.Duration
	counted, minimal bool
}

func (b *bench) judgeReconcileOnly() {
	n, r := b.cfg.n, b.reconcileOnly
	same, patchOnly := b.baseline.sameRequestsRate(), b.baseline.patchRate
	b.measured.reconcileRatio, b.measured.reconcileRate, b.measured.bareRate = ratio(r.rate, same), r.rate, same
	b.measured.reconcileMin = r.minimal && r.counted
	b.rep.set(row{
		id:   "1a",
		what: fmt.Sprintf("Reconcile throughput, reconcile only: %d Files + %d FileLinks existing → manager started → all Ready with a URL", n, n),
		result: fmt.Sprintf("%.0f objects/s (%.1f s); %s; bare client making the same requests %.0f objects/s (pooled, before and after) → ratio **%.2f**; bare status patches only %.0f objects/s → ratio %.2f",
			r.rate, r.elapsed.Seconds(), minimalNote(r.minimal), same, ratio(r.rate, same), patchOnly, ratio(r.rate, patchOnly)),
		target: "minimum requests; ratio ≥ 0.9 to the same requests",
		status: verdict(same > 0 && r.counted, r.minimal && ratio(r.rate, same) >= 0.9),
	})
}

// managerRequests describes the API requests of a reconcile-only phase per File+link
// pair, and tells whether they were the minimum SPEC §9 allows: one Secret read and one
// status patch per File, one status patch and one event per link. A few requests more
// than n of a kind are the manager's start (its signing key's read); other requests
// count when they are per object, not when they are a handful (discovery, OpenAPI).
func managerRequests(d metricSnapshot, n int) (string, bool) {
	byKind := d.sumBy("apiserver_request_total", "verb", "resource", "subresource")
	minimal := true
	var parts []string
	for _, k := range []string{"GET secrets", "PATCH files status", "PATCH filelinks status", "POST events"} {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, byKind[k]/float64(n)))
		if byKind[k] > float64(n)+startupRequests {
			minimal = false
		}
		delete(byKind, k)
	}
	for k, v := range byKind {
		verb, _, _ := strings.Cut(k, " ")
		if verb != "LIST" && verb != "WATCH" && v > max(startupRequests, float64(n)/20) {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, v/float64(n)))
			minimal = false
		}
	}
	return strings.Join(parts, ", "), minimal
}

// startupRequests is the slack, per kind of request, for what the manager reads once
// when it starts.
const startupRequests = 10

func minimalNote(minimal bool) string {
	if minimal {
		return "the minimum of requests (per File a Secret read and a status patch, per link a status patch and an event)"
	}
	return "**more than the minimum of requests** (see Details)"
}

func (b *bench) measureEndToEnd(ctx context.Context) error {
	c, n, ns := b.clients.ctrl, b.cfg.n, nsEndToEnd
	b.logf("end to end: creating %d Secrets (not timed: the files' bytes already exist)", n)
	if err := createSecrets(ctx, c, b.cfg.workers, ns, n); err != nil {
		return err
	}

	ph := b.beginPhase(ctx, "end to end (first create → all Ready)")
	b.logf("end to end: creating %d Files and FileLinks with the manager running", n)
	start := time.Now()
	if err := createFilesAndLinks(ctx, c, b.cfg.workers, ns, n); err != nil {
		return err
	}
	created := time.Since(start)
	elapsed, got, err := b.timeUntilReady(ctx, ph, ns, n, start)
	if err != nil {
		return err
	}
	b.secondsPerLink = elapsed.Seconds() / float64(n)
	b.logf("end to end: %d objects Ready in %.1f s (%.0f/s); creation alone took %.1f s", 2*n, elapsed.Seconds(), got, created.Seconds())

	bare := b.baseline.endToEndRate()
	b.rep.note(fmt.Sprintf("end to end: creation alone %.1f s (%.0f objects/s, while the manager reconciled); last link Ready %.2f s after the last create; %.2f status writes per FileLink; ratio to the bare patch rate alone (%.0f/s): %.2f",
		created.Seconds(), rate(2*n, created), (elapsed - created).Seconds(), float64(b.tracker.writes(ns))/float64(n),
		b.baseline.patchRate, ratio(got, b.baseline.patchRate)))
	b.rep.set(row{
		id:   "1b",
		what: fmt.Sprintf("Reconcile throughput, end to end: %d Files + %d FileLinks created → all Ready with a URL (manager running)", n, n),
		result: fmt.Sprintf("%.0f objects/s (%.1f s; creation alone %.0f objects/s); bare client creating and then making the same requests %.0f objects/s → ratio **%.2f**",
			got, elapsed.Seconds(), rate(2*n, created), bare, ratio(got, bare)),
		target: "ratio ≥ 0.9",
		status: verdict(bare > 0, ratio(got, bare) >= 0.9),
	})
	return nil
}

// timeUntilReady waits until n links of ns are Ready, ends ph, and returns the time
// from start to the last of them and the rate, in objects per second, of the n Files
// and n links.
func (b *bench) timeUntilReady(ctx context.Context, ph *phase, ns string, n int, start time.Time) (time.Duration, float64, error) {
	last, err := b.tracker.waitReady(ctx, ns, n, readyTimeout(2*n), b.mgr.Exited)
	if err != nil {
		return 0, 0, err
	}
	ph.end(ctx)
	elapsed := last.Sub(start)
	return elapsed, rate(2*n, elapsed), nil
}

// addLinks adds extra Files and FileLinks, each with its Secret, for the memory and
// restart rows, and waits until they are Ready.
func (b *bench) addLinks(ctx context.Context, extra int) error {
	if extra <= 0 {
		return nil
	}
	b.logf("adding %d Files and FileLinks for the memory and restart rows", extra)
	if err := createSecrets(ctx, b.clients.ctrl, b.cfg.workers, nsExtra, extra); err != nil {
		return err
	}
	if err := createFilesAndLinks(ctx, b.clients.ctrl, b.cfg.workers, nsExtra, extra); err != nil {
		return err
	}
	_, err := b.tracker.waitReady(ctx, nsExtra, extra, readyTimeout(2*extra), b.mgr.Exited)
	return err
}

// linkCount is how many Files and FileLinks (one each) the earlier rows leave Ready by
// default: rows 1a and 1b, topped up to --memory-n.
func (b *bench) linkCount() int { return max(2*b.cfg.n, b.cfg.memoryN) }

// readyPairs is how many File+FileLink pairs of the rows that keep theirs (1a, 1b and
// the top-up) have been seen Ready.
func (b *bench) readyPairs() int { return len(b.tracker.urls(nsReconcile, nsEndToEnd, nsExtra)) }

func earliest(ts []time.Time) time.Time {
	var first time.Time
	for _, t := range ts {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
