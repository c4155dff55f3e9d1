// Package filesource reads a File's bytes from the Secret or ConfigMap key its spec
// names, and only from one its owner labelled shareable (SPEC §2 "Consent"). It reads
// through whatever client.Reader it is given: the reconciler and the link server pass an
// uncached reader so that the manager never caches the data of any Secret, and the
// manager's metadata caches hold labelled sources only (CacheByObject).
package filesource

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

var (
	// ErrSourceNotFound means the named Secret or ConfigMap does not exist.
	ErrSourceNotFound = errors.New("source not found")
	// ErrKeyNotFound means the Secret or ConfigMap has no entry under the named key.
	ErrKeyNotFound = errors.New("key not found in source")
	// ErrNotShareable means the Secret or ConfigMap exists but its owner has not labelled
	// it shareable, so nothing of it, not even a digest or a version, may be published.
	ErrNotShareable = errors.New("source not labelled " + filelinkv1.ShareableLabel + "=" + filelinkv1.ShareableValue)
)

// Shareable reports whether obj carries its owner's consent to being shared.
func Shareable(obj metav1.Object) bool {
	return obj.GetLabels()[filelinkv1.ShareableLabel] == filelinkv1.ShareableValue
}

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
// ErrKeyNotFound when the data is absent, ErrNotShareable (and an empty Content) when the
// object read lacks the label, and the reader's error otherwise. With ErrKeyNotFound the
// Content still names the object's UID and resourceVersion, the version in which the key
// was found missing. The label is checked on the very object read, so a label removed
// after a caller's own check still keeps the data in.
func Read(ctx context.Context, r client.Reader, ref Ref) (Content, error) {
	var obj client.Object
	switch ref.Kind {
	case "Secret":
		obj = &corev1.Secret{}
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	default:
		return Content{}, fmt.Errorf("file source names neither a Secret nor a ConfigMap: %w", ErrSourceNotFound)
	}
	if err := r.Get(ctx, ref.NamespacedName, obj); err != nil {
		return Content{}, notFound(err, ref)
	}
	if !Shareable(obj) {
		return Content{}, fmt.Errorf("%s: %w", ref, ErrNotShareable)
	}
	c := Content{UID: obj.GetUID(), ResourceVersion: obj.GetResourceVersion()}
	data, ok := dataAt(obj, ref.Key)
	if !ok {
		return c, fmt.Errorf("%s: %w", ref, ErrKeyNotFound)
	}
	c.Data = data
	return c, nil
}

// dataAt is what a Secret or ConfigMap (text or binary data) holds under key.
func dataAt(obj client.Object, key string) ([]byte, bool) {
	switch o := obj.(type) {
	case *corev1.Secret:
		data, ok := o.Data[key]
		return data, ok
	case *corev1.ConfigMap:
		if text, ok := o.Data[key]; ok {
			return []byte(text), true
		}
		data, ok := o.BinaryData[key]
		return data, ok
	}
	return nil, false
}

// Metadata is an empty metadata-only object of ref's kind, for reading the source's
// current resourceVersion from a metadata informer without fetching its data.
func (r Ref) Metadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(r.MetadataKind())
	return m
}

// MetadataKind is the GroupVersionKind of the source's metadata-only object.
func (r Ref) MetadataKind() schema.GroupVersionKind {
	return corev1.SchemeGroupVersion.WithKind(r.Kind)
}

// CheckConsent tells, without fetching any data, whether ref's object exists and is
// shareable: nil, or an error wrapping ErrSourceNotFound or ErrNotShareable, or the
// reader's error. labelled reads the metadata cache, which holds labelled objects only
// (CacheByObject); a miss there is either an unlabelled object or none at all, which a
// metadata-only GET through api tells apart. So data is fetched only from an object
// that was labelled a moment ago, and Read checks the label again on it.
func CheckConsent(ctx context.Context, labelled, api client.Reader, ref Ref) error {
	if ref.Kind == "" {
		return fmt.Errorf("file source names neither a Secret nor a ConfigMap: %w", ErrSourceNotFound)
	}
	meta := ref.Metadata()
	err := labelled.Get(ctx, ref.NamespacedName, meta)
	if apierrors.IsNotFound(err) {
		err = api.Get(ctx, ref.NamespacedName, meta)
	}
	switch {
	case err != nil:
		return notFound(err, ref)
	case !Shareable(meta):
		return fmt.Errorf("%s: %w", ref, ErrNotShareable)
	}
	return nil
}

func notFound(err error, ref Ref) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w", ref, ErrSourceNotFound)
	}
	return fmt.Errorf("reading %s: %w", ref, err)
}
