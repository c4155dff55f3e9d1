package install

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
)

var chartDir = filepath.Join("..", "..", "charts", "filelink-operator")

// render is `helm template` through the SDK, CRDs included.
func render(t *testing.T, namespace string, values map[string]any) objects {
	t.Helper()
	manifest, err := template(namespace, values)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	return decode(t, []byte(manifest))
}

// template renders the chart as `helm template` does, values.schema.json checked.
func template(namespace string, values map[string]any) (string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return "", err
	}
	kv, err := chartutil.ParseKubeVersion("v1.37.2")
	if err != nil {
		return "", err
	}
	in := action.NewInstall(&action.Configuration{})
	in.ClientOnly, in.DryRun, in.Replace = true, true, true
	in.ReleaseName, in.Namespace, in.KubeVersion = "files", namespace, kv
	rel, err := in.Run(ch, values)
	if err != nil {
		return "", err
	}
	return rel.Manifest, nil
}

func createNamespace(t *testing.T, name string) {
	t.Helper()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

func TestChartLints(t *testing.T) {
	for name, values := range map[string]map[string]any{
		"defaults": nil,
		"everything on": {
			"ingress":        map[string]any{"enabled": true, "className": "nginx"},
			"metrics":        map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
			"grafana":        map[string]any{"dashboard": map[string]any{"enabled": true}},
			"prometheusRule": map[string]any{"enabled": true},
		},
	} {
		lint := action.NewLint()
		lint.Strict = true
		res := lint.Run([]string{chartDir}, values)
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: helm lint: %s", name, m)
			}
		}
		for _, err := range res.Errors {
			t.Errorf("%s: helm lint: %v", name, err)
		}
	}
}

// TestChartDefaults renders the chart as `helm install` would with no values and has
// the API server validate every object.
func TestChartDefaults(t *testing.T) {
	createNamespace(t, "chart-defaults")
	objs := render(t, "chart-defaults", nil)
	dryRunApply(t, objs)
	checkInstall(t, objs, expect{namespace: "chart-defaults", replicas: 2, webhook: true, metricsSecure: true, linkBaseURL: "http://localhost:8082"})
	for _, crd := range []string{"files.filelink.dev", "filelinks.filelink.dev"} {
		objs.get(t, "CustomResourceDefinition/"+crd)
	}
	if n := objs.count("Ingress") + objs.count("ServiceMonitor"); n != 0 {
		t.Errorf("%d Ingress/ServiceMonitor objects by default", n)
	}
}

// TestChartValues turns every documented value and checks that each lands where it
// should.
func TestChartValues(t *testing.T) {
	createNamespace(t, "chart-values")
	objs := render(t, "chart-values", map[string]any{
		"image":             map[string]any{"repository": "registry.example.com/filelink-operator", "tag": "v9"},
		"replicas":          3,
		"linkBaseURL":       "https://files.example.com",
		"resources":         map[string]any{"limits": map[string]any{"memory": "512Mi"}},
		"commonLabels":      map[string]any{"team": "payments"},
		"commonAnnotations": map[string]any{"owner": "payments@example.com"},
		"nodeSelector":      map[string]any{"kubernetes.io/os": "linux"},
		"tolerations":       []any{map[string]any{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}},
		"affinity": map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
			"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "pool", "operator": "In", "values": []any{"ops"}}}}},
		}}},
		"webhook": map[string]any{"enabled": false},
		"metrics": map[string]any{"secure": false, "serviceMonitor": map[string]any{"enabled": true}},
		"ingress": map[string]any{"enabled": true, "className": "nginx", "host": "files.example.com",
			"tls": []any{map[string]any{"secretName": "files-tls", "hosts": []any{"files.example.com"}}}},
	})
	dryRunApply(t, objs)
	checkInstall(t, objs, expect{namespace: "chart-values", replicas: 3, webhook: false, metricsSecure: false, linkBaseURL: "https://files.example.com"})

	for key, u := range objs {
		if u.GetLabels()["team"] != "payments" || u.GetAnnotations()["owner"] != "payments@example.com" {
			t.Errorf("%s lacks the extra labels or annotations: %v %v", key, u.GetLabels(), u.GetAnnotations())
		}
	}
	if n := objs.count("Certificate") + objs.count("Issuer"); n != 0 {
		t.Errorf("%d cert-manager objects with the webhook off", n)
	}
	dep := objs.one(t, "Deployment", "controller-manager")
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	c := pod["containers"].([]any)[0].(map[string]any)
	if c["image"] != "registry.example.com/filelink-operator:v9" {
		t.Errorf("image %v", c["image"])
	}
	if mem, _, _ := unstructured.NestedString(c, "resources", "limits", "memory"); mem != "512Mi" {
		t.Errorf("memory limit %q", mem)
	}
	if os, _, _ := unstructured.NestedString(pod, "nodeSelector", "kubernetes.io/os"); os != "linux" {
		t.Errorf("nodeSelector %v", pod["nodeSelector"])
	}
	if tol, _, _ := unstructured.NestedSlice(pod, "tolerations"); len(tol) != 1 {
		t.Errorf("tolerations %v", tol)
	}
	if _, ok, _ := unstructured.NestedMap(pod, "affinity", "nodeAffinity"); !ok {
		t.Errorf("affinity %v", pod["affinity"])
	}
	if podLabels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels"); podLabels["team"] != "payments" {
		t.Errorf("pod labels %v", podLabels)
	}
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	if !slices.Contains(args, "--metrics-bind-address=:8080") {
		t.Errorf("plain metrics: args %v", args)
	}

	ing := objs.one(t, "Ingress", "links")
	rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
	rule := rules[0].(map[string]any)
	paths, _, _ := unstructured.NestedSlice(rule, "http", "paths")
	backend, _, _ := unstructured.NestedString(paths[0].(map[string]any), "backend", "service", "name")
	p, _, _ := unstructured.NestedString(paths[0].(map[string]any), "path")
	if rule["host"] != "files.example.com" || p != "/links/" || len(paths) != 1 {
		t.Errorf("Ingress routes %v", rule)
	}
	objs.get(t, "Service/"+backend)
	if !strings.HasSuffix(backend, "link-server") {
		t.Errorf("Ingress sends links to %s", backend)
	}

	sm := objs.one(t, "ServiceMonitor", "metrics-monitor")
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if scheme, _, _ := unstructured.NestedString(eps[0].(map[string]any), "scheme"); scheme != "http" {
		t.Errorf("ServiceMonitor scheme %q with plain metrics", scheme)
	}
}

// TestChartWebhookWithoutCertManager takes the certificate from a Secret and CA the
// user provides, and refuses to render without them.
func TestChartWebhookWithoutCertManager(t *testing.T) {
	createNamespace(t, "chart-own-cert")
	objs := render(t, "chart-own-cert", map[string]any{"webhook": map[string]any{
		"certManager": false, "secretName": "my-webhook-tls", "caBundle": "Y2E=",
	}, "metrics": map[string]any{"certManager": false}})
	dryRunApply(t, objs)
	if n := objs.count("Certificate") + objs.count("Issuer"); n != 0 {
		t.Errorf("%d cert-manager objects without cert-manager", n)
	}
	vwc := objs.one(t, "ValidatingWebhookConfiguration", "validating-webhook-configuration")
	hooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
	if ca, _, _ := unstructured.NestedString(hooks[0].(map[string]any), "clientConfig", "caBundle"); ca != "Y2E=" {
		t.Errorf("caBundle %q", ca)
	}
	if _, ok := vwc.GetAnnotations()["cert-manager.io/inject-ca-from"]; ok {
		t.Error("asks cert-manager to inject a CA")
	}

	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(&action.Configuration{})
	in.ClientOnly, in.DryRun, in.ReleaseName, in.Namespace = true, true, "x", "x"
	if _, err := in.Run(ch, map[string]any{"webhook": map[string]any{"certManager": false}}); err == nil || !strings.Contains(err.Error(), "webhook.secretName") {
		t.Errorf("rendered without a certificate: %v", err)
	}
}
