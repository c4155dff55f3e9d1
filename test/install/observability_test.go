package install

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

var (
	dashboardPath = filepath.Join("..", "..", "config", "grafana", "filelink-operator.json")
	alertsPath    = filepath.Join("..", "..", "config", "prometheus", "alerts.yaml")
)

// promql is Prometheus' own parser, with its default options: what a Prometheus server
// without experimental features accepts.
var promqlParser = parser.NewParser(parser.Options{})

// query is one PromQL expression of the dashboard or the alerts, with where it is.
type query struct{ where, expr string }

// grafanaVariables are the dashboard's variables with a value each could take, so that
// its queries become PromQL; a variable missing here fails the parse.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*")

// labelValues is a query variable's label_values(SELECTOR, LABEL), Grafana's syntax
// around a PromQL selector.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name, Type string
			Query      any `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int     `json:"id"`
	Type       string  `json:"type"`
	Title      string  `json:"title"`
	Datasource any     `json:"datasource"`
	Panels     []panel `json:"panels"`
	Targets    []struct {
		Expr       string `json:"expr"`
		Datasource any    `json:"datasource"`
	} `json:"targets"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return d
}

// eachPanel calls visit with every panel of ps that is not a row, rows' nested panels
// included, each panel's nested ones before the panel itself.
func eachPanel(ps []panel, visit func(panel)) {
	for _, p := range ps {
		eachPanel(p.Panels, visit)
		if p.Type != "row" {
			visit(p)
		}
	}
}

// dashboardQueries are the expressions of every panel (rows' nested panels too) and of
// the query variables.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	d := readDashboard(t)
	var out []query
	eachPanel(d.Panels, func(p panel) {
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for i, tg := range p.Targets {
			out = append(out, query{fmt.Sprintf("dashboard panel %q query %d", p.Title, i), grafanaVariables.Replace(tg.Expr)})
		}
	})
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("dashboard variable %s: query %q is not label_values(SELECTOR, LABEL)", v.Name, s)
			continue
		}
		out = append(out, query{"dashboard variable " + v.Name, m[1]})
	}
	return out
}

// alertRule is one rule of config/prometheus/alerts.yaml.
type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func readAlerts(t *testing.T) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       struct {
			Groups []struct {
				Name  string      `json:"name"`
				Rules []alertRule `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(raw, &doc); err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	if doc.Kind != "PrometheusRule" {
		t.Fatalf("%s is a %q, not a PrometheusRule", alertsPath, doc.Kind)
	}
	var rules []alertRule
	for _, g := range doc.Spec.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

func alertQueries(t *testing.T) []query {
	t.Helper()
	var out []query
	for _, r := range readAlerts(t) {
		out = append(out, query{"alert " + r.Alert, r.Expr})
	}
	return out
}

// selector is a metric a query selects and the labels it matches on.
type selector struct {
	metric string
	labels []string
}

// selectors are the metrics q selects, each by its name or its __name__ equality; a
// selector without either is reported, since its metric cannot be checked.
func selectors(t *testing.T, q query) []selector {
	t.Helper()
	expr, err := promqlParser.ParseExpr(q.expr)
	if err != nil {
		t.Errorf("%s: %v\n%s", q.where, err, q.expr)
		return nil
	}
	var sels []selector
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		sel := selector{metric: vs.Name}
		for _, m := range vs.LabelMatchers {
			switch {
			case m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual:
				sel.metric = m.Value
			case m.Name != model.MetricNameLabel:
				sel.labels = append(sel.labels, m.Name)
			}
		}
		if sel.metric == "" {
			t.Errorf("%s: selector %s names no metric", q.where, vs)
			return nil
		}
		sels = append(sels, sel)
		return nil
	})
	if len(sels) == 0 {
		t.Errorf("%s selects no metric: %s", q.where, q.expr)
	}
	return sels
}

// usedMetrics maps each metric the dashboard and alerts select to where, and to the
// labels they match it on.
func usedMetrics(t *testing.T) (where map[string][]string, matched map[string][]string) {
	t.Helper()
	where, matched = map[string][]string{}, map[string][]string{}
	for _, q := range append(dashboardQueries(t), alertQueries(t)...) {
		for _, s := range selectors(t, q) {
			if !slices.Contains(where[s.metric], q.where) {
				where[s.metric] = append(where[s.metric], q.where)
			}
			for _, l := range s.labels {
				if !slices.Contains(matched[s.metric], l) {
					matched[s.metric] = append(matched[s.metric], l)
				}
			}
		}
	}
	return where, matched
}

// TestObservabilityQueriesParse: every dashboard and alert expression is PromQL that
// Prometheus accepts, selecting named metrics; the dashboard reads every panel from the
// datasource variable; every alert carries what Alertmanager routes and shows.
func TestObservabilityQueriesParse(t *testing.T) {
	used, _ := usedMetrics(t)
	t.Logf("metrics used: %v", slices.Sorted(func(yield func(string) bool) {
		for n := range used {
			if !yield(n) {
				return
			}
		}
	}))
	// The panels the dashboard promises (README, Observability), each by a metric.
	for _, m := range []string{
		"filelink_links", "filelink_link_requests_total", "filelink_link_request_duration_seconds_bucket",
		"filelink_link_response_bytes_total", "filelink_link_store_requests_total", "controller_runtime_reconcile_errors_total",
		"workqueue_depth", "leader_election_master_status", "filelink_signing_key_present",
		"filelink_webhook_certificate_expiry_timestamp_seconds",
	} {
		if !slices.ContainsFunc(used[m], func(w string) bool { return strings.HasPrefix(w, "dashboard panel") }) {
			t.Errorf("no dashboard panel reads %s", m)
		}
	}

	d := readDashboard(t)
	if !slices.ContainsFunc(d.Templating.List, func(v struct {
		Name, Type string
		Query      any `json:"query"`
	}) bool {
		return v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Error("the dashboard has no Prometheus datasource variable named datasource")
	}
	uses := func(ds any) bool {
		m, _ := ds.(map[string]any)
		return m["uid"] == "${datasource}"
	}
	eachPanel(d.Panels, func(p panel) {
		if !uses(p.Datasource) {
			t.Errorf("panel %q reads %v, not ${datasource}", p.Title, p.Datasource)
		}
		for _, tg := range p.Targets {
			if !uses(tg.Datasource) {
				t.Errorf("panel %q has a query reading %v", p.Title, tg.Datasource)
			}
		}
	})

	for _, r := range readAlerts(t) {
		if _, ok := map[string]bool{"critical": true, "warning": true, "info": true}[r.Labels["severity"]]; !ok {
			t.Errorf("alert %s: severity %q", r.Alert, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s lacks a summary or description: %v", r.Alert, r.Annotations)
		}
		if d, err := model.ParseDuration(r.For); err != nil || d <= 0 {
			t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
		}
	}
	for _, want := range []string{"FileLinkServerErrors", "FileLinkStoreUnreachable", "FileLinkReconcileErrors",
		"FileLinkNoLeader", "FileLinkSigningKeyMissing", "FileLinkWebhookCertificateExpiring"} {
		if !slices.ContainsFunc(readAlerts(t), func(r alertRule) bool { return r.Alert == want }) {
			t.Errorf("no alert %s", want)
		}
	}
}

// forDuration is an alert's for: as a time.Duration.
func forDuration(t *testing.T, r alertRule) time.Duration {
	t.Helper()
	d, err := model.ParseDuration(r.For)
	if err != nil {
		t.Fatalf("alert %s: for %q: %v", r.Alert, r.For, err)
	}
	return time.Duration(d)
}
