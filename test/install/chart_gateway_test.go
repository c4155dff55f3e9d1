package install

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestChartGatewayRoute: the HTTPRoute publishes /links/ of the link Service through the
// named Gateway, and links are issued under its first hostname unless linkBaseURL says
// otherwise.
func TestChartGatewayRoute(t *testing.T) {
	createNamespace(t, "chart-gateway")
	gateway := map[string]any{"enabled": true, "hostnames": []any{"files.example.com"},
		"parentRefs": []any{map[string]any{"name": "public", "namespace": "gateway-system", "sectionName": "https"}}}
	objs := render(t, "chart-gateway", map[string]any{"gateway": gateway})
	dryRunApply(t, objs)

	route := objs.one(t, "HTTPRoute", "links")
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	if len(rules) != 1 {
		t.Fatalf("rules %v", rules)
	}
	rule := rules[0].(map[string]any)
	matches, _, _ := unstructured.NestedSlice(rule, "matches")
	prefix, _, _ := unstructured.NestedString(matches[0].(map[string]any), "path", "value")
	backends, _, _ := unstructured.NestedSlice(rule, "backendRefs")
	backend, _, _ := unstructured.NestedString(backends[0].(map[string]any), "name")
	if prefix != "/links/" || len(matches) != 1 || len(backends) != 1 {
		t.Errorf("route rule %v", rule)
	}
	objs.get(t, "Service/"+backend)
	if !strings.HasSuffix(backend, "link-server") {
		t.Errorf("route sends links to %s", backend)
	}
	if got := baseURLArg(t, objs); got != "https://files.example.com" {
		t.Errorf("--link-base-url=%s, want the route's hostname", got)
	}

	gateway["scheme"] = "http"
	if got := baseURLArg(t, render(t, "chart-gateway", map[string]any{"gateway": gateway})); got != "http://files.example.com" {
		t.Errorf("with scheme http: --link-base-url=%s", got)
	}
	explicit := render(t, "chart-gateway", map[string]any{"gateway": gateway, "linkBaseURL": "https://dl.example.com/f"})
	if got := baseURLArg(t, explicit); got != "https://dl.example.com/f" {
		t.Errorf("an explicit linkBaseURL is not kept: %s", got)
	}
	if _, err := template("chart-gateway", map[string]any{"gateway": map[string]any{"enabled": true}}); err == nil || !strings.Contains(err.Error(), "gateway.parentRefs") {
		t.Errorf("a route without a Gateway: %v", err)
	}
}

// baseURLArg is the manager's --link-base-url.
func baseURLArg(t *testing.T, objs objects) string {
	t.Helper()
	args := objs.managerArgs(t)
	i := slices.IndexFunc(args, func(a string) bool { return strings.HasPrefix(a, "--link-base-url=") })
	if i < 0 {
		t.Fatalf("no --link-base-url in %v", args)
	}
	return strings.TrimPrefix(args[i], "--link-base-url=")
}
