package install

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
)

// TestChartREADMEDocumentsEveryValue: the chart's README (helm-docs, from values.yaml's
// "# --" comments) has a described row for every value a user can set, so a value added
// without documentation fails here rather than going unnoticed.
func TestChartREADMEDocumentsEveryValue(t *testing.T) {
	values, err := chartutil.ReadValuesFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\| ([A-Za-z0-9.\[\]]+) \| [a-z]+ \| .* \| (.*) \|$`).FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = strings.TrimSpace(m[2])
	}
	var missing []string
	for _, key := range documentable("", values) {
		if rows[key] == "" {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("values without a described row in the chart's README (add a \"# --\" comment above each in values.yaml, then make chart-docs): %v", missing)
	}
}

// documentable lists the keys helm-docs documents: a map's keys, down to values that
// are not maps, or to maps whose comment covers them whole (an empty map, or a map a
// user replaces rather than edits key by key, like resources).
func documentable(prefix string, m map[string]any) []string {
	var keys []string
	for k, v := range m {
		key := prefix + k
		sub, isMap := v.(map[string]any)
		if !isMap || len(sub) == 0 || wholeValues[key] {
			keys = append(keys, key)
			continue
		}
		keys = append(keys, documentable(key+".", sub)...)
	}
	return keys
}

// wholeValues are maps documented as one value.
var wholeValues = map[string]bool{"resources": true, "grafana.dashboard.labels": true}
