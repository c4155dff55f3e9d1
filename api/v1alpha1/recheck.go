package v1alpha1

// RecheckRequestedAtAnnotation on a File asks the File controller to read its source
// again now instead of at the next scheduled check, after Flux's
// reconcile.fluxcd.io/requestedAt: every new value is one request, and
// status.lastHandledRecheckAt holds the value last acted on. The value is opaque to the
// controller; whoever sets it writes the current time (RFC 3339), so that a new request
// always differs from the last. The link server sets it when it finds the object of a
// store-backed File changed or gone under the version the File's status records: it
// runs on every replica, the File controller only on the leader, so the request travels
// through the API server. A person may set it too, with kubectl annotate --overwrite.
const RecheckRequestedAtAnnotation = "filelink.dev/recheck-requested-at"

// RecheckRequest is the value of the File's RecheckRequestedAtAnnotation, "" when unset.
func (f *File) RecheckRequest() string { return f.Annotations[RecheckRequestedAtAnnotation] }
