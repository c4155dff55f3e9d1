package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// linkTracker watches every FileLink and records, per namespace, the moment each was
// first seen Ready (reason Active, with a URL) and first seen expired. Times are taken
// as the watch delivers each event, so they include the watch's own latency, as a user
// watching the objects would see it.
type linkTracker struct {
	mu  sync.Mutex
	nss map[string]*nsLinks
}

type nsLinks struct {
	present   map[string]bool
	readyAt   map[string]time.Time
	urls      map[string]string
	expiredAt map[string]time.Time
	expiresAt map[string]time.Time
	// writes counts updates that changed resourceVersion: status writes, here.
	writes int
}

func (t *linkTracker) ns(name string) *nsLinks {
	n := t.nss[name]
	if n == nil {
		n = &nsLinks{present: map[string]bool{}, readyAt: map[string]time.Time{}, urls: map[string]string{},
			expiredAt: map[string]time.Time{}, expiresAt: map[string]time.Time{}}
		t.nss[name] = n
	}
	return n
}

// startTracker starts an informer on FileLinks with the tracker as its handler and
// waits for it to sync. It stops with ctx.
func startTracker(ctx context.Context, cfg *rest.Config) (*linkTracker, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: framework.Scheme, DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		return nil, err
	}
	inf, err := c.GetInformer(ctx, &filelinkv1.FileLink{})
	if err != nil {
		return nil, err
	}
	t := &linkTracker{nss: map[string]*nsLinks{}}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.observe(nil, o) },
		UpdateFunc: t.observe,
		DeleteFunc: t.forget,
	}); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("link tracker did not sync")
	}
	return t, nil
}

func (t *linkTracker) observe(oldObj, obj any) {
	now := time.Now()
	l, ok := obj.(*filelinkv1.FileLink)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.ns(l.Namespace)
	n.present[l.Name] = true
	if old, ok := oldObj.(*filelinkv1.FileLink); ok && old.ResourceVersion != l.ResourceVersion {
		n.writes++
	}
	if l.Spec.ExpiresAt != nil {
		n.expiresAt[l.Name] = l.Spec.ExpiresAt.Time
	}
	if _, seen := n.readyAt[l.Name]; !seen && active(l) {
		n.readyAt[l.Name] = now
		n.urls[l.Name] = l.Status.URL
	}
	if _, seen := n.expiredAt[l.Name]; !seen && l.Status.Expired {
		n.expiredAt[l.Name] = now
	}
}

func active(l *filelinkv1.FileLink) bool {
	c := meta.FindStatusCondition(l.Status.Conditions, filelinkv1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.Reason == filelinkv1.ReasonActive && l.Status.URL != ""
}

func (t *linkTracker) forget(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	l, ok := obj.(*filelinkv1.FileLink)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ns(l.Namespace).present, l.Name)
}

// waitFor polls until cond holds for namespace ns. cond runs under the lock; the
// moments it compares were recorded by the handler, so polling adds no error to them.
func (t *linkTracker) waitFor(ctx context.Context, ns string, timeout time.Duration, alive func() error, cond func(*nsLinks) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := framework.Poll(ctx, 10*time.Millisecond, alive, func(context.Context) (bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		return cond(t.ns(ns)), nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s", timeout)
	}
	return err
}

// waitReady waits until n links of ns have been seen Ready and returns when the last
// of them was.
func (t *linkTracker) waitReady(ctx context.Context, ns string, n int, timeout time.Duration, alive func() error) (time.Time, error) {
	var last time.Time
	err := t.waitFor(ctx, ns, timeout, alive, func(l *nsLinks) bool {
		if len(l.readyAt) < n {
			return false
		}
		last = latest(l.readyAt)
		return true
	})
	if err != nil {
		t.mu.Lock()
		got := len(t.ns(ns).readyAt)
		t.mu.Unlock()
		return time.Time{}, fmt.Errorf("waiting for %d links Ready in %s (%d are): %w", n, ns, got, err)
	}
	return last, nil
}

// waitGone waits until no link of ns is left.
func (t *linkTracker) waitGone(ctx context.Context, ns string, timeout time.Duration) error {
	return t.waitFor(ctx, ns, timeout, nil, func(l *nsLinks) bool { return len(l.present) == 0 })
}

func latest(m map[string]time.Time) time.Time {
	var last time.Time
	for _, at := range m {
		if at.After(last) {
			last = at
		}
	}
	return last
}

// readyTimes returns when each link of ns was first seen Ready.
func (t *linkTracker) readyTimes(ns string) []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []time.Time
	for _, at := range t.ns(ns).readyAt {
		out = append(out, at)
	}
	return out
}

// urls returns the URL of every Ready link in the given namespaces.
func (t *linkTracker) urls(nss ...string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, ns := range nss {
		for _, u := range t.ns(ns).urls {
			out = append(out, u)
		}
	}
	return out
}

func (t *linkTracker) writes(ns string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ns(ns).writes
}

// expiryLag is one link's expiresAt and how long after it a watch saw it expired.
type expiryLag struct {
	expiresAt time.Time
	lag       time.Duration
}

// expiryLags returns the lag of each link of ns seen expired, and how many links with
// an expiresAt have not been seen expired.
func (t *linkTracker) expiryLags(ns string) (lags []expiryLag, missing int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.ns(ns)
	for name, at := range n.expiresAt {
		seen, ok := n.expiredAt[name]
		if !ok {
			missing++
			continue
		}
		lags = append(lags, expiryLag{expiresAt: at, lag: seen.Sub(at)})
	}
	return lags, missing
}

// link returns when link name of ns was first seen Ready and its URL.
func (t *linkTracker) link(ns, name string) (readyAt time.Time, url string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.ns(ns)
	readyAt, ok = n.readyAt[name]
	return readyAt, n.urls[name], ok
}
