package main

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
)

// The API server's own counters say what each phase cost it and whether API Priority
// and Fairness queued or rejected anything; only these families are kept. Of the
// histogram, only the sum counts: the total time requests waited in queues.
var keptMetrics = []string{
	"apiserver_request_total",
	"apiserver_flowcontrol_dispatched_requests_total",
	"apiserver_flowcontrol_rejected_requests_total",
	"apiserver_flowcontrol_request_wait_duration_seconds",
}

// point is one series' value.
type point struct {
	name   string
	labels map[string]string
	value  float64
}

type metricSnapshot map[string]point // keyed by the series' name and labels

func scrapeAPIServer(ctx context.Context, k kubernetes.Interface) (metricSnapshot, error) {
	raw, err := k.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	return parseMetrics(raw)
}

// parseMetrics keeps the kept families' series from Prometheus's text format.
func parseMetrics(raw []byte) (metricSnapshot, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing the API server's metrics: %w", err)
	}
	snap := metricSnapshot{}
	for _, name := range keptMetrics {
		f := families[name]
		if f == nil {
			continue
		}
		for _, m := range f.GetMetric() {
			p := point{name: name, labels: map[string]string{}, value: value(m)}
			var key strings.Builder
			key.WriteString(name)
			for _, l := range m.GetLabel() {
				p.labels[l.GetName()] = l.GetValue()
				key.WriteString("," + l.GetName() + "=" + l.GetValue())
			}
			snap[key.String()] = p
		}
	}
	return snap, nil
}

// value is a counter's count or a histogram's sum.
func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return m.Histogram.GetSampleSum()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return m.GetUntyped().GetValue()
}

// since is s minus an earlier snapshot.
func (s metricSnapshot) since(prev metricSnapshot) metricSnapshot {
	out := metricSnapshot{}
	for k, p := range s {
		if d := p.value - prev[k].value; d != 0 {
			p.value = d
			out[k] = p
		}
	}
	return out
}

// sumBy adds up metric name's samples grouped by the values of labels, joined by " ".
func (s metricSnapshot) sumBy(name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, p := range s {
		if p.name != name {
			continue
		}
		var parts []string
		for _, l := range labels {
			if val := p.labels[l]; val != "" {
				parts = append(parts, val)
			}
		}
		out[strings.Join(parts, " ")] += p.value
	}
	return out
}

// describeRequests lists request counts by verb and resource, largest first, leaving
// out the small fry (discovery, leases, the harness's own reads).
func describeRequests(delta metricSnapshot, minCount float64) string {
	byKind := delta.sumBy("apiserver_request_total", "verb", "resource", "subresource")
	type kv struct {
		k string
		v float64
	}
	var all []kv
	for k, v := range byKind {
		if v >= minCount {
			all = append(all, kv{k, v})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	var parts []string
	for _, e := range all {
		parts = append(parts, fmt.Sprintf("%s %.0f", e.k, e.v))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// describeAPF says which priority levels served the phase's requests, and whether any
// were rejected or waited in a queue.
func describeAPF(delta metricSnapshot) string {
	levels := delta.sumBy("apiserver_flowcontrol_dispatched_requests_total", "priority_level")
	rejected := total(delta.sumBy("apiserver_flowcontrol_rejected_requests_total"))
	waits := delta.sumBy("apiserver_flowcontrol_request_wait_duration_seconds", "priority_level")
	var parts []string
	keys := make([]string, 0, len(levels))
	for k := range levels {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return levels[keys[i]] > levels[keys[j]] })
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f (queue wait %.2f s)", k, levels[k], waits[k]))
	}
	return fmt.Sprintf("dispatched by priority level: %s; rejected %.0f", strings.Join(parts, ", "), rejected)
}

func total(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}
