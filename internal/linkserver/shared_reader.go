package linkserver

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

// get returns the cached object of obj's kind (typed, or metadata-only for a
// PartialObjectMetadata) named key, as a NotFound error when the cache has none. obj
// names the kind by its GroupVersionKind, which must be set, and receives the object
// only when no store can be read directly (the manager's cache always allows it).
func get[T client.Object](ctx context.Context, r *sharedReader, key types.NamespacedName, obj T) (T, error) {
	if store := r.store(ctx, obj); store != nil {
		item, exists, err := store.GetByKey(key.Namespace + "/" + key.Name)
		if err != nil {
			return obj, err
		}
		if !exists {
			gvk := obj.GetObjectKind().GroupVersionKind()
			return obj, apierrors.NewNotFound(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, key.Name)
		}
		if typed, ok := item.(T); ok {
			return typed, nil
		}
	}
	return obj, r.cache.Get(ctx, key, obj)
}

// store finds the informer store of obj's kind, once per kind; nil when obj names no
// kind or the cache's informers are not client-go's.
func (r *sharedReader) store(ctx context.Context, obj client.Object) toolscache.Indexer {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		return nil
	}
	if s, ok := r.stores.Load(gvk); ok {
		return s.(toolscache.Indexer)
	}
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
