package main

import (
	"fmt"
	"strings"
	"testing"
)

// exposition is what the API server's /metrics says after created Files, conflicts
// refused creates, and waited seconds in the workload-low queue; etcd's counter is not
// a kept family.
func exposition(created, conflicts int, waited float64) string {
	return fmt.Sprintf(`# TYPE apiserver_request_total counter
apiserver_request_total{code="201",resource="files",subresource="",verb="POST"} %d
apiserver_request_total{code="409",resource="files",subresource="",verb="POST"} %d
apiserver_request_total{code="200",resource="files",subresource="status",verb="PATCH"} 4
# TYPE apiserver_flowcontrol_request_wait_duration_seconds histogram
apiserver_flowcontrol_request_wait_duration_seconds_bucket{priority_level="workload-low",le="+Inf"} 5
apiserver_flowcontrol_request_wait_duration_seconds_sum{priority_level="workload-low"} %g
apiserver_flowcontrol_request_wait_duration_seconds_count{priority_level="workload-low"} 5
# TYPE etcd_request_total counter
etcd_request_total{operation="get"} 99
`, created, conflicts, waited)
}

func TestMetricDeltasGroupByLabels(t *testing.T) {
	before, err := parseMetrics([]byte(exposition(10, 0, 0.5)))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseMetrics([]byte(exposition(25, 2, 1.75)))
	if err != nil {
		t.Fatal(err)
	}
	d := after.since(before)
	requests := d.sumBy("apiserver_request_total", "verb", "resource", "subresource")
	if len(requests) != 1 || requests["POST files"] != 17 {
		t.Errorf("requests by kind = %v, want only POST files 17 (15 created, 2 conflicts; the unchanged PATCH left out)", requests)
	}
	waits := d.sumBy("apiserver_flowcontrol_request_wait_duration_seconds", "priority_level")
	if waits["workload-low"] != 1.25 {
		t.Errorf("queue wait = %v, want workload-low 1.25 (the histogram's sum)", waits)
	}
	if got := before.sumBy("etcd_request_total"); len(got) != 0 {
		t.Errorf("a family not kept was kept: %v", got)
	}
}

// reconcileRequests is a reconcile-only phase's /metrics delta for n pairs, with extra
// requests of one kind beyond the minimum.
func reconcileRequests(n int, extraKind string, extra int) string {
	counts := map[string]int{"GET secrets": n + 1, "PATCH files status": n, "PATCH filelinks status": n, "POST events": n, "LIST files": 1, "WATCH files": 1}
	counts[extraKind] += extra
	out := "# TYPE apiserver_request_total counter\n"
	for k, v := range counts {
		f := append(strings.Fields(k), "", "", "")
		verb, resource, sub := f[0], f[1], f[2]
		out += fmt.Sprintf("apiserver_request_total{code=\"200\",resource=%q,subresource=%q,verb=%q} %d\n", resource, sub, verb, v)
	}
	return out
}

func TestManagerRequestsAreJudgedAgainstTheMinimum(t *testing.T) {
	for _, tc := range []struct {
		extraKind string
		extra     int
		minimal   bool
	}{
		{"", 0, true},
		{"GET secrets", 100, false},   // a second read for some Files
		{"PUT filelinks", 100, false}, // a request the manager needs none of
		{"LIST files", 100, true},     // lists are the informers' and the tracker's
		{"GET openapi v3", 30, true},  // discovery, not per object
	} {
		before, _ := parseMetrics([]byte(reconcileRequests(0, "", 0)))
		after, err := parseMetrics([]byte(reconcileRequests(1000, tc.extraKind, tc.extra)))
		if err != nil {
			t.Fatal(err)
		}
		desc, minimal := managerRequests(after.since(before), 1000)
		if minimal != tc.minimal {
			t.Errorf("%d extra %q: minimal = %v, want %v (%s)", tc.extra, tc.extraKind, minimal, tc.minimal, desc)
		}
	}
}
