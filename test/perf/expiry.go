package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// expiryFiles is how many Files the expiring links share; links must name a File in
// their own namespace, and a few spread the File-to-links fan-out.
const expiryFiles = 10

// expiryTarget is SPEC §9's bound on the expiry lag's 99th percentile.
const expiryTarget = 500 * time.Millisecond

// expiryWindow is the minute the links' expiresAt values spread over.
const expiryWindow = 60

// measureExpiry creates --expiry-n links whose expiresAt fall within one minute that
// starts after they are all created, and measures from each expiresAt to the moment a
// watch sees status.expired.
func (b *bench) measureExpiry(ctx context.Context) error {
	if err := b.ensureManager(ctx); err != nil {
		return err
	}
	c, ns, n := b.clients.ctrl, nsExpiry, b.cfg.expiryN
	if err := createSecrets(ctx, c, b.cfg.workers, ns, expiryFiles); err != nil {
		return err
	}
	if err := parallel(ctx, b.cfg.workers, expiryFiles, func(ctx context.Context, i int) error {
		return create(ctx, c, newFile(ns, i, i))
	}); err != nil {
		return err
	}
	if err := b.waitFilesReady(ctx, ns, expiryFiles); err != nil {
		return err
	}

	lead := b.expiryLead(n)
	first := time.Now().Add(lead).Truncate(time.Second).Add(time.Second)
	b.logf("expiry: creating %d links expiring from %s over %d s (lead %s)", n, first.Format(time.TimeOnly), expiryWindow, lead.Round(time.Second))
	ph := b.beginPhase(ctx, "expiry (creation, then the expiry minute)")
	err := parallel(ctx, b.cfg.workers, n, func(ctx context.Context, i int) error {
		at := first.Add(time.Duration(i%expiryWindow) * time.Second)
		return create(ctx, c, newLink(ns, i, i%expiryFiles, &at))
	})
	if err != nil {
		return err
	}
	created := time.Now()
	if created.After(first) {
		b.rep.note(fmt.Sprintf("expiry: WARNING creation finished %.1f s after the first expiresAt; raise --expiry-lead", created.Sub(first).Seconds()))
	}

	// The manager's CPU over the expiry minute, to read what the tail's slowest seconds
	// spend (the watch records expiries meanwhile).
	if b.profiling() {
		if err := framework.Sleep(ctx, time.Until(first)); err != nil {
			return err
		}
	}
	profiled := b.captureCPU(ctx, "expiry", expiryWindow)
	deadline := first.Add(expiryWindow*time.Second + time.Minute)
	err = b.tracker.waitFor(ctx, ns, time.Until(deadline), b.mgr.Exited, func(l *nsLinks) bool { return len(l.expiredAt) >= n })
	ph.end(ctx)
	if perr := profiled(); perr != nil {
		b.logf("expiry: no CPU profile: %v", perr)
	}
	lags, missing := b.tracker.expiryLags(ns)
	if err != nil && len(lags) == 0 {
		return err
	}
	b.reportExpiry(n, lags, missing, created.Sub(first))
	return nil
}

// expiryLead leaves time to create every link before the first one expires: twice the
// per-link time row 1 measured end to end, plus a margin.
func (b *bench) expiryLead(n int) time.Duration {
	if b.cfg.expiryLead > 0 {
		return b.cfg.expiryLead
	}
	perLink := b.secondsPerLink
	if perLink == 0 {
		perLink = 0.01
	}
	lead := time.Duration(2*perLink*float64(n)*float64(time.Second)) + 5*time.Second
	return min(max(lead, 10*time.Second), 5*time.Minute)
}

func (b *bench) waitFilesReady(ctx context.Context, ns string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	f := &filelinkv1.File{}
	for i := range n {
		err := framework.Poll(ctx, 50*time.Millisecond, nil, func(ctx context.Context) (bool, error) {
			err := b.clients.ctrl.Get(ctx, types.NamespacedName{Namespace: ns, Name: fileName(i)}, f)
			return err == nil && f.ContentReady(), err
		})
		if err != nil {
			return fmt.Errorf("file %s/%s not Ready after a minute: %w", ns, fileName(i), err)
		}
	}
	return nil
}

func (b *bench) reportExpiry(n int, observed []expiryLag, missing int, createdAfterFirst time.Duration) {
	lags := make([]time.Duration, len(observed))
	for i, o := range observed {
		lags[i] = o.lag
	}
	slices.Sort(lags)
	p50, p99 := percentile(lags, 50), percentile(lags, 99)
	b.measured.expiryP99, b.measured.expiryN, b.measured.expiryMissing = p99, n, missing
	result := fmt.Sprintf("p50 %s, **p99 %s**, max %s", fmtDur(p50), fmtDur(p99), fmtDur(lags[len(lags)-1]))
	if missing > 0 {
		result += fmt.Sprintf("; %d of %d never seen expired", missing, n)
	}
	b.rep.note(fmt.Sprintf("expiry: %d links, about %d per whole second of expiresAt; lag min %s; creation finished %.1f s before the first expiresAt; %s",
		n, (n+expiryWindow-1)/expiryWindow, fmtDur(lags[0]), -createdAfterFirst.Seconds(), slowSeconds(observed)))
	b.rep.set(row{
		id:     "2",
		what:   fmt.Sprintf("Expiry lag: %d links with expiresAt within one minute; watch sees status.expired − expiresAt", n),
		result: result,
		target: "p99 ≤ 0.5 s",
		status: verdict(true, missing == 0 && p99 <= expiryTarget),
	})
}

// slowSeconds tells whether slow expiries were spread out or bunched in a few seconds
// of the minute, which points at a stall of the machine rather than at the controller.
func slowSeconds(observed []expiryLag) string {
	const slow = 250 * time.Millisecond
	type second struct {
		links, slow int
		worst       time.Duration
	}
	by := map[time.Time]*second{}
	for _, o := range observed {
		s := by[o.expiresAt]
		if s == nil {
			s = &second{}
			by[o.expiresAt] = s
		}
		s.links++
		s.worst = max(s.worst, o.lag)
		if o.lag > slow {
			s.slow++
		}
	}
	keys := slices.SortedFunc(maps.Keys(by), time.Time.Compare)
	var parts []string
	for _, k := range keys {
		if s := by[k]; s.slow > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d of %d slow, worst %s", k.Format(time.TimeOnly), s.slow, s.links, fmtDur(s.worst)))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("no link's lag exceeded %s", fmtDur(slow))
	}
	return fmt.Sprintf("seconds of expiresAt with lags over %s: %s", fmtDur(slow), strings.Join(parts, "; "))
}
