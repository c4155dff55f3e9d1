package install

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestChartServiceAccount: the manager runs as the ServiceAccount the chart creates, or
// as one the platform team brings (serviceAccount.create=false with a name), and every
// binding names that account.
func TestChartServiceAccount(t *testing.T) {
	t.Run("created, with annotations", func(t *testing.T) {
		objs := render(t, "filelink-system", map[string]any{"serviceAccount": map[string]any{
			"annotations": map[string]any{"iam.example.com/role": "files"}}})
		sa := objs.one(t, "ServiceAccount", "controller-manager")
		if sa.GetAnnotations()["iam.example.com/role"] != "files" {
			t.Errorf("annotations %v", sa.GetAnnotations())
		}
		wantAccount(t, objs, sa.GetName())
	})
	t.Run("brought by the user", func(t *testing.T) {
		objs := render(t, "filelink-system", map[string]any{"serviceAccount": map[string]any{"create": false, "name": "files-sa"}})
		if n := objs.count("ServiceAccount"); n != 0 {
			t.Errorf("%d ServiceAccounts rendered, want none", n)
		}
		wantAccount(t, objs, "files-sa")
	})
	t.Run("not created and not named", func(t *testing.T) {
		_, err := template("filelink-system", map[string]any{"serviceAccount": map[string]any{"create": false}})
		if err == nil || !strings.Contains(err.Error(), "serviceAccount.name is required") {
			t.Errorf("err = %v", err)
		}
	})
}

// wantAccount checks that the manager runs as name and every binding to it says so.
func wantAccount(t *testing.T, objs objects, name string) {
	t.Helper()
	dep := objs.one(t, "Deployment", "controller-manager")
	if got, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "spec", "serviceAccountName"); got != name {
		t.Errorf("Deployment runs as %q, want %q", got, name)
	}
	bindings := 0
	for _, u := range objs {
		if u.GetKind() != "RoleBinding" && u.GetKind() != "ClusterRoleBinding" {
			continue
		}
		subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
		for _, s := range subjects {
			if m, _ := s.(map[string]any); m["kind"] == "ServiceAccount" {
				bindings++
				if m["name"] != name {
					t.Errorf("%s/%s binds ServiceAccount %v, want %q", u.GetKind(), u.GetName(), m["name"], name)
				}
			}
		}
	}
	if bindings == 0 {
		t.Error("no binding names the ServiceAccount")
	}
}
