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

// measureBaseline creates N Files and N FileLinks, patches the status of each once with
// what the manager would write, then deletes them all. It runs before the manager
// starts, so nothing else touches these objects.
func (b *bench) measureBaseline(ctx context.Context) (err error) {
	// Whatever happens, the manager must not find these objects when it starts.
	defer func() {
		if derr := b.deleteBaseline(ctx); err == nil {
			err = derr
		}
	}()
	patcher, err := newStatusPatcher()
	if err != nil {
		return err
	}
	b.logf("baseline: warming the API server up with %d Files and FileLinks", baselineWarmup)
	if _, _, err := b.createAndPatch(ctx, patcher, b.cfg.n, baselineWarmup); err != nil {
		return err
	}

	n := b.cfg.n
	b.logf("baseline: creating %d Files and %d FileLinks with %d workers, then one status patch per object", n, n, b.cfg.workers)
	ph := b.beginPhase(ctx, "baseline (bare client, no manager)")
	createTime, patchTime, err := b.createAndPatch(ctx, patcher, 0, n)
	if err != nil {
		return err
	}
	ph.end(ctx)

	b.baseline = baselineResult{objects: 2 * n, createRate: rate(2*n, createTime), patchRate: rate(2*n, patchTime)}
	b.logf("baseline: create %.0f objects/s, status patch %.0f objects/s", b.baseline.createRate, b.baseline.patchRate)
	b.rep.note(fmt.Sprintf("baseline: a bare client (%d workers, no client-side rate limit) created %d Files + %d FileLinks in %.1f s (%.0f objects/s) and patched each one's status once in %.1f s (%.0f objects/s)",
		b.cfg.workers, n, n, createTime.Seconds(), b.baseline.createRate, patchTime.Seconds(), b.baseline.patchRate))

	return b.measureManagerRequests(ctx)
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
	c := b.clients.ctrl
	if err := c.DeleteAllOf(ctx, &filelinkv1.FileLink{}, client.InNamespace(nsBaseline)); err != nil {
		return err
	}
	if err := c.DeleteAllOf(ctx, &filelinkv1.File{}, client.InNamespace(nsBaseline)); err != nil {
		return err
	}
	if err := c.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(nsBaseline)); err != nil {
		return err
	}
	return b.tracker.waitGone(ctx, nsBaseline, time.Minute)
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
