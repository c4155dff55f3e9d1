package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FileSpec declares a stored file: where its bytes live and what they are for.
type FileSpec struct {
	// purpose is the use the file is for, one of Stripe's 21 file purposes. Only
	// some purposes may be shared through a FileLink (see FileLink). Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="purpose is immutable"
	Purpose Purpose `json:"purpose"`

	// filename is the name offered to people who download the file. It defaults to
	// the File's metadata.name. At most 255 bytes, without "/" or control characters.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="size(bytes(self)) <= 255",message="filename must be at most 255 bytes"
	// +kubebuilder:validation:XValidation:rule="!self.contains('/')",message="filename must not contain '/'"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[\\\\x00-\\\\x1f\\\\x7f]')",message="filename must not contain control characters"
	Filename string `json:"filename,omitempty"`

	// title is a human-readable title for the file.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Title string `json:"title,omitempty"`

	// contentType is the MIME type served with the file, such as "application/pdf".
	// It defaults to the type registered for the filename's extension, and to
	// "application/octet-stream" when there is none.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$`
	ContentType string `json:"contentType,omitempty"`

	// source says where the file's bytes are stored: one key of a Secret or of a
	// ConfigMap, or one object in the bucket of a FileStore, in the File's namespace.
	// Set exactly one of secret, configMap and store.
	// +required
	Source FileSource `json:"source"`
}

// FileSource names exactly one key of a Secret or ConfigMap, or one object of a
// FileStore, in the File's namespace.
// +kubebuilder:validation:XValidation:rule="[has(self.secret), has(self.configMap), has(self.store)].filter(s, s).size() == 1",message="exactly one of source.secret, source.configMap or source.store must be set"
type FileSource struct {
	// secret names a key of a Secret's data holding the file's bytes.
	// +optional
	Secret *KeySelector `json:"secret,omitempty"`

	// configMap names a key of a ConfigMap holding the file's bytes, in either its
	// data (text) or binaryData (bytes).
	// +optional
	ConfigMap *KeySelector `json:"configMap,omitempty"`

	// store names an object in the bucket of a FileStore, for files of any size.
	// +optional
	Store *StoreObjectSelector `json:"store,omitempty"`
}

// StoreObjectSelector names one object in the bucket of a FileStore in the same
// namespace, optionally one version of it.
type StoreObjectSelector struct {
	// name is the name of the FileStore.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key is the object's key in the bucket, such as "2026/11/receipt-0042.pdf": at
	// most 1024 bytes, as S3 allows.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="size(bytes(self)) <= 1024",message="key must be at most 1024 bytes"
	Key string `json:"key"`

	// versionId pins one version of the object in a versioned bucket. Without it the
	// File follows the object's latest version.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	VersionID string `json:"versionId,omitempty"`
}

// KeySelector names one key of a Secret or ConfigMap in the same namespace.
type KeySelector struct {
	// name is the name of the Secret or ConfigMap.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key is the entry of the Secret or ConfigMap that holds the file's bytes.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// FileStatus describes the content the controller last read from the source.
type FileStatus struct {
	// observedGeneration is the generation of the spec this status describes. It is
	// -1 until the controller has reconciled the File for the first time.
	// +optional
	// +kubebuilder:default=-1
	ObservedGeneration int64 `json:"observedGeneration"`

	// conditions are Ready, Reconciling and Stalled, in the kstatus sense.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// id is Stripe's identifier for the file: "file_" and 24 base62 characters,
	// derived from the object's UID, so it never changes for the object's lifetime.
	// +optional
	ID string `json:"id,omitempty"`

	// size is the content's length in bytes.
	// +optional
	Size int64 `json:"size,omitempty"`

	// sha256 is the hex SHA-256 digest of the content; the link server uses it as
	// the strong ETag.
	// +optional
	SHA256 string `json:"sha256,omitempty"`

	// type is Stripe's file type: the filename's extension in lower case, such as
	// "pdf", "csv" or "png"; empty when the filename has none.
	// +optional
	Type string `json:"type,omitempty"`

	// filename is the name downloads are offered under: spec.filename or, when
	// that is empty, metadata.name.
	// +optional
	Filename string `json:"filename,omitempty"`

	// contentType is the MIME type downloads are served with: spec.contentType or
	// the one derived from the filename.
	// +optional
	ContentType string `json:"contentType,omitempty"`

	// sourceResourceVersion is the resourceVersion of the Secret or ConfigMap this
	// status was computed from; empty when it did not exist. The controller reads the
	// source again only when its version moves on.
	// +optional
	SourceResourceVersion string `json:"sourceResourceVersion,omitempty"`

	// storeObject is the version of the FileStore object that size and sha256
	// describe; set only for a store source. The link server serves exactly this
	// version, and the controller hashes the object again only when it changes.
	// +optional
	StoreObject *StoreObjectVersion `json:"storeObject,omitempty"`

	// lastHandledRecheckAt is the value of the File's annotation
	// filelink.dev/recheck-requested-at that the controller last answered by reading
	// the source again (a HEAD of a FileStore object, a read of a Secret or ConfigMap).
	// While the annotation holds another value, a re-check is pending. The link server
	// sets the annotation when it finds a FileStore object changed or gone under the
	// version storeObject records, so the File follows at once instead of at the
	// store's next interval; a person forces a re-check the same way, with
	// kubectl annotate file NAME filelink.dev/recheck-requested-at="$(date -u +%Y-%m-%dT%H:%M:%SZ)" --overwrite
	// +optional
	LastHandledRecheckAt string `json:"lastHandledRecheckAt,omitempty"`
}

// StoreObjectVersion identifies the version of an object that a File's status
// describes, by whatever the object store offers.
type StoreObjectVersion struct {
	// versionId is the object's version in a versioned bucket; empty when the bucket
	// is not versioned.
	// +optional
	VersionID string `json:"versionId,omitempty"`

	// etag is the object's entity tag as the store reported it, without quotes.
	// +optional
	ETag string `json:"etag,omitempty"`

	// lastModified is when the store last wrote the object.
	// +optional
	LastModified *metav1.Time `json:"lastModified,omitempty"`
}

// File is a stored file with a Stripe purpose, whose bytes live in a Secret, a
// ConfigMap or an object of a FileStore. FileLinks point at Files to share them by URL.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=filelink-all
// +kubebuilder:printcolumn:name="Purpose",type=string,JSONPath=`.spec.purpose`
// +kubebuilder:printcolumn:name="Size",type=integer,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type File struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the file.
	// +required
	Spec FileSpec `json:"spec"`

	// status is what the controller observed of the file's content.
	// +optional
	// +kubebuilder:default={observedGeneration:-1}
	Status FileStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FileList is a list of Files.
type FileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []File `json:"items"`
}

func init() {
	SchemeBuilder.Register(&File{}, &FileList{})
}
