package install

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestChartObservability: grafana.dashboard.enabled ships config/grafana's dashboard in a
// ConfigMap labelled for Grafana's sidecar, prometheusRule.enabled the rules of
// config/prometheus/alerts.yaml; both are off by default, and the API server accepts
// them.
func TestChartObservability(t *testing.T) {
	createNamespace(t, "chart-obs")
	defaults := render(t, "chart-obs", nil)
	if n := defaults.count("PrometheusRule") + defaults.count("ConfigMap"); n != 0 {
		t.Errorf("%d PrometheusRules or ConfigMaps by default", n)
	}

	objs := render(t, "chart-obs", map[string]any{
		"commonAnnotations": map[string]any{"owner": "payments@example.com"},
		"grafana":           map[string]any{"dashboard": map[string]any{"enabled": true, "annotations": map[string]any{"grafana_folder": "Operators"}}},
		"prometheusRule":    map[string]any{"enabled": true, "labels": map[string]any{"release": "kube-prometheus-stack"}},
	})
	dryRunApply(t, objs)

	cm := objs.one(t, "ConfigMap", "dashboard")
	if cm.GetLabels()["grafana_dashboard"] != "1" || cm.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
		t.Errorf("dashboard ConfigMap labels %v", cm.GetLabels())
	}
	if a := cm.GetAnnotations(); a["grafana_folder"] != "Operators" || a["owner"] != "payments@example.com" {
		t.Errorf("dashboard ConfigMap annotations %v", a)
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	got, ok := data["filelink-operator.json"]
	if !ok || len(data) != 1 {
		t.Fatalf("dashboard ConfigMap data keys %v", data)
	}
	want, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid([]byte(got)) {
		t.Error("the ConfigMap's dashboard is not valid JSON")
	}
	if !bytes.Equal(bytes.TrimSpace([]byte(got)), bytes.TrimSpace(want)) {
		t.Errorf("the ConfigMap's dashboard differs from %s (run make manifests)", dashboardPath)
	}

	rule := objs.one(t, "PrometheusRule", "alerts")
	if rule.GetLabels()["release"] != "kube-prometheus-stack" || rule.GetNamespace() != "chart-obs" {
		t.Errorf("PrometheusRule %s/%s labels %v", rule.GetNamespace(), rule.GetName(), rule.GetLabels())
	}
	raw, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	var source map[string]any
	if err := yaml.Unmarshal(raw, &source); err != nil {
		t.Fatal(err)
	}
	if !equalJSON(t, source["spec"], rule.Object["spec"]) {
		t.Errorf("the chart's rules differ from %s (run make manifests)", alertsPath)
	}

	// The sidecar's label is replaceable, for a Grafana that looks for another.
	objs = render(t, "chart-obs", map[string]any{"grafana": map[string]any{"dashboard": map[string]any{
		"enabled": true, "labels": map[string]any{"grafana_dashboard": nil, "dashboards": "payments"},
	}}})
	if l := objs.one(t, "ConfigMap", "dashboard").GetLabels(); l["dashboards"] != "payments" || l["grafana_dashboard"] != "" {
		t.Errorf("dashboard ConfigMap labels %v", l)
	}
}

// TestChartNamespaceScopedGatewayDashboard renders the combination a platform team
// monitoring a namespace-scoped install behind a Gateway would choose, and has the API
// server accept every object of it.
func TestChartNamespaceScopedGatewayDashboard(t *testing.T) {
	const home, team = "combo-system", "combo-team"
	createNamespace(t, home)
	createNamespace(t, team)
	objs := render(t, home, map[string]any{
		"watchNamespaces": []any{team},
		"gateway": map[string]any{"enabled": true, "hostnames": []any{"files.example.com"},
			"parentRefs": []any{map[string]any{"name": "public", "namespace": "gateway-system"}}},
		"metrics":        map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
		"grafana":        map[string]any{"dashboard": map[string]any{"enabled": true}},
		"prometheusRule": map[string]any{"enabled": true},
	})
	dryRunApply(t, objs)
	for _, kind := range []string{"HTTPRoute", "ServiceMonitor", "PrometheusRule", "ConfigMap"} {
		if n := objs.count(kind); n != 1 {
			t.Errorf("%d %s objects, want 1", n, kind)
		}
	}
	if args := objs.managerArgs(t); !slices.Contains(args, "--watch-namespaces="+team) {
		t.Errorf("args %v", args)
	}
}
