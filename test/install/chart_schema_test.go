package install

import (
	"strings"
	"testing"
)

// TestChartValuesSchema: Helm checks values against values.schema.json before rendering,
// so a wrong type or a mistyped key fails the install instead of being ignored.
func TestChartValuesSchema(t *testing.T) {
	for _, c := range []struct {
		name   string
		values map[string]any
		want   []string // in the error; none: must render
	}{
		{"defaults", nil, nil},
		{"every documented override", map[string]any{
			"replicas": 3, "linkBaseURL": "https://files.example.com/dl", "extraArgs": []any{"--max-concurrent-reconciles=16"},
			"image":   map[string]any{"digest": "sha256:" + strings.Repeat("ab", 32)},
			"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true, "interval": "30s"}},
			"ingress": map[string]any{"enabled": true, "tls": []any{map[string]any{"secretName": "t", "hosts": []any{"files.example.com"}}}},
		}, nil},
		{"a wrong type", map[string]any{"replicas": "two"}, []string{"replicas", "integer"}},
		{"a nested wrong type", map[string]any{"webhook": map[string]any{"enabled": "yes"}}, []string{"webhook", "enabled", "boolean"}},
		{"an unknown top-level key", map[string]any{"replica": 3}, []string{"replica"}},
		{"an unknown nested key", map[string]any{"ingress": map[string]any{"hostname": "x"}}, []string{"ingress", "hostname"}},
		{"a base URL with a query", map[string]any{"linkBaseURL": "https://x.example/?a=b"}, []string{"linkBaseURL"}},
		{"a pull policy out of the enum", map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}, []string{"pullPolicy"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := template("filelink-system", c.values)
			switch {
			case len(c.want) == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case len(c.want) > 0 && err == nil:
				t.Fatal("rendered; want a schema error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
		})
	}
}
