// Package cacheindex holds the field indexes of the manager's informer cache that more
// than one part of the manager reads: the reconcilers' watches and the link server's
// prefetcher both find Files by their source, on one informer.
package cacheindex

import (
	"context"
	"fmt"
	"strings"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// FilesBySource indexes Files by the Secret, ConfigMap or FileStore they read
// (filesource.IndexKey), so a source's change finds its Files without a list.
const FilesBySource = "spec.source"

// IndexFilesBySource registers FilesBySource on c's File informer, once however many
// callers ask: the File reconciler on the leader, the prefetcher on every replica.
func IndexFilesBySource(ctx context.Context, c cache.Cache) error {
	return InNamespace(ctx, c, &filelinkv1.File{}, FilesBySource, func(o client.Object) []string {
		if key := filesource.Of(o.(*filelinkv1.File)).IndexKey(); key != "" {
			return []string{key}
		}
		return nil
	})
}

// FilesOf is the List option that, with client.InNamespace, finds the Files reading the
// source of kind named name.
func FilesOf(kind filesource.Kind, name string) client.MatchingFields {
	return client.MatchingFields{FilesBySource: filesource.IndexKey(kind, name)}
}

// InNamespace registers on c the field index that client.MatchingFields reads
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
// one cache (leader election) can each set their reconcilers up, and the link server and
// the File reconciler can both ask for FilesBySource.
func InNamespace(ctx context.Context, c cache.Cache, obj client.Object, field string, extract client.IndexerFunc) error {
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
	err = inf.AddIndexers(toolscache.Indexers{name: func(raw any) ([]string, error) {
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
	if err != nil && strings.HasPrefix(err.Error(), "indexer conflict") {
		// The index is there already. A cache confined to some namespaces hands out
		// informers that show no indexers, so only adding one tells; client-go refuses a
		// name it has with this error, and a name here is always the same function.
		return nil
	}
	return err
}
