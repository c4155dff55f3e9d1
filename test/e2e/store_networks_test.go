//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// TestEndpointNotAllowed drives README's "Store endpoints cannot reach inside" with
// kubectl against the manager binary: a FileStore pointed at the cloud's metadata
// address, with made-up credentials, is refused at dial time (the suite's manager
// exempts loopback only, for SeaweedFS), and its File is not Ready.
func TestEndpointNotAllowed(t *testing.T) {
	ns := newNamespace(t, "store-networks")
	applyManifest(t, ns, "metadata.yaml", fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: made-up
  labels: {filelink.dev/shareable: "true"}
stringData: {%s: AKIAMADEUP, %s: made-up}
---
apiVersion: filelink.dev/v1alpha1
kind: FileStore
metadata: {name: metadata}
spec:
  s3: {endpoint: "http://169.254.169.254", allowInsecureHTTP: true, region: us-east-1,
       bucket: latest, forcePathStyle: true, credentials: {secretName: made-up}}
---
apiVersion: filelink.dev/v1alpha1
kind: File
metadata: {name: credentials}
spec:
  purpose: dispute_evidence
  source: {store: {name: metadata, key: meta-data/iam/security-credentials/role}}
`, filelinkv1.CredentialsAccessKeyID, filelinkv1.CredentialsSecretAccessKey))
	mustKubectl(t, ns, "wait", "filestore/metadata", `--for=jsonpath={.status.conditions[?(@.type=="Ready")].reason}=`+filelinkv1.ReasonEndpointNotAllowed, "--timeout=30s")
	mustKubectl(t, ns, "wait", "filestore/metadata", "--for=condition=Stalled", "--timeout=5s")
	mustKubectl(t, ns, "wait", "file/credentials", "--for=condition=Ready=False", "--timeout=30s")
}
