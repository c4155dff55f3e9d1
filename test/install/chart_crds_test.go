package install

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestChartCRDs: the chart renders the CRDs as templates, so helm upgrade updates them,
// with the very schema config/crd/bases holds; keeps them on uninstall unless told
// otherwise; and leaves them out when crds.enabled is false.
func TestChartCRDs(t *testing.T) {
	objs := render(t, "filelink-system", nil)
	bases, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("config/crd/bases: %v", err)
	}
	if n := objs.count("CustomResourceDefinition"); n != len(bases) {
		t.Errorf("%d CRDs rendered, %d in config/crd/bases", n, len(bases))
	}
	for _, b := range bases {
		raw, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		for key, want := range decode(t, raw) {
			got := objs.get(t, key)
			wantSpec, _, _ := unstructured.NestedMap(want.Object, "spec")
			gotSpec, _, _ := unstructured.NestedMap(got.Object, "spec")
			if !equalJSON(t, wantSpec, gotSpec) {
				t.Errorf("%s: the chart's spec differs from %s", key, b)
			}
			if got.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
				t.Errorf("%s is not kept on uninstall: %v", key, got.GetAnnotations())
			}
			if got.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
				t.Errorf("%s lacks the chart's labels: %v", key, got.GetLabels())
			}
		}
	}
	for key, u := range render(t, "filelink-system", map[string]any{"crds": map[string]any{"keep": false}}) {
		if u.GetKind() == "CustomResourceDefinition" && u.GetAnnotations()["helm.sh/resource-policy"] != "" {
			t.Errorf("%s kept with crds.keep=false", key)
		}
	}
	if n := render(t, "filelink-system", map[string]any{"crds": map[string]any{"enabled": false}}).count("CustomResourceDefinition"); n != 0 {
		t.Errorf("%d CRDs with crds.enabled=false", n)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
