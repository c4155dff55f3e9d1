package linkserver

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are registered on the manager's registry, so they appear on its metrics
// endpoint beside controller-runtime's.
type metrics struct {
	downloads *prometheus.CounterVec
	bytes     prometheus.Counter
	duration  *prometheus.HistogramVec
	byCode    sync.Map // int → *codeSeries
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "filelink_link_requests_total",
			Help: "Requests to the link server, by HTTP status code (200, 206, 304, 404, 405, 410, 416, ...).",
		}, []string{"code"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "filelink_link_response_bytes_total",
			Help: "Body bytes the link server has written.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "filelink_link_request_duration_seconds",
			Help:    "Time to answer a link request, by HTTP status code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"code"}),
	}
	var err error
	if m.downloads, err = register(reg, m.downloads); err != nil {
		return nil, err
	}
	if m.bytes, err = register(reg, m.bytes); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the collector already registered under its name,
// so a manager restarted in the same process keeps counting on the same series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if already, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// record counts one answer of code with its body bytes, which took took; a nil m (a
// server without metrics, in tests) records nothing.
func (m *metrics) record(code int, written int64, took time.Duration) {
	if m == nil {
		return
	}
	series := m.seriesOf(code)
	series.requests.Inc()
	m.bytes.Add(float64(written))
	series.duration.Observe(took.Seconds())
}

// codeSeries are the series of one status code.
type codeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// seriesOf finds a status code's series once: looking them up by label value hashes
// and locks on every request, and a server answers only a handful of codes.
func (m *metrics) seriesOf(code int) *codeSeries {
	if s, ok := m.byCode.Load(code); ok {
		return s.(*codeSeries)
	}
	label := strconv.Itoa(code)
	s, _ := m.byCode.LoadOrStore(code, &codeSeries{requests: m.downloads.WithLabelValues(label), duration: m.duration.WithLabelValues(label)})
	return s.(*codeSeries)
}
