package install

import (
	"slices"
	"strings"
	"testing"
)

// storeNetworks renders as the manager's address policy flags (SPEC §12), and only
// when set: the defaults leave the manager's built-in denials alone.
func TestChartStoreNetworks(t *testing.T) {
	for _, a := range render(t, "filelink-system", nil).managerArgs(t) {
		if strings.Contains(a, "store-networks") {
			t.Errorf("defaults render %s", a)
		}
	}
	args := render(t, "filelink-system", map[string]any{"storeNetworks": map[string]any{
		"allow": []any{"10.20.0.0/16", "fd00:20::/64"},
		"deny":  []any{"10.96.0.0/12", "10.20.30.40"},
	}}).managerArgs(t)
	for _, want := range []string{"--allow-store-networks=10.20.0.0/16,fd00:20::/64", "--deny-store-networks=10.96.0.0/12,10.20.30.40"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for name, values := range map[string]map[string]any{
		"an unknown key":      {"storeNetworks": map[string]any{"except": []any{"10.0.0.0/8"}}},
		"a host name":         {"storeNetworks": map[string]any{"allow": []any{"localhost"}}},
		"a comma-joined list": {"storeNetworks": map[string]any{"deny": []any{"10.0.0.0/8,10.1.0.0/16"}}},
	} {
		if _, err := template("filelink-system", values); err == nil || !strings.Contains(err.Error(), "storeNetworks") {
			t.Errorf("%s: %v, want a schema error naming storeNetworks", name, err)
		}
	}
}
