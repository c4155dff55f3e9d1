package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Delivery says how the link server hands out a stored object's bytes.
// +kubebuilder:validation:Enum=proxy;redirect
type Delivery string

const (
	// DeliveryProxy streams the object through the link server, so the object store
	// need not be reachable by the people who download.
	DeliveryProxy Delivery = "proxy"
	// DeliveryRedirect answers with a redirect to a short-lived presigned URL, so the
	// bytes flow from the object store and not through the cluster.
	DeliveryRedirect Delivery = "redirect"
)

// FileStoreSpec declares an S3-compatible bucket whose objects Files may name.
type FileStoreSpec struct {
	// s3 says where the bucket is and how to sign requests to it.
	// +required
	S3 S3Bucket `json:"s3"`

	// delivery is how downloads get the bytes: "proxy" (the default) streams them
	// through the link server; "redirect" answers with a redirect to a presigned URL of
	// the object store that expires within 60 seconds, and never after the link does.
	// +optional
	// +kubebuilder:default=proxy
	Delivery Delivery `json:"delivery,omitempty"`

	// interval is how often the bucket, and every File reading an object of it, is
	// checked again, for example "10m" or "1h". At least one second.
	// +optional
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="interval must be at least 1s"
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// DefaultInterval is how often a FileStore is checked when spec.interval is unset.
const DefaultInterval = 10 * time.Minute

// CheckInterval is spec.interval, or DefaultInterval when it is unset (the schema
// defaults it, but a client may hold an object the API server never defaulted).
func (s *FileStoreSpec) CheckInterval() time.Duration {
	if s.Interval == nil || s.Interval.Duration <= 0 {
		return DefaultInterval
	}
	return s.Interval.Duration
}

// S3Bucket locates a bucket of an S3-compatible object store (AWS S3, MinIO, Ceph,
// SeaweedFS, R2, ...) and the credentials to read it.
// +kubebuilder:validation:XValidation:rule="!isURL(self.endpoint) || url(self.endpoint).getScheme() == 'https' || (url(self.endpoint).getScheme() == 'http' && has(self.allowInsecureHTTP) && self.allowInsecureHTTP)",message="endpoint must use https, or http with allowInsecureHTTP: true",fieldPath=".endpoint"
type S3Bucket struct {
	// endpoint is the URL of the S3 API, scheme and host with an optional port and
	// nothing else, such as "https://s3.eu-west-1.amazonaws.com" or
	// "https://minio.storage.svc:9000". It must use https unless allowInsecureHTTP is
	// true.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getHost() != ''",message="endpoint must be an absolute URL such as https://s3.example.com"
	// +kubebuilder:validation:XValidation:rule="!isURL(self) || url(self).getScheme() in ['http', 'https']",message="endpoint scheme must be https or http"
	// +kubebuilder:validation:XValidation:rule="!isURL(self) || url(self).getEscapedPath() in ['', '/']",message="endpoint must not have a path; set the bucket in bucket"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="endpoint must not have a query or fragment"
	// +kubebuilder:validation:XValidation:rule="!self.contains('@')",message="endpoint must not carry credentials; use credentials.secretName"
	Endpoint string `json:"endpoint"`

	// allowInsecureHTTP permits an http:// endpoint. Requests, credentials signatures
	// and the files' bytes then travel unencrypted, so set it only for a store reached
	// over a trusted network, such as one in the same cluster.
	// +optional
	AllowInsecureHTTP bool `json:"allowInsecureHTTP,omitempty"`

	// region is the bucket's region, such as "eu-west-1". When empty, the client asks
	// the store; most self-hosted stores accept any value, usually "us-east-1".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`
	Region string `json:"region,omitempty"`

	// bucket is the name of the bucket: 3 to 63 lower-case letters, digits, dots and
	// hyphens, starting and ending with a letter or digit, as S3 requires.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`
	// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="bucket must not contain two adjacent dots"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]+\\\\.[0-9]+\\\\.[0-9]+\\\\.[0-9]+$')",message="bucket must not be formatted as an IP address"
	Bucket string `json:"bucket"`

	// forcePathStyle addresses the bucket as endpoint/bucket instead of as the host
	// name bucket.endpoint. Most self-hosted stores need it; AWS S3 does not.
	// +optional
	ForcePathStyle bool `json:"forcePathStyle,omitempty"`

	// credentials names the Secret with the access key the manager signs requests
	// with. The key needs only read access to the bucket's objects.
	// +required
	Credentials S3Credentials `json:"credentials"`
}

// S3Credentials names a Secret in the FileStore's namespace with the keys
// "accessKeyID" and "secretAccessKey". The manager reads it only when its owner has
// labelled it filelink.dev/shareable=true.
type S3Credentials struct {
	// secretName is the name of the Secret in the FileStore's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName"`
}

// Keys of the credentials Secret of a FileStore.
const (
	// CredentialsAccessKeyID is the Secret key holding the S3 access key ID.
	CredentialsAccessKeyID = "accessKeyID"
	// CredentialsSecretAccessKey is the Secret key holding the S3 secret access key.
	CredentialsSecretAccessKey = "secretAccessKey"
)

// FileStoreStatus is what the controller last observed of the bucket.
type FileStoreStatus struct {
	// observedGeneration is the generation of the spec this status describes. It is
	// -1 until the controller has reconciled the FileStore for the first time.
	// +optional
	// +kubebuilder:default=-1
	ObservedGeneration int64 `json:"observedGeneration"`

	// conditions are Ready, Reconciling and Stalled, in the kstatus sense. Ready is
	// true when the bucket was reached with the credentials.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// FileStore is a bucket of an S3-compatible object store, with the credentials to read
// it, from which Files take objects too large for a Secret or ConfigMap.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fstore,categories=filelink-all
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.s3.endpoint`
// +kubebuilder:printcolumn:name="Bucket",type=string,JSONPath=`.spec.s3.bucket`
// +kubebuilder:printcolumn:name="Delivery",type=string,JSONPath=`.spec.delivery`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FileStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the bucket and how its objects are delivered.
	// +required
	Spec FileStoreSpec `json:"spec"`

	// status is what the controller observed of the bucket.
	// +optional
	// +kubebuilder:default={observedGeneration:-1}
	Status FileStoreStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FileStoreList is a list of FileStores.
type FileStoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FileStore `json:"items"`
}

func init() {
	SchemeBuilder.Register(&FileStore{}, &FileStoreList{})
}
