package install

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// audit renders as the manager's audit flags (SPEC §13): the defaults write to stdout
// and trust no proxy; a file path gets a volume at its directory, since the root
// filesystem is read-only; every replica names itself by its pod's name.
func TestChartAudit(t *testing.T) {
	defaults := render(t, "filelink-system", nil)
	for _, a := range defaults.managerArgs(t) {
		if strings.Contains(a, "audit") || strings.Contains(a, "trusted-proxies") {
			t.Errorf("defaults render %s", a)
		}
	}
	if env := managerEnv(t, defaults); env["POD_NAME"] != "metadata.name" {
		t.Errorf("POD_NAME from %q, want the downward API's metadata.name", env["POD_NAME"])
	}

	off := render(t, "filelink-system", map[string]any{"audit": map[string]any{"log": "off", "trustedProxies": []any{"10.0.0.0/8", "fd00::/8"}}})
	for _, want := range []string{"--audit-log=off", "--trusted-proxies=10.0.0.0/8,fd00::/8"} {
		if !slices.Contains(off.managerArgs(t), want) {
			t.Errorf("args %v lack %s", off.managerArgs(t), want)
		}
	}

	file := render(t, "filelink-system", map[string]any{"audit": map[string]any{"log": "/var/log/filelink/audit.log",
		"volume": map[string]any{"persistentVolumeClaim": map[string]any{"claimName": "filelink-audit"}}}})
	if !slices.Contains(file.managerArgs(t), "--audit-log=/var/log/filelink/audit.log") {
		t.Errorf("args %v lack the file", file.managerArgs(t))
	}
	spec := file.one(t, "Deployment", "controller-manager").Object
	containers, _, _ := unstructured.NestedSlice(spec, "spec", "template", "spec", "containers")
	mounts, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "volumeMounts")
	if !slices.ContainsFunc(mounts, func(m any) bool {
		return m.(map[string]any)["name"] == "audit-log" && m.(map[string]any)["mountPath"] == "/var/log/filelink"
	}) {
		t.Errorf("no audit-log mount at /var/log/filelink: %v", mounts)
	}
	volumes, _, _ := unstructured.NestedSlice(spec, "spec", "template", "spec", "volumes")
	if !slices.ContainsFunc(volumes, func(v any) bool {
		claim, _, _ := unstructured.NestedString(v.(map[string]any), "persistentVolumeClaim", "claimName")
		return v.(map[string]any)["name"] == "audit-log" && claim == "filelink-audit"
	}) {
		t.Errorf("no audit-log volume of the claim: %v", volumes)
	}

	for name, values := range map[string]map[string]any{
		"an unknown key":     {"audit": map[string]any{"enabled": true}},
		"a relative path":    {"audit": map[string]any{"log": "audit.log"}},
		"a directory":        {"audit": map[string]any{"log": "/var/log/"}},
		"a proxy host name":  {"audit": map[string]any{"trustedProxies": []any{"ingress-nginx"}}},
		"a comma-joined one": {"audit": map[string]any{"trustedProxies": []any{"10.0.0.0/8,10.1.0.0/16"}}},
	} {
		if _, err := template("filelink-system", values); err == nil || !strings.Contains(err.Error(), "audit") {
			t.Errorf("%s: %v, want a schema error naming audit", name, err)
		}
	}
}

// managerEnv maps the manager container's variables set from the downward API to the
// field each reads.
func managerEnv(t *testing.T, o objects) map[string]string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(o.one(t, "Deployment", "controller-manager").Object, "spec", "template", "spec", "containers")
	env, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
	out := map[string]string{}
	for _, e := range env {
		path, _, _ := unstructured.NestedString(e.(map[string]any), "valueFrom", "fieldRef", "fieldPath")
		out[e.(map[string]any)["name"].(string)] = path
	}
	return out
}
