package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/internal/stripeid"
)

// baselineResult is what a bare client achieves against this API server: no
// controller, no watch, no cache, just requests from workers with no rate limit.
type baselineResult struct {
	objects    int
	createRate float64 // Files and FileLinks created per second
	patchRate  float64 // status patches per second, one per object
	readRate   float64 // Secret reads per second
	eventRate  float64 // events posted per second
}

// sameRequestsRate is the rate, in Files and FileLinks per second, of a bare client
// making exactly the requests the manager makes per File+link pair: two status patches,
// one Secret read and one event.
func (r baselineResult) sameRequestsRate() float64 {
	if r.patchRate == 0 || r.readRate == 0 || r.eventRate == 0 {
		return 0
	}
	return 2 / (2/r.patchRate + 1/r.readRate + 1/r.eventRate)
}

// endToEndRate is the rate at which a bare client creates objects and then makes the
// manager's requests for them: the API work the end-to-end row needs at the least.
func (r baselineResult) endToEndRate() float64 {
	same := r.sameRequestsRate()
	if r.createRate == 0 || same == 0 {
		return 0
	}
	return 1 / (1/r.createRate + 1/same)
}

// baselineWarmup objects are created and patched, untimed, before the baseline: the
// first requests to a fresh API server pay for compiling the CRDs' schemas and CEL
// rules and for cold caches, which would otherwise be charged to the baseline alone.
const baselineWarmup = 500

// measureBaseline measures the bare client before the manager has ever run: it warms
// the API server up, then runs the baseline once. measureBaselineAgain runs it a second
// time after the reconcile-only row, and the rows hold the manager against both pooled:
// by then the API server holds the row's 15,000 objects and every event posted so far,
// and its own garbage collector costs more per request than on the fresh server the
// first run met.
func (b *bench) measureBaseline(ctx context.Context) error {
	patcher, err := newStatusPatcher()
	if err != nil {
		return err
	}
	b.logf("baseline: warming the API server up with %d Files and FileLinks", baselineWarmup)
	if _, _, err := b.createAndPatch(ctx, patcher, b.cfg.n, baselineWarmup); err != nil {
		_ = b.deleteBaseline(ctx)
		return err
	}
	if err := b.deleteBaseline(ctx); err != nil {
		return err
	}
	b.baseline, err = b.baselineRun(ctx, patcher, "before the manager")
	return err
}

// measureBaselineAgain repeats the baseline with the manager stopped, so that nothing
// reconciles the bare client's objects, and pools it with the first run.
func (b *bench) measureBaselineAgain(ctx context.Context) error {
	if err := b.mgr.Stop(30 * time.Second); err != nil {
		return err
	}
	patcher, err := newStatusPatcher()
	if err != nil {
		return err
	}
	again, err := b.baselineRun(ctx, patcher, "after the reconcile-only row")
	if err != nil {
		return err
	}
	first := b.baseline
	b.baseline = first.pooled(again)
	b.rep.note(fmt.Sprintf("baseline, pooled: a bare client making the manager's requests reaches %.0f objects/s before the manager ran and %.0f objects/s after the reconcile-only row, %.0f objects/s pooled (the rows' baseline); status patches alone %.0f, %.0f and %.0f objects/s",
		first.sameRequestsRate(), again.sameRequestsRate(), b.baseline.sameRequestsRate(), first.patchRate, again.patchRate, b.baseline.patchRate))
	return b.ensureManager(ctx)
}

// baselineRun creates N Files and N FileLinks, patches the status of each once with what
// the manager would write, reads N Secrets and posts N events, then deletes it all.
func (b *bench) baselineRun(ctx context.Context, patcher *statusPatcher, when string) (res baselineResult, err error) {
	// Whatever happens, the manager must not find these objects when it starts.
	defer func() {
		if derr := b.deleteBaseline(ctx); err == nil {
			err = derr
		}
	}()
	n := b.cfg.n
	b.logf("baseline %s: creating %d Files and %d FileLinks with %d workers, then one status patch per object", when, n, n, b.cfg.workers)
	ph := b.beginPhase(ctx, "baseline "+when+" (bare client, no manager)")
	createTime, patchTime, err := b.createAndPatch(ctx, patcher, 0, n)
	if err != nil {
		return res, err
	}
	ph.end(ctx)

	res = baselineResult{objects: 2 * n, createRate: rate(2*n, createTime), patchRate: rate(2*n, patchTime)}
	b.logf("baseline %s: create %.0f objects/s, status patch %.0f objects/s", when, res.createRate, res.patchRate)
	b.rep.note(fmt.Sprintf("baseline %s: a bare client (%d workers, no client-side rate limit) created %d Files + %d FileLinks in %.1f s (%.0f objects/s) and patched each one's status once in %.1f s (%.0f objects/s)",
		when, b.cfg.workers, n, n, createTime.Seconds(), res.createRate, patchTime.Seconds(), res.patchRate))
	err = b.measureManagerRequests(ctx, &res, when)
	return res, err
}

// pooled combines two runs' rates as if their requests had been made in one run: the
// harmonic mean, which weighs each run by the time its requests took.
func (r baselineResult) pooled(o baselineResult) baselineResult {
	h := func(a, b float64) float64 {
		if a == 0 || b == 0 {
			return 0
		}
		return 2 / (1/a + 1/b)
	}
	return baselineResult{objects: r.objects + o.objects, createRate: h(r.createRate, o.createRate), patchRate: h(r.patchRate, o.patchRate),
		readRate: h(r.readRate, o.readRate), eventRate: h(r.eventRate, o.eventRate)}
}

// createAndPatch creates Files and FileLinks from..from+n-1 in the baseline namespace,
// then patches each one's status, and returns how long each pass took.
func (b *bench) createAndPatch(ctx context.Context, patcher *statusPatcher, from, n int) (createTime, patchTime time.Duration, err error) {
	c, ns := b.clients.ctrl, nsBaseline
	files := make([]*filelinkv1.File, n)
	links := make([]*filelinkv1.FileLink, n)
	t0 := time.Now()
	err = parallel(ctx, b.cfg.workers, n, func(ctx context.Context, i int) error {
		files[i], links[i] = newFile(ns, from+i, from+i), newLink(ns, from+i, from+i, nil)
		if err := create(ctx, c, files[i]); err != nil {
			return err
		}
		return create(ctx, c, links[i])
	})
	if err != nil {
		return 0, 0, err
	}
	createTime = time.Since(t0)
	t1 := time.Now()
	err = parallel(ctx, b.cfg.workers, 2*n, func(ctx context.Context, i int) error {
		if i%2 == 0 {
			return patcher.patchFile(ctx, c, files[i/2])
		}
		return patcher.patchLink(ctx, c, links[i/2])
	})
	return createTime, time.Since(t1), err
}

// deleteBaseline removes the baseline's objects before the manager starts, so it never
// reconciles them.
func (b *bench) deleteBaseline(ctx context.Context) error {
	for _, obj := range []client.Object{&filelinkv1.FileLink{}, &filelinkv1.File{}, &corev1.Secret{}} {
		if err := deleteAllOf(ctx, b.clients.ctrl, obj, nsBaseline); err != nil {
			return err
		}
	}
	return b.tracker.waitGone(ctx, nsBaseline, readyTimeout(b.cfg.n))
}

// deleteAllOf deletes every obj of ns. The API server deletes a collection one object
// after another, which for the scaling curve's 50,000 can outlast a request's minute:
// a timed-out request has deleted part of it, and the next goes on from there.
func deleteAllOf(ctx context.Context, c client.Client, obj client.Object, ns string) error {
	var err error
	for range 20 {
		if err = c.DeleteAllOf(ctx, obj, client.InNamespace(ns)); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("deleting every %T of %s: %w", obj, ns, err)
}

// statusPatcher writes the status the manager would write, as a merge patch with
// optimistic locking, exactly as the reconcilers send it, so that the baseline's
// requests cost the server what the manager's do.
type statusPatcher struct {
	signer *signing.Signer
}

func newStatusPatcher() (*statusPatcher, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	s, err := signing.NewSigner(key)
	return &statusPatcher{signer: s}, err
}

func (p *statusPatcher) patchFile(ctx context.Context, c client.Client, f *filelinkv1.File) error {
	before := f.DeepCopy()
	size, digest := contentDigest(f.Namespace)
	f.Status = filelinkv1.FileStatus{
		ObservedGeneration: f.Generation,
		Conditions:         []metav1.Condition{readyCondition(f.Generation, filelinkv1.ReasonSucceeded, filelinkv1.SucceededMessage(filesource.RefOf(f.Namespace, f.Spec.Source).String()))},
		ID:                 stripeid.File(f.UID),
		Size:               size,
		SHA256:             digest,
		Filename:           f.Name,
		ContentType:        "application/octet-stream",
	}
	return c.Status().Patch(ctx, f, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

func (p *statusPatcher) patchLink(ctx context.Context, c client.Client, l *filelinkv1.FileLink) error {
	before := l.DeepCopy()
	size, digest := contentDigest(l.Namespace)
	l.Status = filelinkv1.FileLinkStatus{
		ObservedGeneration: l.Generation,
		Conditions:         []metav1.Condition{readyCondition(l.Generation, filelinkv1.ReasonActive, filelinkv1.ActiveMessage(l.Spec.File))},
		ID:                 stripeid.Link(l.UID),
		URL:                p.signer.URL("http://127.0.0.1:8082", l.UID),
		Size:               size,
		SHA256:             digest,
	}
	return c.Status().Patch(ctx, l, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// contentDigest is the size and SHA-256 the manager reports for the first content of
// namespace ns.
func contentDigest(ns string) (int64, string) {
	data := smallContent(ns, 0)
	sum := sha256.Sum256(data)
	return int64(len(data)), hex.EncodeToString(sum[:])
}

func readyCondition(gen int64, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: filelinkv1.ConditionReady, Status: metav1.ConditionTrue, Reason: reason,
		Message: msg, ObservedGeneration: gen, LastTransitionTime: metav1.Now()}
}
