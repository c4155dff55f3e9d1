package v1alpha1

// Conditions on File and FileLink follow the kstatus conventions, so that Flux, Argo CD
// and `kubectl wait` read them without custom code:
//
//   - Ready is the one positive condition. True means the declared state is fully
//     realised. A FileLink that was declared to expire and has expired has reached
//     exactly what was declared, so it is Ready=True with reason Expired: GitOps tools
//     show it as current, and no alert fires for an expiry somebody asked for.
//   - Reconciling=True means the object is waiting for something that will arrive by
//     itself (a File applied later in the same sync, a Secret still being created).
//   - Stalled=True means nothing will change until somebody edits a spec (a link to a
//     File whose purpose may not be linked).
//
// Reconciling and Stalled are "abnormal-true": they are removed, not set to False, when
// they stop applying. Every condition carries the generation it was computed for, and
// status.observedGeneration starts at -1 so that no tool reads a never-reconciled
// object as current.
const (
	// ConditionReady is true when the declared state is fully realised.
	ConditionReady = "Ready"
	// ConditionReconciling is true while waiting for something that will come by itself.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is true when only a spec change can make progress.
	ConditionStalled = "Stalled"
)

// Reasons a File's conditions carry.
const (
	// ReasonSucceeded: the source was read and the File's status describes it.
	ReasonSucceeded = "Succeeded"
	// ReasonSourceNotFound: the Secret or ConfigMap named by spec.source does not exist.
	ReasonSourceNotFound = "SourceNotFound"
	// ReasonKeyNotFound: the source exists but has no entry under the named key.
	ReasonKeyNotFound = "KeyNotFound"
	// ReasonSourceNotShareable: the source lacks the label filelink.dev/shareable=true
	// that its owner sets to consent to sharing it (SPEC §2); Stalled, since only the
	// owner's label can help.
	ReasonSourceNotShareable = "SourceNotShareable"
	// ReasonStoreNotFound: spec.source.store names no FileStore in the namespace (yet).
	// Reconciling: the FileStore's arrival wakes the File.
	ReasonStoreNotFound = "StoreNotFound"
	// ReasonStoreNotReady: the FileStore exists but is not Ready; the message carries
	// its reason. Reconciling: the File follows the store when it recovers.
	ReasonStoreNotReady = "StoreNotReady"
	// ReasonObjectNotFound: the bucket has no object (or no such version) under the
	// key. Reconciling: an object may be uploaded later, and is looked for every
	// FileStore interval. The store-wide reasons ReasonBucketNotFound,
	// ReasonAccessDenied, ReasonUnreachable and the credentials reasons of
	// filestore_conditions.go apply to Files of a store too.
	ReasonObjectNotFound = "ObjectNotFound"
)

// Reasons a FileLink's conditions carry. The STATUS printer column shows them.
const (
	// ReasonActive: the URL serves the file.
	ReasonActive = "Active"
	// ReasonExpired: expiresAt has passed; the URL answers 410 Gone for good.
	ReasonExpired = "Expired"
	// ReasonDownloadLimitReached: status.downloads has reached spec.maxDownloads; the
	// URL answers 410 Gone, like an expired link's.
	ReasonDownloadLimitReached = "DownloadLimitReached"
	// ReasonFileNotFound: spec.file names no File in the namespace (yet).
	ReasonFileNotFound = "FileNotFound"
	// ReasonFileNotReady: the File exists but its content could not be read.
	ReasonFileNotReady = "FileNotReady"
	// ReasonPurposeNotLinkable: the File's purpose is not one Stripe allows links for.
	ReasonPurposeNotLinkable = "PurposeNotLinkable"
	// ReasonURLSecretNotOwned: spec.urlSecretName names a Secret the link does not own,
	// which the operator never touches; name another, or delete that Secret.
	ReasonURLSecretNotOwned = "URLSecretNotOwned"
	// ReasonURLSecretRequired: the install keeps URLs out of status
	// (--url-in-status=false) and the link names no spec.urlSecretName, so its URL could
	// be published nowhere.
	ReasonURLSecretRequired = "URLSecretRequired"
)

// The messages of a Ready=True condition. The reconcilers write them, and the benchmark
// (test/perf) writes the same ones, so that its status patches cost the API server
// exactly what the reconcilers' do.

// SucceededMessage is a File's message once its source, named as
// `Secret "docs" key "invoice.pdf"`, was read.
func SucceededMessage(source string) string { return "content read from " + source }

// ActiveMessage is a FileLink's message while it serves the File named file.
func ActiveMessage(file string) string { return "the link serves File " + file }
