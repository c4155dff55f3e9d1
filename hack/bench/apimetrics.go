package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// The API server's own counters say what each phase cost it and whether API Priority
// and Fairness queued or rejected anything; only these series are kept.
var keptMetrics = []string{
	"apiserver_request_total",
	"apiserver_flowcontrol_dispatched_requests_total",
	"apiserver_flowcontrol_rejected_requests_total",
	"apiserver_flowcontrol_request_wait_duration_seconds_sum",
}

// series is one sample: a metric name and its labels.
type series struct {
	name   string
	labels map[string]string
}

type metricSnapshot map[string]float64 // keyed by the sample's text before the value

func scrapeAPIServer(ctx context.Context, k kubernetes.Interface) (metricSnapshot, error) {
	raw, err := k.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	snap := metricSnapshot{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !keep(line) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		snap[line[:i]] = v
	}
	return snap, sc.Err()
}

func keep(line string) bool {
	for _, m := range keptMetrics {
		if strings.HasPrefix(line, m+"{") || strings.HasPrefix(line, m+" ") {
			return true
		}
	}
	return false
}

// since is s minus an earlier snapshot.
func (s metricSnapshot) since(prev metricSnapshot) metricSnapshot {
	out := metricSnapshot{}
	for k, v := range s {
		if d := v - prev[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// sumBy adds up metric name's samples grouped by the values of labels, joined by " ".
func (s metricSnapshot) sumBy(name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range s {
		ser, ok := parseSeries(k)
		if !ok || ser.name != name {
			continue
		}
		var parts []string
		for _, l := range labels {
			if val := ser.labels[l]; val != "" {
				parts = append(parts, val)
			}
		}
		out[strings.Join(parts, " ")] += v
	}
	return out
}

// parseSeries parses `name{a="x",b="y"}`. Label values of the kept metrics contain no
// escaped quotes, but the parser honours backslashes anyway.
func parseSeries(s string) (series, bool) {
	name, rest, ok := strings.Cut(s, "{")
	if !ok {
		return series{name: s}, true
	}
	rest = strings.TrimSuffix(rest, "}")
	labels := map[string]string{}
	for rest != "" {
		key, after, ok := strings.Cut(rest, `="`)
		if !ok {
			return series{}, false
		}
		var val strings.Builder
		i := 0
		for ; i < len(after) && after[i] != '"'; i++ {
			if after[i] == '\\' && i+1 < len(after) {
				i++
			}
			val.WriteByte(after[i])
		}
		labels[key] = val.String()
		rest = strings.TrimPrefix(after[min(i+1, len(after)):], ",")
	}
	return series{name: name, labels: labels}, true
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
	waits := delta.sumBy("apiserver_flowcontrol_request_wait_duration_seconds_sum", "priority_level")
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
