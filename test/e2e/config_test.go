//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// TestDefaultConfigBuilds renders config/default with kubectl's kustomize, as a user
// deploying the operator would, and checks what the deployment promises.
func TestDefaultConfigBuilds(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), "kubectl", "kustomize", "config/default")
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/default: %v", err)
	}
	objs := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		objs[u.GetKind()+"/"+u.GetName()] = u
		if ns := u.GetNamespace(); ns != "" && ns != "filelink-system" {
			t.Errorf("%s/%s is in namespace %q", u.GetKind(), u.GetName(), ns)
		}
	}
	for _, want := range []string{
		"CustomResourceDefinition/files.filelink.dev", "CustomResourceDefinition/filelinks.filelink.dev",
		"Deployment/filelink-controller-manager", "ServiceAccount/filelink-controller-manager",
		"ClusterRole/filelink-manager-role", "Role/filelink-manager-role", "Role/filelink-leader-election-role",
		"Service/filelink-link-server", "Service/filelink-webhook-service", "Service/filelink-controller-manager-metrics-service",
		"ValidatingWebhookConfiguration/filelink-validating-webhook-configuration",
		"Certificate/filelink-serving-cert", "Issuer/filelink-selfsigned-issuer",
	} {
		if objs[want] == nil {
			t.Errorf("config/default lacks %s", want)
		}
	}
	if t.Failed() {
		return
	}

	dep := objs["Deployment/filelink-controller-manager"].Object
	str := func(obj map[string]any, path ...string) string {
		v, _, _ := unstructured.NestedFieldNoCopy(obj, path...)
		s, _ := v.(string)
		return s
	}
	flag := func(obj map[string]any, path ...string) bool {
		v, _, _ := unstructured.NestedBool(obj, path...)
		return v
	}
	if !flag(dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") {
		t.Error("manager pod may run as root")
	}
	containers, _, _ := unstructured.NestedSlice(dep, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	if !flag(c, "securityContext", "readOnlyRootFilesystem") || flag(c, "securityContext", "allowPrivilegeEscalation") {
		t.Errorf("manager container security context: %v", c["securityContext"])
	}
	if str(c, "resources", "requests", "memory") == "" || str(c, "resources", "requests", "cpu") == "" {
		t.Errorf("manager container has no resource requests: %v", c["resources"])
	}
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	for _, want := range []string{"--leader-elect", "--webhook-cert-dir=/tmp/k8s-webhook-server/serving-certs", "--signing-key-secret=$(POD_NAMESPACE)/filelink-signing-key"} {
		if !slices.Contains(args, want) {
			t.Errorf("manager args %v lack %s", args, want)
		}
	}

	vwc := objs["ValidatingWebhookConfiguration/filelink-validating-webhook-configuration"]
	if got := vwc.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != "filelink-system/filelink-serving-cert" {
		t.Errorf("webhook CA injection from %q", got)
	}
	hooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
	svc := hooks[0].(map[string]any)
	if str(svc, "clientConfig", "service", "name") != "filelink-webhook-service" || str(svc, "clientConfig", "service", "namespace") != "filelink-system" {
		t.Errorf("webhook points at %v", svc["clientConfig"])
	}
	dns, _, _ := unstructured.NestedStringSlice(objs["Certificate/filelink-serving-cert"].Object, "spec", "dnsNames")
	if !slices.Contains(dns, "filelink-webhook-service.filelink-system.svc") {
		t.Errorf("certificate DNS names %v", dns)
	}

	// Least privilege: cluster-wide, Secrets are read, and created and updated for links'
	// URL Secrets (only ones a FileLink owns), never patched or deleted; the signing key
	// is the operator's namespace's Role alone.
	rules, _, _ := unstructured.NestedSlice(objs["ClusterRole/filelink-manager-role"].Object, "rules")
	for _, r := range rules {
		rule := r.(map[string]any)
		res, _, _ := unstructured.NestedStringSlice(rule, "resources")
		verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
		if slices.Contains(res, "secrets") && slices.ContainsFunc(verbs, func(v string) bool { return !slices.Contains([]string{"get", "list", "watch", "create", "update"}, v) }) {
			t.Errorf("the ClusterRole may %v secrets", verbs)
		}
		if slices.Contains(verbs, "*") || slices.Contains(res, "*") {
			t.Errorf("the ClusterRole has a wildcard rule: %v", rule)
		}
	}
	var namespaced []string
	for _, r := range mustSlice(objs["Role/filelink-manager-role"].Object, "rules") {
		res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
		verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
		if slices.Contains(res, "secrets") && slices.Contains(verbs, "create") {
			return
		}
		namespaced = append(namespaced, fmt.Sprint(res, verbs))
	}
	t.Errorf("the namespaced Role does not allow creating the signing key Secret: %v", namespaced)
}

func mustSlice(obj map[string]any, path ...string) []any {
	s, _, _ := unstructured.NestedSlice(obj, path...)
	return s
}
