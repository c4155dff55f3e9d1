package install

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestChartNetworkPolicy: the policy is valid on a real API server, and the egress to
// object stores never includes the link-local range where cloud metadata services
// answer, even when a user widens it to every address (SPEC §12).
func TestChartNetworkPolicy(t *testing.T) {
	createNamespace(t, "chart-netpol")
	if n := render(t, "chart-netpol", nil).count("NetworkPolicy"); n != 0 {
		t.Errorf("%d NetworkPolicies by default", n)
	}
	objs := render(t, "chart-netpol", map[string]any{"networkPolicy": map[string]any{
		"enabled":     true,
		"storeEgress": []any{map[string]any{"cidr": "0.0.0.0/0"}, map[string]any{"cidr": "10.20.0.0/16", "ports": []any{9000}}},
	}})
	dryRunApply(t, objs)
	np := objs.one(t, "NetworkPolicy", "controller-manager")
	egress, _, _ := unstructured.NestedSlice(np.Object, "spec", "egress")
	var stores []map[string]any
	for _, e := range egress {
		to, _, _ := unstructured.NestedSlice(e.(map[string]any), "to")
		for _, peer := range to {
			if b, ok, _ := unstructured.NestedMap(peer.(map[string]any), "ipBlock"); ok {
				stores = append(stores, b)
			}
		}
	}
	if len(stores) != 2 {
		t.Fatalf("store egress peers %v, want 2", stores)
	}
	except, _, _ := unstructured.NestedStringSlice(stores[0], "except")
	if stores[0]["cidr"] != "0.0.0.0/0" || !slices.Contains(except, "169.254.0.0/16") {
		t.Errorf("egress to every address does not except link-local: %v", stores[0])
	}
	if stores[1]["cidr"] != "10.20.0.0/16" {
		t.Errorf("second store peer %v", stores[1])
	}
}
