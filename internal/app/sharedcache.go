package app

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// sharedCache gives an elected manager the serving manager's cache instead of a second
// one: both would list and watch the same kinds with the same options, so a replica
// would hold every File, FileLink and source's metadata twice.
//
// controller-runtime starts a manager's cache with the manager and its controllers add
// event handlers to its informers for good: they are never removed, and a manager that
// lost its lease cannot be started again (the elected part builds a new one). So the
// elected manager gets this view of the cache, whose Start starts nothing (the serving
// manager runs the informers, and outlives every elected manager) and, when that manager
// stops, removes every event handler added through it, so the controllers of a lost
// lease leave nothing behind on the informers that keep running.
//
// The view implements cache.Cache and cache.Informer method by method rather than by
// embedding them, so that a method controller-runtime adds to either (another way to
// add a handler, say) breaks the build here instead of passing through untracked.
type sharedCache struct {
	serving cache.Cache
	indexes *indexNames

	mu       sync.Mutex
	handlers map[toolscache.ResourceEventHandlerRegistration]cache.Informer
}

var (
	_ cache.Cache    = (*sharedCache)(nil)
	_ cache.Informer = (*trackedInformer)(nil)
)

// newCacheSharing is a cache.NewCacheFunc for the managers that are to use c, one after
// another: it is made once per serving cache, since the views it returns share what
// they know of the indexes added to c.
func newCacheSharing(c cache.Cache) cache.NewCacheFunc {
	indexes := &indexNames{added: map[string]bool{}}
	return func(*rest.Config, cache.Options) (cache.Cache, error) {
		return &sharedCache{serving: c, indexes: indexes, handlers: map[toolscache.ResourceEventHandlerRegistration]cache.Informer{}}, nil
	}
}

// indexNames are the indexes added through the views of one serving cache, by informer
// (informerKey) and index name. A namespace-scoped cache (--watch-namespaces) hands out
// an informer per namespace behind one wrapper that shows none of their indexers, and a
// new wrapper on every call, so what was added there can only be remembered here.
type indexNames struct {
	mu    sync.Mutex
	added map[string]bool
}

func (n *indexNames) has(informer, index string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.added[informer+" "+index]
}

func (n *indexNames) add(informer string, indexes ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, index := range indexes {
		n.added[informer+" "+index] = true
	}
}

// informerKey names the serving cache's informer for obj: one per GroupVersionKind and
// way of reading it (typed objects, metadata only, or unstructured).
func informerKey(obj runtime.Object) (string, error) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return "", err
	}
	switch obj.(type) {
	case *metav1.PartialObjectMetadata:
		return "metadata " + gvk.String(), nil
	case *unstructured.Unstructured:
		return "unstructured " + gvk.String(), nil
	}
	return "structured " + gvk.String(), nil
}

// Start waits until the manager using this view stops, then removes its handlers. It
// must not start the shared cache: that cache runs already, or will, under its owner.
func (c *sharedCache) Start(ctx context.Context) error {
	<-ctx.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for reg, inf := range c.handlers {
		errs = append(errs, inf.RemoveEventHandler(reg))
		delete(c.handlers, reg)
	}
	return errors.Join(errs...)
}

// WaitForCacheSync waits for the serving manager's informers, which the elected
// manager's controllers read.
func (c *sharedCache) WaitForCacheSync(ctx context.Context) bool {
	return c.serving.WaitForCacheSync(ctx)
}

func (c *sharedCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.serving.Get(ctx, key, obj, opts...)
}

func (c *sharedCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.serving.List(ctx, list, opts...)
}

func (c *sharedCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	key, err := informerKey(obj)
	if err != nil {
		return nil, err
	}
	inf, err := c.serving.GetInformer(ctx, obj, opts...)
	return c.track(key, inf, err)
}

// GetInformerForKind gets, as controller-runtime's cache does, the informer of typed
// objects of the kind.
func (c *sharedCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.serving.GetInformerForKind(ctx, gvk, opts...)
	return c.track("structured "+gvk.String(), inf, err)
}

// RemoveInformer would stop an informer the serving manager (the link server above all)
// reads; nothing of an elected manager's may.
func (c *sharedCache) RemoveInformer(context.Context, client.Object) error {
	return errors.New("shared cache: informers belong to the serving manager and are not removed")
}

// IndexField adds the index to the serving manager's informer, unless an earlier
// elected manager did (see trackedInformer.AddIndexers); the name is controller-runtime's.
func (c *sharedCache) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	inf, err := c.GetInformer(ctx, obj)
	if err != nil {
		return err
	}
	tracked := inf.(*trackedInformer)
	if tracked.indexed("field:" + field) {
		return nil
	}
	if err := c.serving.IndexField(ctx, obj, field, extract); err != nil {
		return err
	}
	c.indexes.add(tracked.key, "field:"+field)
	return nil
}

func (c *sharedCache) track(key string, inf cache.Informer, err error) (cache.Informer, error) {
	if err != nil {
		return nil, err
	}
	return &trackedInformer{informer: inf, key: key, cache: c}, nil
}

func (c *sharedCache) added(inf cache.Informer, reg toolscache.ResourceEventHandlerRegistration, err error) (toolscache.ResourceEventHandlerRegistration, error) {
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers[reg] = inf
	return reg, nil
}

// handlerCount is how many handlers added through c are still registered.
func (c *sharedCache) handlerCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.handlers)
}

// trackedInformer is a serving informer whose handlers its sharedCache removes when the
// manager it was handed to stops.
type trackedInformer struct {
	informer cache.Informer
	key      string // informerKey
	cache    *sharedCache
}

func (i *trackedInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	reg, err := i.informer.AddEventHandler(h)
	return i.cache.added(i.informer, reg, err)
}

func (i *trackedInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, resync time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	reg, err := i.informer.AddEventHandlerWithResyncPeriod(h, resync)
	return i.cache.added(i.informer, reg, err)
}

func (i *trackedInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, o toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	reg, err := i.informer.AddEventHandlerWithOptions(h, o)
	return i.cache.added(i.informer, reg, err)
}

func (i *trackedInformer) RemoveEventHandler(reg toolscache.ResourceEventHandlerRegistration) error {
	i.cache.mu.Lock()
	delete(i.cache.handlers, reg)
	i.cache.mu.Unlock()
	return i.informer.RemoveEventHandler(reg)
}

// AddIndexers adds those of indexers the informer does not have yet. Unlike handlers,
// indexers cannot be removed, so they outlive the manager that added them, and each
// manager built after a lost lease adds the same ones again, which client-go would
// refuse as a conflict. An index is known by its name: one name, one index function.
func (i *trackedInformer) AddIndexers(indexers toolscache.Indexers) error {
	missing := toolscache.Indexers{}
	for name, index := range indexers {
		if !i.indexed(name) {
			missing[name] = index
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := i.informer.AddIndexers(missing); err != nil {
		return err
	}
	i.cache.indexes.add(i.key, slices.Collect(maps.Keys(missing))...)
	return nil
}

// indexed is whether the informer has the index: as its indexer shows, or, for an
// informer that shows none (a namespace-scoped cache's), as added through a view.
func (i *trackedInformer) indexed(name string) bool {
	if shared, ok := i.informer.(toolscache.SharedIndexInformer); ok {
		_, ok := shared.GetIndexer().GetIndexers()[name]
		return ok
	}
	return i.cache.indexes.has(i.key, name)
}

func (i *trackedInformer) HasSynced() bool { return i.informer.HasSynced() }

func (i *trackedInformer) HasSyncedChecker() toolscache.DoneChecker {
	return i.informer.HasSyncedChecker()
}

func (i *trackedInformer) IsStopped() bool { return i.informer.IsStopped() }
