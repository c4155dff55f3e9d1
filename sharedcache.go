package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// sharedCache gives the leader-elected manager the serving manager's cache instead of
// a second one: both would list and watch the same kinds with the same options, so a
// replica held every File, FileLink and source's metadata twice.
//
// controller-runtime starts a manager's cache with the manager and its controllers add
// event handlers to its informers for good: they are never removed, and a manager that
// lost its lease cannot be started again (runElected builds a new one). So the elected
// manager gets this view of the cache, whose Start starts nothing (the serving manager
// runs the informers, and outlives every elected manager) and, when that manager stops,
// removes every event handler added through it, so the controllers of a lost lease
// leave nothing behind on the informers that keep running.
type sharedCache struct {
	cache.Cache

	mu       sync.Mutex
	handlers map[toolscache.ResourceEventHandlerRegistration]toolscache.SharedIndexInformer
}

// newCacheSharing is a cache.NewCacheFunc for a manager that is to use c.
func newCacheSharing(c cache.Cache) cache.NewCacheFunc {
	return func(*rest.Config, cache.Options) (cache.Cache, error) {
		return &sharedCache{Cache: c, handlers: map[toolscache.ResourceEventHandlerRegistration]toolscache.SharedIndexInformer{}}, nil
	}
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

func (c *sharedCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.Cache.GetInformer(ctx, obj, opts...)
	return c.track(inf, err)
}

func (c *sharedCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.Cache.GetInformerForKind(ctx, gvk, opts...)
	return c.track(inf, err)
}

// RemoveInformer would stop an informer the serving manager (the link server above all)
// reads; nothing of the elected manager's may.
func (c *sharedCache) RemoveInformer(context.Context, client.Object) error {
	return errors.New("shared cache: informers belong to the serving manager and are not removed")
}

func (c *sharedCache) track(inf cache.Informer, err error) (cache.Informer, error) {
	if err != nil {
		return nil, err
	}
	shared, ok := inf.(toolscache.SharedIndexInformer)
	if !ok {
		return nil, fmt.Errorf("shared cache: informer %T cannot be tracked", inf)
	}
	return &trackedInformer{SharedIndexInformer: shared, cache: c}, nil
}

func (c *sharedCache) added(inf toolscache.SharedIndexInformer, reg toolscache.ResourceEventHandlerRegistration, err error) (toolscache.ResourceEventHandlerRegistration, error) {
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers[reg] = inf
	return reg, nil
}

// trackedInformer is a shared informer whose handlers its sharedCache removes when the
// manager it was handed to stops.
type trackedInformer struct {
	toolscache.SharedIndexInformer
	cache *sharedCache
}

func (i *trackedInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	reg, err := i.SharedIndexInformer.AddEventHandler(h)
	return i.cache.added(i.SharedIndexInformer, reg, err)
}

func (i *trackedInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, resync time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	reg, err := i.SharedIndexInformer.AddEventHandlerWithResyncPeriod(h, resync)
	return i.cache.added(i.SharedIndexInformer, reg, err)
}

func (i *trackedInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, o toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	reg, err := i.SharedIndexInformer.AddEventHandlerWithOptions(h, o)
	return i.cache.added(i.SharedIndexInformer, reg, err)
}

func (i *trackedInformer) RemoveEventHandler(reg toolscache.ResourceEventHandlerRegistration) error {
	i.cache.mu.Lock()
	delete(i.cache.handlers, reg)
	i.cache.mu.Unlock()
	return i.SharedIndexInformer.RemoveEventHandler(reg)
}

// handlerCount is how many handlers added through c are still registered.
func (c *sharedCache) handlerCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.handlers)
}
