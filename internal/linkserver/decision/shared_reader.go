package decision

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// sharedReader reads the objects every download needs (its File, its source's metadata)
// straight from the informers' stores. cache.Get deep-copies each object so that its
// caller may change it; a download only reads, and the copies were the largest part of
// the link server's own CPU per request and most of its garbage. Whatever a caller gets
// from here belongs to the informer: it must never be modified.
type sharedReader struct {
	cache  cache.Cache
	stores sync.Map // schema.GroupVersionKind → toolscache.Indexer
}

// indexed is what controller-runtime's informers are: client-go shared informers, whose
// store can be read without a copy.
type indexed interface{ GetIndexer() toolscache.Indexer }

// get returns the cached object of kind gvk (typed, or metadata-only for a
// PartialObjectMetadata kind) named key, as a NotFound error when the cache has none.
// fresh makes an object only when no store can be read directly (the manager's cache
// always allows it), so a request allocates nothing to name the kind.
func get[T client.Object](ctx context.Context, r *sharedReader, key types.NamespacedName, gvk schema.GroupVersionKind, fresh func() T) (T, error) {
	if store := store(ctx, r, gvk, fresh); store != nil {
		item, exists, err := store.GetByKey(key.Namespace + "/" + key.Name)
		if err != nil {
			var none T
			return none, err
		}
		if !exists {
			var none T
			return none, apierrors.NewNotFound(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, key.Name)
		}
		if typed, ok := item.(T); ok {
			return typed, nil
		}
	}
	obj := fresh()
	return obj, r.cache.Get(ctx, key, obj)
}

// store finds the informer store of kind gvk, once per kind; nil when the cache's
// informers are not client-go's. fresh names the kind to the cache the first time.
func store[T client.Object](ctx context.Context, r *sharedReader, gvk schema.GroupVersionKind, fresh func() T) toolscache.Indexer {
	if s, ok := r.stores.Load(gvk); ok {
		return s.(toolscache.Indexer)
	}
	obj := fresh()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	inf, err := r.cache.GetInformer(ctx, obj)
	if err != nil {
		return nil
	}
	ix, ok := inf.(indexed)
	if !ok {
		return nil
	}
	r.stores.Store(gvk, ix.GetIndexer())
	return ix.GetIndexer()
}
