package v1alpha1

// Reasons a FileStore's conditions carry (see conditions.go for what Ready, Reconciling
// and Stalled mean). Ready=True carries ReasonSucceeded: the bucket answered a HEAD
// signed with the credentials.
const (
	// ReasonCredentialsNotFound: the credentials Secret does not exist (yet). Reconciling.
	ReasonCredentialsNotFound = "CredentialsNotFound"
	// ReasonCredentialsNotShareable: the credentials Secret lacks the label
	// filelink.dev/shareable=true, so the manager does not read it. Stalled until its
	// owner labels it.
	ReasonCredentialsNotShareable = "CredentialsNotShareable"
	// ReasonCredentialsInvalid: the credentials Secret lacks accessKeyID or
	// secretAccessKey. Stalled.
	ReasonCredentialsInvalid = "CredentialsInvalid"
	// ReasonBucketNotFound: the store has no such bucket. Stalled.
	ReasonBucketNotFound = "BucketNotFound"
	// ReasonAccessDenied: the store refused the credentials for this bucket. Stalled.
	ReasonAccessDenied = "AccessDenied"
	// ReasonUnreachable: the store did not answer, or answered with a server error.
	// Reconciling: it is retried with backoff.
	ReasonUnreachable = "Unreachable"
	// ReasonInvalidEndpoint: no client can be built for spec.s3 (possible only when the
	// schema was bypassed). Stalled.
	ReasonInvalidEndpoint = "InvalidEndpoint"
	// ReasonEndpointNotAllowed: the endpoint's address, as dialled after name
	// resolution, is one the manager's address policy refuses (loopback, link-local
	// such as the cloud metadata service, unspecified, multicast, broadcast, or a
	// network of --deny-store-networks; SPEC §12). Not one request was sent. Stalled
	// until the endpoint, or the manager's --allow-store-networks, changes.
	ReasonEndpointNotAllowed = "EndpointNotAllowed"
)
