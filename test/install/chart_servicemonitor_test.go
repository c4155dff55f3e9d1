package install

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestChartServiceMonitorVerifiesTheMetricsCertificate: with secure metrics, the manager
// serves a certificate the chart's cert-manager CA issues for the metrics Service, or one
// the user brings, and the ServiceMonitor verifies it for that Service's name instead of
// skipping verification.
func TestChartServiceMonitorVerifiesTheMetricsCertificate(t *testing.T) {
	createNamespace(t, "chart-sm")
	for _, c := range []struct {
		name, secret string
		metrics      map[string]any
	}{
		{"cert-manager", "files-filelink-operator-metrics-server-cert", map[string]any{}},
		{"own Secret", "my-metrics-tls", map[string]any{"certManager": false, "secretName": "my-metrics-tls"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.metrics["serviceMonitor"] = map[string]any{"enabled": true}
			objs := render(t, "chart-sm", map[string]any{"metrics": c.metrics})
			dryRunApply(t, objs)
			sm := objs.one(t, "ServiceMonitor", "metrics-monitor")
			eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			tls, _, _ := unstructured.NestedMap(eps[0].(map[string]any), "tlsConfig")
			if skip, _, _ := unstructured.NestedBool(tls, "insecureSkipVerify"); skip {
				t.Error("the ServiceMonitor skips verification")
			}
			svc := objs.one(t, "Service", "metrics-service")
			if tls["serverName"] != svc.GetName()+".chart-sm.svc" {
				t.Errorf("serverName %v, the Service is %s", tls["serverName"], svc.GetName())
			}
			if ca, _, _ := unstructured.NestedString(tls, "ca", "secret", "name"); ca != c.secret {
				t.Errorf("CA from Secret %q, want %q", ca, c.secret)
			}
			if c.name == "cert-manager" {
				cert := objs.one(t, "Certificate", "metrics-cert")
				names, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
				if secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName"); secret != c.secret || !slices.Contains(names, tls["serverName"].(string)) {
					t.Errorf("Certificate for %v into %s", names, secret)
				}
			}
			dep := objs.one(t, "Deployment", "controller-manager")
			pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
			args, _, _ := unstructured.NestedStringSlice(pod["containers"].([]any)[0].(map[string]any), "args")
			volumes, _, _ := unstructured.NestedSlice(pod, "volumes")
			mounted := false
			for _, v := range volumes {
				name, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
				mounted = mounted || name == c.secret
			}
			if !slices.Contains(args, "--metrics-cert-dir=/tmp/k8s-metrics-server/metrics-certs") || !mounted {
				t.Errorf("the manager does not serve the certificate: args %v, volumes %v", args, volumes)
			}
		})
	}
	_, err := template("chart-sm", map[string]any{"metrics": map[string]any{"certManager": false, "serviceMonitor": map[string]any{"enabled": true}}})
	if err == nil || !strings.Contains(err.Error(), "certificate Prometheus can verify") {
		t.Errorf("a ServiceMonitor that cannot verify: %v", err)
	}
}
