package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FileLinkSpec declares a shareable download link to a File.
type FileLinkSpec struct {
	// file is the name of the File, in the same namespace, that the link downloads.
	// The File may be created after the link; the link waits for it. The File's
	// purpose must be one Stripe allows links for: business_icon, business_logo,
	// customer_signature, dispute_evidence, finance_report_run,
	// financial_account_statement, identity_document_downloadable,
	// issuing_regulatory_reporting, pci_document, selfie, sigma_scheduled_query,
	// tax_document_user_upload or terminal_reader_splashscreen. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="file is immutable"
	File string `json:"file"`

	// expiresAt is the instant (RFC 3339) from which the link answers 410 Gone. A
	// value already past when the link is created is admitted with a warning, and
	// the link is born expired: it never serves. While the link has not expired it
	// may be moved; a past value expires the link at once, and removing it makes the
	// link never expire. Once expired, a link cannot be changed.
	// Written as Go's time.RFC3339 reads it: upper-case "T" and "Z", e.g.
	// "2030-01-01T00:00:00Z" or "2030-01-01T01:00:00.5+01:00".
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=date-time
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$`
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// metadata is a set of key-value pairs for your own use, with Stripe's limits:
	// at most 50 keys, each at most 40 characters and without "[" or "]", each
	// value at most 500 characters.
	// +optional
	// +kubebuilder:validation:MaxProperties=50
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 40)",message="metadata keys must be at most 40 characters"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.contains('[') && !k.contains(']'))",message="metadata keys must not contain '[' or ']'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 500)",message="metadata values must be at most 500 characters"
	Metadata map[string]string `json:"metadata,omitempty"`

	// urlSecretName names a Secret, in the link's namespace, that the operator creates
	// and keeps current with the link's "url", "id" and "expiresAt" (empty when the link
	// never expires), so the URL, a bearer credential, is readable only by whoever may
	// read that Secret; status.url then shows the URL with its token replaced by "…".
	// The Secret is owned by the link and deleted with it. An existing Secret the link
	// does not own is never touched: the link is Ready=False, reason URLSecretNotOwned.
	// An install with --url-in-status=false publishes URLs this way only.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	URLSecretName string `json:"urlSecretName,omitempty"`

	// maxDownloads limits how many times the link may be downloaded; 1 makes a
	// one-time link. A download is a GET answered with the whole file, or with a range
	// starting at its first byte; HEAD and conditional requests answered 304 never
	// count. Each download is reserved in status.downloads before its first byte is
	// sent, so every replica together serves at most this many; from then on the link
	// answers 410 Gone and is Ready with reason DownloadLimitReached. While the link
	// has not reached it the limit may be changed freely; once reached it may be
	// lowered but neither raised nor removed. Without it the link serves any number of
	// downloads, and status.downloads still counts them.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	MaxDownloads *int32 `json:"maxDownloads,omitempty"`
}

// FileLinkStatus is the link as issued: its URL and whether it still serves.
type FileLinkStatus struct {
	// observedGeneration is the generation of the spec this status describes. It is
	// -1 until the controller has reconciled the link for the first time.
	// +optional
	// +kubebuilder:default=-1
	ObservedGeneration int64 `json:"observedGeneration"`

	// conditions are Ready, Reconciling and Stalled, in the kstatus sense. An
	// expired link is Ready=True with reason Expired: it is in the state declared.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// id is Stripe's identifier for the link: "link_" and 24 base62 characters,
	// derived from the object's UID, so it never changes for the object's lifetime.
	// +optional
	ID string `json:"id,omitempty"`

	// url downloads the file. It is derived from the object's UID and the
	// operator's signing key, so it stays the same across restarts and even if
	// status is lost; rotating the signing key revokes it. With spec.urlSecretName,
	// or an install that keeps URLs out of status, its token is shown as "…" and the
	// whole URL is in the Secret.
	// +optional
	URL string `json:"url,omitempty"`

	// expired is true once expiresAt has passed. It never becomes false again.
	// +optional
	Expired bool `json:"expired,omitempty"`

	// size is the length in bytes of the content the link serves.
	// +optional
	Size int64 `json:"size,omitempty"`

	// sha256 is the hex SHA-256 digest of the content the link serves.
	// +optional
	SHA256 string `json:"sha256,omitempty"`

	// downloads is how many times the link has been downloaded: GETs answered with
	// the whole file or a range from its first byte. With spec.maxDownloads each one is
	// recorded before it is served; without, every replica adds its count at most once
	// every 10 seconds, so the figure may trail by that long.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	Downloads int64 `json:"downloads,omitempty"`

	// lastDownloadedAt is when the latest counted download began.
	// +optional
	LastDownloadedAt *metav1.Time `json:"lastDownloadedAt,omitempty"`
}

// FileLink is a shareable URL that downloads a File, optionally until an expiry or a
// number of downloads.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fl,categories=filelink-all
// +kubebuilder:selectablefield:JSONPath=`.spec.file`
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.spec.maxDownloads) || !has(oldSelf.status) || !has(oldSelf.status.downloads) || oldSelf.status.downloads < oldSelf.spec.maxDownloads || (has(self.spec.maxDownloads) && self.spec.maxDownloads <= oldSelf.spec.maxDownloads)",message="spec.maxDownloads has been reached: it may be lowered, but neither raised nor removed; create a new FileLink instead"
// +kubebuilder:printcolumn:name="File",type=string,JSONPath=`.spec.file`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Downloads",type=integer,JSONPath=`.status.downloads`
// +kubebuilder:printcolumn:name="Expires",type=string,format=date-time,JSONPath=`.spec.expiresAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="URL",type=string,priority=1,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="ID",type=string,priority=1,JSONPath=`.status.id`
type FileLink struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the link.
	// +required
	Spec FileLinkSpec `json:"spec"`

	// status is the link as issued by the controller.
	// +optional
	// +kubebuilder:default={observedGeneration:-1}
	Status FileLinkStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FileLinkList is a list of FileLinks.
type FileLinkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FileLink `json:"items"`
}

func init() {
	SchemeBuilder.Register(&FileLink{}, &FileLinkList{})
}
