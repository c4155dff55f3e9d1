package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/ledger"
)

// Downloads and limits reached are counted by namespace, never by link; pending counts
// show what waits for the API server. The metrics are the process's, so the test reads
// its own namespace's series and the gauge's change.
func TestMetricsByNamespace(t *testing.T) {
	m := ledger.ProcessMetrics()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range m.Collectors() {
		reg.MustRegister(c)
	}
	pending := m.Collectors()[2]
	pendingBefore := testutil.ToFloat64(pending)
	r := ledger.New(ledger.Config{Cache: k8s, API: k8s, Status: k8s, Clock: clocktesting.NewFakeClock(time.Now())}, m)

	open := newLink(t, "metrics-open", nil)
	ns := open.Namespace
	for range 3 {
		r.Count(open.Namespace, open.Name, open.UID, time.Now())
	}
	if got := testutil.ToFloat64(pending) - pendingBefore; got != 3 {
		t.Errorf("pending grew by %v, want 3", got)
	}
	r.Flush(context.Background())
	if got := testutil.ToFloat64(pending) - pendingBefore; got != 0 {
		t.Errorf("pending after a flush %v above where it was, want 0", got)
	}
	once := newLink(t, "metrics-once", ptr.To[int32](1))
	if err := r.Reserve(context.Background(), once); err != nil {
		t.Fatal(err)
	}
	if got := seriesValue(t, reg, "filelink_link_downloads_total", ns); got != 4 {
		t.Errorf("downloads counted in %s: %v, want 4", ns, got)
	}
	if got := seriesValue(t, reg, "filelink_link_download_limits_reached_total", ns); got != 1 {
		t.Errorf("limits reached in %s: %v, want 1", ns, got)
	}
}

// seriesValue is the value of name's series for namespace ns in reg.
func seriesValue(t *testing.T, reg *prometheus.Registry, name, ns string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "namespace" {
				t.Fatalf("%s has labels %v: only namespace is allowed", name, m.GetLabel())
			}
			if m.GetLabel()[0].GetValue() == ns {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
