package app

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The reconcilers' manager reads through the serving manager's cache: one set of
// informers per replica, not two. Each time the lease is lost a new manager is built on
// the same cache; it must set up its controllers again, and the handlers of the one that
// stopped must not stay on the informers.
func TestElectedManagersShareTheServingCache(t *testing.T) {
	cfg, k8s, ctx, _ := startAPIServer(t)

	serving, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Client:                 clientOptions(),
		Cache:                  servingCacheOptions(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The link server's informer, as on every replica.
	servingLinks, err := serving.GetCache().GetInformer(ctx, &filelinkv1.FileLink{})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = serving.Start(ctx) }()

	keyRef := types.NamespacedName{Namespace: "default", Name: "filelink-signing-key"}
	keys := framework.StartLiveKey(t, cfg, keyRef)
	le := LeaderElection{Namespace: "default", LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond}
	part := newElected(cfg, serving, &le, controllers.Config{Clock: clock.RealClock{}, Keys: keys, BaseURL: "http://links.test"})
	build := func(ctx context.Context) manager.Manager {
		t.Helper()
		elected, err := part.newManager(ctx)
		if err != nil {
			t.Fatalf("setting the reconcilers up on the shared cache: %v", err)
		}
		return elected
	}
	ns := framework.NewNamespace(t, k8s, "shared-")
	linkReady := func(name string) {
		t.Helper()
		l := framework.Link(ns, name, "evidence", nil)
		if err := k8s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !meta.IsStatusConditionTrue(l.Status.Conditions, filelinkv1.ConditionReady) {
			if time.Now().After(deadline) {
				t.Fatalf("link %s not Ready: %+v", name, l.Status)
			}
			time.Sleep(50 * time.Millisecond)
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(l), l); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, obj := range []client.Object{
		framework.Secret(ns, "docs", map[string][]byte{"evidence.pdf": []byte("%PDF")}),
		framework.FileFromSecret(ns, "evidence", filelinkv1.PurposeDisputeEvidence, "docs", "evidence.pdf"),
	} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	firstCtx, stopFirst := context.WithCancel(ctx)
	first := build(firstCtx)
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.Start(firstCtx) }()
	linkReady("first")

	links, err := first.GetCache().GetInformer(ctx, &filelinkv1.FileLink{})
	if err != nil {
		t.Fatal(err)
	}
	tracked, ok := links.(*trackedInformer)
	if !ok || tracked.informer != servingLinks {
		t.Fatalf("the elected manager's FileLink informer is %T, not the serving manager's", links)
	}
	shared := first.GetCache().(*sharedCache)
	if shared.handlerCount() == 0 {
		t.Fatal("the elected manager's controllers added no handlers through the shared cache")
	}

	// The lease is lost (here: the manager is stopped); its handlers leave with it.
	stopFirst()
	select {
	case err := <-firstDone:
		if err != nil {
			t.Fatalf("first elected manager: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("first elected manager did not stop")
	}
	if n := shared.handlerCount(); n != 0 {
		t.Errorf("%d handlers of the stopped manager remain on the shared informers", n)
	}

	second := build(ctx)
	go func() { _ = second.Start(ctx) }()
	linkReady("second")
}

// Every way cache.Informer offers to add a handler is tracked, and whatever the elected
// manager added and did not remove itself is removed when it stops; the indexes it
// adds again after a lost lease are those the informer keeps, not a conflict. The same
// holds for a namespace-scoped cache (--watch-namespaces), whose informers show no
// indexer and are new wrappers on every call (opaqueInformers).
func TestSharedCacheRemovesEveryHandlerItAdded(t *testing.T) {
	t.Run("every namespace", func(t *testing.T) { testSharedCacheRemovesEveryHandler(t, false) })
	t.Run("namespace-scoped", func(t *testing.T) { testSharedCacheRemovesEveryHandler(t, true) })
}

func testSharedCacheRemovesEveryHandler(t *testing.T, namespaced bool) {
	informer := &countingInformer{SharedIndexInformer: toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &corev1.Secret{}, 0, toolscache.Indexers{})}
	secrets := schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	var serving cache.Cache = &informertest.FakeInformers{Scheme: scheme, InformersByGVK: map[schema.GroupVersionKind]toolscache.SharedIndexInformer{secrets: informer}}
	if namespaced {
		serving = opaqueInformers{serving}
	}
	// The serving manager's own handler (the link server's, say) stays.
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	index := toolscache.Indexers{"field:x": func(any) ([]string, error) { return nil, nil }}

	newView := newCacheSharing(serving)
	for term := range 3 {
		view, err := newView(nil, cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- view.Start(ctx) }()

		byObject, err := view.GetInformer(ctx, &corev1.Secret{})
		if err != nil {
			t.Fatal(err)
		}
		byKind, err := view.GetInformerForKind(ctx, secrets)
		if err != nil {
			t.Fatal(err)
		}
		h := toolscache.ResourceEventHandlerFuncs{}
		for _, add := range []func() (toolscache.ResourceEventHandlerRegistration, error){
			func() (toolscache.ResourceEventHandlerRegistration, error) { return byObject.AddEventHandler(h) },
			func() (toolscache.ResourceEventHandlerRegistration, error) {
				return byObject.AddEventHandlerWithResyncPeriod(h, 0)
			},
			func() (toolscache.ResourceEventHandlerRegistration, error) {
				return byKind.AddEventHandlerWithOptions(h, toolscache.HandlerOptions{})
			},
		} {
			if _, err := add(); err != nil {
				t.Fatal(err)
			}
		}
		// One the manager removes itself is no longer the view's to remove.
		reg, err := byKind.AddEventHandler(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := byObject.RemoveEventHandler(reg); err != nil {
			t.Fatal(err)
		}
		if err := byObject.AddIndexers(index); err != nil {
			t.Fatalf("term %d: adding the index again: %v", term, err)
		}
		if err := view.IndexField(ctx, &corev1.Secret{}, "x", func(client.Object) []string { return nil }); err != nil {
			t.Fatalf("term %d: indexing the field again: %v", term, err)
		}
		if n := informer.live(); n != 1+3 {
			t.Fatalf("term %d: %d handlers on the informer, want the serving one and 3", term, n)
		}

		stop()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if n := informer.live(); n != 1 {
			t.Fatalf("term %d: %d handlers left after the manager stopped, want the serving one", term, n)
		}
	}
	if err := (&sharedCache{serving: serving}).RemoveInformer(context.Background(), &corev1.Secret{}); err == nil {
		t.Error("the view removed an informer of the serving manager")
	}
}

// opaqueInformers hands out its cache's informers as controller-runtime's
// namespace-scoped cache does: a new wrapper on every call, with no indexer to look at.
type opaqueInformers struct{ cache.Cache }

type opaqueInformer struct{ cache.Informer }

func (c opaqueInformers) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.Cache.GetInformer(ctx, obj, opts...)
	return &opaqueInformer{inf}, err
}

func (c opaqueInformers) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.Cache.GetInformerForKind(ctx, gvk, opts...)
	return &opaqueInformer{inf}, err
}

// countingInformer is a real informer that counts the handlers registered on it.
type countingInformer struct {
	toolscache.SharedIndexInformer
	mu   sync.Mutex
	regs map[toolscache.ResourceEventHandlerRegistration]bool
}

func (i *countingInformer) count(reg toolscache.ResourceEventHandlerRegistration, err error) (toolscache.ResourceEventHandlerRegistration, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.regs == nil {
		i.regs = map[toolscache.ResourceEventHandlerRegistration]bool{}
	}
	i.regs[reg] = true
	return reg, err
}

func (i *countingInformer) live() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.regs)
}

func (i *countingInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.count(i.SharedIndexInformer.AddEventHandler(h))
}

func (i *countingInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, d time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.count(i.SharedIndexInformer.AddEventHandlerWithResyncPeriod(h, d))
}

func (i *countingInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, o toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.count(i.SharedIndexInformer.AddEventHandlerWithOptions(h, o))
}

func (i *countingInformer) RemoveEventHandler(reg toolscache.ResourceEventHandlerRegistration) error {
	i.mu.Lock()
	delete(i.regs, reg)
	i.mu.Unlock()
	return i.SharedIndexInformer.RemoveEventHandler(reg)
}
