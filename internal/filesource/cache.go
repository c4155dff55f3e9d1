package filesource

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/cachetrim"
	"github.com/filelink-dev/filelink-operator/internal/lastmodified"
)

// CacheByObject is this package's part of the manager's cache options
// (cache.Options.ByObject): every informer of Secrets or ConfigMaps, typed or
// metadata-only, lists and watches only objects labelled shareable, so the manager's
// memory does not grow with the cluster's other Secrets, and keeps neither their
// annotations (kubectl's last-applied-configuration of a Secret holds its data), nor
// labels but the consent label (cachetrim.SourceMetadata), nor their managed fields
// beyond the one timestamp lastmodified reads. An object whose label is removed leaves
// the cache as if deleted; its watchers see a delete event.
func CacheByObject() map[client.Object]cache.ByObject {
	by := cache.ByObject{Label: ShareableSelector(), Transform: stripForCache}
	return map[client.Object]cache.ByObject{&corev1.Secret{}: by, &corev1.ConfigMap{}: by}
}

// stripForCache drops what the manager never reads of a source's metadata.
func stripForCache(in any) (any, error) {
	if obj, err := meta.Accessor(in); err == nil {
		obj.SetAnnotations(nil)
	}
	if _, err := cachetrim.SourceMetadata(in); err != nil {
		return nil, err
	}
	return lastmodified.Transform(in)
}

// ShareableSelector selects the Secrets and ConfigMaps whose owner consented to their
// being shared: the only ones the manager's caches hold.
func ShareableSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{filelinkv1.ShareableLabel: filelinkv1.ShareableValue})
}

// NotShareableSelector selects exactly the objects ShareableSelector does not: those
// without the label, or with another value. A watch with it sees what the caches never
// hold, and an object entering or leaving the caches by its label leaves or enters it.
func NotShareableSelector() labels.Selector {
	req, err := labels.NewRequirement(filelinkv1.ShareableLabel, selection.NotEquals, []string{filelinkv1.ShareableValue})
	if err != nil {
		// The label and value are constants that are valid; only a change to them lands here.
		panic(err)
	}
	return labels.NewSelector().Add(*req)
}
