// Package filesource names where a File's bytes live and reads the ones the cluster
// holds, only with their owner's consent (SPEC §2 "Consent").
//
// A File's spec.source names one of three kinds of object, and Ref is the one
// description of it every reader uses. Of (or RefOf) is the only code that looks at
// which of spec.source's fields is set; callers branch on Ref.Kind instead:
//
//   - KindSecret and KindConfigMap (Kind.InCluster): the bytes are in the object. Read
//     fetches them through the API server, only from an object labelled shareable, and
//     CheckConsent tells, without fetching any data, whether the label is there.
//   - KindFileStore: the bytes are an object (Ref.Key, pinned to Ref.VersionID when set)
//     in the S3 bucket of the FileStore Ref names, read with that store's consented
//     credentials by the store-access code, never by this package: Read and
//     CheckConsent refuse such a Ref rather than report it absent.
//   - The zero Ref (a spec that names nothing; the schema refuses one) is read as
//     absent (ErrSourceNotFound) and indexed under nothing.
//
// So a reader of File bytes is written as
//
//	ref := filesource.Of(file)
//	if ref.Kind == filesource.KindFileStore {
//		// the store's object ref.Key
//	} else {
//		// CheckConsent, then Read (or the metadata cache's version of ref, then Read)
//	}
//
// and, for every kind, Ref.IndexKey is the value Files are indexed under, so that an
// event about the object (Secret, ConfigMap or FileStore: IndexKey(kind, name)) finds
// its Files; Ref.String names the source in status messages; Ref.Metadata is an empty
// metadata-only object of its kind, to read its version from a cache.
//
// It reads through whatever client.Reader it is given: the reconciler and the link
// server pass an uncached reader so that the manager never caches the data of any
// Secret, and the manager's metadata caches hold labelled sources only (CacheByObject).
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

// Kind is the kind of object a File's spec.source names.
type Kind string

// The kinds of source, named as their API kinds are.
const (
	// KindSecret: the bytes are under a key of a Secret's data.
	KindSecret Kind = "Secret"
	// KindConfigMap: the bytes are under a key of a ConfigMap's data or binaryData.
	KindConfigMap Kind = "ConfigMap"
	// KindFileStore: the bytes are an object in the bucket of the FileStore named.
	KindFileStore Kind = "FileStore"
)

// InClusterKinds are the kinds whose objects hold the bytes themselves.
func InClusterKinds() []Kind { return []Kind{KindSecret, KindConfigMap} }

// InCluster reports whether an object of kind k holds the bytes itself, so that they
// are read from the API server (Read), with consent. False for a FileStore, whose bytes
// are in a bucket, and for the zero Kind.
func (k Kind) InCluster() bool { return k == KindSecret || k == KindConfigMap }

// GroupVersionKind is the API kind of the object a Ref of kind k names.
func (k Kind) GroupVersionKind() schema.GroupVersionKind {
	if k == KindFileStore {
		return filelinkv1.GroupVersion.WithKind(string(k))
	}
	return corev1.SchemeGroupVersion.WithKind(string(k))
}

// Resource is the API resource of an in-cluster kind, for clients that address
// resources rather than kinds (a metadata client's watch).
func (k Kind) Resource() schema.GroupVersionResource {
	switch k {
	case KindSecret:
		return corev1.SchemeGroupVersion.WithResource("secrets")
	case KindConfigMap:
		return corev1.SchemeGroupVersion.WithResource("configmaps")
	}
	return filelinkv1.GroupVersion.WithResource("filestores")
}

var (
	// ErrSourceNotFound means the named Secret or ConfigMap does not exist, or a Ref
	// names no source at all.
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

// Ref identifies where a File's bytes are: the kind, namespace and name of the object
// spec.source names, the key inside it, and for a FileStore the pinned object version.
// The zero Ref names nothing (a spec that sets none of the source's fields).
type Ref struct {
	Kind Kind
	types.NamespacedName
	// Key is the data key of a Secret or ConfigMap, or the object key in a FileStore's
	// bucket.
	Key string
	// VersionID is the FileStore object version the File is pinned to; "" for the
	// latest version, and always for the other kinds.
	VersionID string
}

// Of returns where file's bytes are.
func Of(file *filelinkv1.File) Ref { return RefOf(file.Namespace, file.Spec.Source) }

// RefOf returns the source that src, declared in namespace, names. It is the one place
// that reads which of src's fields is set.
func RefOf(namespace string, src filelinkv1.FileSource) Ref {
	at := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: namespace, Name: name} }
	switch {
	case src.Secret != nil:
		return Ref{Kind: KindSecret, NamespacedName: at(src.Secret.Name), Key: src.Secret.Key}
	case src.ConfigMap != nil:
		return Ref{Kind: KindConfigMap, NamespacedName: at(src.ConfigMap.Name), Key: src.ConfigMap.Key}
	case src.Store != nil:
		return Ref{Kind: KindFileStore, NamespacedName: at(src.Store.Name), Key: src.Store.Key, VersionID: src.Store.VersionID}
	}
	return Ref{}
}

// String names the source for messages: `Secret "docs" key "invoice.pdf"`, or
// `FileStore "archive" object "2026/invoice.pdf" version "v1"`.
func (r Ref) String() string {
	if r.Kind == KindFileStore {
		s := fmt.Sprintf("%s %q object %q", r.Kind, r.Name, r.Key)
		if r.VersionID != "" {
			s += fmt.Sprintf(" version %q", r.VersionID)
		}
		return s
	}
	return fmt.Sprintf("%s %q key %q", r.Kind, r.Name, r.Key)
}

// IndexKey is the value Files are indexed under, so a change to the object they read
// (a Secret, ConfigMap or FileStore) finds them; "" for the zero Ref, which is indexed
// under nothing.
func (r Ref) IndexKey() string {
	if r.Kind == "" {
		return ""
	}
	return IndexKey(r.Kind, r.Name)
}

// IndexKey builds the index value for the object of this kind and name. It is kept
// within one namespace by the index itself.
func IndexKey(kind Kind, name string) string { return string(kind) + "/" + name }

// Read fetches the bytes ref points at. It returns an error wrapping ErrSourceNotFound or
// ErrKeyNotFound when the data is absent, ErrNotShareable (and an empty Content) when the
// object read lacks the label, and the reader's error otherwise. With ErrKeyNotFound the
// Content still names the object's UID and resourceVersion, the version in which the key
// was found missing. The label is checked on the very object read, so a label removed
// after a caller's own check still keeps the data in.
func Read(ctx context.Context, r client.Reader, ref Ref) (Content, error) {
	var obj client.Object
	switch ref.Kind {
	case KindSecret:
		obj = &corev1.Secret{}
	case KindConfigMap:
		obj = &corev1.ConfigMap{}
	default:
		return Content{}, notInCluster(ref)
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
func (r Ref) MetadataKind() schema.GroupVersionKind { return r.Kind.GroupVersionKind() }

// CheckConsent tells, without fetching any data, whether ref's object exists and is
// shareable: nil, or an error wrapping ErrSourceNotFound or ErrNotShareable, or the
// reader's error. labelled reads the metadata cache, which holds labelled objects only
// (CacheByObject); a miss there is either an unlabelled object or none at all, which a
// metadata-only GET through api tells apart. So data is fetched only from an object
// that was labelled a moment ago, and Read checks the label again on it.
func CheckConsent(ctx context.Context, labelled, api client.Reader, ref Ref) error {
	if !ref.Kind.InCluster() {
		return notInCluster(ref)
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

// notInCluster is the error for a Ref this package cannot read: the zero Ref, which
// names no source and so is reported as not found, or a FileStore's, which is a
// caller's mistake (its bytes are read through the store) and must not pass for absence.
func notInCluster(ref Ref) error {
	if ref.Kind == "" {
		return fmt.Errorf("file source names no Secret, ConfigMap or FileStore: %w", ErrSourceNotFound)
	}
	return fmt.Errorf("%s: the bytes of a %s are not read from the cluster", ref, ref.Kind)
}

func notFound(err error, ref Ref) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w", ref, ErrSourceNotFound)
	}
	return fmt.Errorf("reading %s: %w", ref, err)
}
