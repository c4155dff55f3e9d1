package controllers

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// indexInNamespace registers on c the field index that client.MatchingFields reads
// together with client.InNamespace: the one lookup the reconcilers' watches make.
//
// controller-runtime's FieldIndexer.IndexField stores every value twice, once under the
// object's namespace and once more for lookups across all namespaces, which nothing here
// makes. With one distinct value per object (a link's File, a File's Secret) each entry
// is a set of its own, so the second copy doubled the largest part of the cache's
// indexes. This one keeps the namespaced entry only, under the name and key format
// controller-runtime's cache reader looks up ("field:" + field, "namespace/value"); a
// List by field without a namespace finds nothing and must not be used.
//
// Registering the same field again is a no-op, so managers built one after another on
// one cache (leader election) can each set their reconcilers up.
func indexInNamespace(ctx context.Context, c cache.Cache, obj client.Object, field string, extract client.IndexerFunc) error {
	inf, err := c.GetInformer(ctx, obj)
	if err != nil {
		return err
	}
	name := "field:" + field
	if shared, ok := inf.(toolscache.SharedIndexInformer); ok {
		if _, exists := shared.GetIndexer().GetIndexers()[name]; exists {
			return nil
		}
	}
	return inf.AddIndexers(toolscache.Indexers{name: func(raw any) ([]string, error) {
		o, ok := raw.(client.Object)
		if !ok {
			return nil, fmt.Errorf("index %s: %T is not a client.Object", field, raw)
		}
		if o.GetNamespace() == "" {
			return nil, fmt.Errorf("index %s: %T %q is not namespaced", field, raw, o.GetName())
		}
		values := extract(o)
		keys := make([]string, len(values))
		for i, v := range values {
			keys[i] = o.GetNamespace() + "/" + v
		}
		return keys, nil
	}})
}
