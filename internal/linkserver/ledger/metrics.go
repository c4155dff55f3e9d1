package ledger

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count downloads by namespace, never by link: a series per link would grow the
// metrics endpoint with every link ever created.
type Metrics struct {
	downloads     *prometheus.CounterVec
	limitsReached *prometheus.CounterVec
	pending       prometheus.Gauge
	writeFailures prometheus.Counter
}

// ProcessMetrics are the one set of the ledger's metrics in a process: a manager that
// builds a new link server (a test's, a restarted one's) keeps counting on the series
// already registered.
var ProcessMetrics = sync.OnceValue(newMetrics)

func newMetrics() *Metrics {
	return &Metrics{
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "filelink_link_downloads_total",
			Help: "Downloads served (GETs answered with the whole file or a range from its first byte), by the link's namespace.",
		}, []string{"namespace"}),
		limitsReached: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "filelink_link_download_limits_reached_total",
			Help: "Links whose last allowed download (spec.maxDownloads) this replica reserved, by namespace.",
		}, []string{"namespace"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "filelink_link_ledger_pending_downloads",
			Help: "Downloads of links without a limit counted by this replica and not yet written to status; grows while the API server cannot be reached.",
		}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "filelink_link_ledger_write_failures_total",
			Help: "Writes of download counts that failed for a reason other than a lost race; the counts are kept and written later.",
		}),
	}
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.downloads, m.limitsReached, m.pending, m.writeFailures}
}

// A nil *Metrics counts nothing: tests' ledgers.

func (m *Metrics) downloaded(namespace string, lastAllowed bool) {
	if m == nil {
		return
	}
	m.downloads.WithLabelValues(namespace).Inc()
	if lastAllowed {
		m.limitsReached.WithLabelValues(namespace).Inc()
	}
}

func (m *Metrics) pendingAdd(n int64) {
	if m != nil {
		m.pending.Add(float64(n))
	}
}

func (m *Metrics) writeFailed() {
	if m != nil {
		m.writeFailures.Inc()
	}
}
