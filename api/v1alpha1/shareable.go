package v1alpha1

// ShareableLabel is the label by which the owner of a Secret or ConfigMap consents to
// the manager reading it (SPEC §2 "Consent"): as a File's content or as a FileStore's
// credentials. Without it, being allowed to create a File would be a way to publish any
// Secret of the namespace, or a digest of it, at a public URL. Only the value
// ShareableValue consents; the manager's caches and reads see nothing else.
const ShareableLabel = "filelink.dev/shareable"

// ShareableValue is the one value of ShareableLabel that consents.
const ShareableValue = "true"
