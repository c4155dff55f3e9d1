package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/ledger"
)

// Only this test counts into the process's metrics (the others' ledgers have none).
// Downloads and limits reached are counted by namespace, never by link; pending counts
// show what waits for the API server.
func TestMetricsByNamespace(t *testing.T) {
	m := ledger.ProcessMetrics()
	c := m.Collectors()
	downloads, reached, pending := c[0], c[1], c[2]
	r := ledger.New(ledger.Config{Cache: k8s, API: k8s, Status: k8s, Clock: clocktesting.NewFakeClock(time.Now())}, m)

	open := newLink(t, "metrics-open", nil)
	for range 3 {
		r.Count(open.Namespace, open.Name, open.UID, time.Now())
	}
	if got := testutil.ToFloat64(pending); got != 3 {
		t.Errorf("pending %v, want 3", got)
	}
	r.Flush(context.Background())
	if got := testutil.ToFloat64(pending); got != 0 {
		t.Errorf("pending after a flush %v, want 0", got)
	}
	once := newLink(t, "metrics-once", ptr.To[int32](1))
	if err := r.Reserve(context.Background(), once); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(downloads); got != 4 {
		t.Errorf("downloads counted %v, want 4", got)
	}
	if got := testutil.ToFloat64(reached); got != 1 {
		t.Errorf("limits reached %v, want 1", got)
	}
	if n := testutil.CollectAndCount(downloads); n != 1 {
		t.Errorf("%d download series for one namespace", n)
	}
	const want = `
# HELP filelink_link_download_limits_reached_total Links whose last allowed download (spec.maxDownloads) this replica reserved, by namespace.
# TYPE filelink_link_download_limits_reached_total counter
filelink_link_download_limits_reached_total{namespace="ledger"} 1
`
	if err := testutil.CollectAndCompare(reached, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
