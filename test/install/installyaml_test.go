package install

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInstallYAML has the API server validate dist/install.yaml (make build-installer;
// hack/verify-generated.sh keeps it current) and checks it promises what the chart does.
func TestInstallYAML(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "dist", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, b)
	dryRunApply(t, objs)
	checkInstall(t, objs, expect{namespace: "filelink-system", replicas: 2, webhook: true, metricsSecure: true, linkBaseURL: "http://localhost:8082"})
	for _, crd := range []string{"files.filelink.dev", "filelinks.filelink.dev"} {
		objs.get(t, "CustomResourceDefinition/"+crd)
	}
}
