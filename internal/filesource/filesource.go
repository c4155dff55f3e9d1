// Package filesource reads a File's bytes from the Secret or ConfigMap key its spec
// names. It reads through whatever client.Reader it is given: the reconciler and the link
// server pass an uncached reader so that the manager never caches the data of every
// Secret in the cluster, only metadata.
package filesource

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

var (
	// ErrSourceNotFound means the named Secret or ConfigMap does not exist.
	ErrSourceNotFound = errors.New("source not found")
	// ErrKeyNotFound means the Secret or ConfigMap has no entry under the named key.
	ErrKeyNotFound = errors.New("key not found in source")
)

// Content is a File's bytes together with the identity of the object they came from, so
// that callers can cache by (UID, resourceVersion).
type Content struct {
	Data            []byte
	UID             types.UID
	ResourceVersion string
}

// Ref identifies the object a FileSource points at: its kind ("Secret" or "ConfigMap"),
// namespace and name, and the key inside it.
type Ref struct {
	Kind string
	types.NamespacedName
	Key string
}

// RefOf returns the object that src, declared in namespace, points at.
func RefOf(namespace string, src filelinkv1.FileSource) Ref {
	switch {
	case src.Secret != nil:
		return Ref{Kind: "Secret", NamespacedName: types.NamespacedName{Namespace: namespace, Name: src.Secret.Name}, Key: src.Secret.Key}
	case src.ConfigMap != nil:
		return Ref{Kind: "ConfigMap", NamespacedName: types.NamespacedName{Namespace: namespace, Name: src.ConfigMap.Name}, Key: src.ConfigMap.Key}
	}
	return Ref{}
}

// String names the source for messages: `Secret "docs" key "invoice.pdf"`.
func (r Ref) String() string {
	return fmt.Sprintf("%s %q key %q", r.Kind, r.Name, r.Key)
}

// IndexKey is the value Files are indexed under, so a change to a Secret or ConfigMap
// finds the Files that read it.
func (r Ref) IndexKey() string { return IndexKey(r.Kind, r.Name) }

// IndexKey builds the index value for the object of this kind and name.
func IndexKey(kind, name string) string { return kind + "/" + name }

// Read fetches the bytes ref points at. It returns an error wrapping ErrSourceNotFound or
// ErrKeyNotFound when the data is absent, and the reader's error otherwise. With
// ErrKeyNotFound the Content still names the object's UID and resourceVersion, the
// version in which the key was found missing.
func Read(ctx context.Context, r client.Reader, ref Ref) (Content, error) {
	switch ref.Kind {
	case "Secret":
		s := &corev1.Secret{}
		if err := r.Get(ctx, ref.NamespacedName, s); err != nil {
			return Content{}, notFound(err, ref)
		}
		c := Content{UID: s.UID, ResourceVersion: s.ResourceVersion}
		data, ok := s.Data[ref.Key]
		if !ok {
			return c, fmt.Errorf("%s: %w", ref, ErrKeyNotFound)
		}
		c.Data = data
		return c, nil
	case "ConfigMap":
		cm := &corev1.ConfigMap{}
		if err := r.Get(ctx, ref.NamespacedName, cm); err != nil {
			return Content{}, notFound(err, ref)
		}
		c := Content{UID: cm.UID, ResourceVersion: cm.ResourceVersion}
		if text, ok := cm.Data[ref.Key]; ok {
			c.Data = []byte(text)
			return c, nil
		}
		if data, ok := cm.BinaryData[ref.Key]; ok {
			c.Data = data
			return c, nil
		}
		return c, fmt.Errorf("%s: %w", ref, ErrKeyNotFound)
	}
	return Content{}, fmt.Errorf("file source names neither a Secret nor a ConfigMap: %w", ErrSourceNotFound)
}

// Metadata is an empty metadata-only object of ref's kind, for reading the source's
// current resourceVersion from a metadata informer without fetching its data.
func (r Ref) Metadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(r.Kind))
	return m
}

func notFound(err error, ref Ref) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w", ref, ErrSourceNotFound)
	}
	return fmt.Errorf("reading %s: %w", ref, err)
}
