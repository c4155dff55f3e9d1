package v1alpha1

// ShareableLabel is the label with which the owner of a Secret or ConfigMap consents to
// the manager reading it, as a File's content or as a FileStore's credentials (SPEC §2).
// Creating a File or FileStore must never be a way to use data its creator could not
// read, so the manager reads only objects whose owner set this label to
// ShareableLabelValue.
const ShareableLabel = "filelink.dev/shareable"

// ShareableLabelValue is the one value of ShareableLabel that gives consent.
const ShareableLabelValue = "true"
