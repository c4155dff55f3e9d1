package content

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// bodiesDesc is filelink_link_content_cache_bodies: of the bodies the Ready Files of
// Secrets and ConfigMaps need, how many the content cache holds, and so keep serving
// while the API server is away, and how many it does not.
var bodiesDesc = prometheus.NewDesc("filelink_link_content_cache_bodies",
	"Bodies of Ready Files backed by a Secret or ConfigMap, by state: held in the link server's content cache "+
		"(served even while the API server is unreachable) or not_held (larger than the cache, beyond its total, "+
		"or not fetched yet; read per request).",
	[]string{"state"}, nil)

// prefetchers are the running Prefetchers, whose counts the collector sums: one per
// process outside tests.
type prefetchers struct {
	mu  sync.Mutex
	set map[*Prefetcher]struct{}
}

var live = &prefetchers{set: map[*Prefetcher]struct{}{}}

func (l *prefetchers) add(p *Prefetcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.set[p] = struct{}{}
}

func (l *prefetchers) remove(p *Prefetcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.set, p)
}

func (l *prefetchers) Describe(ch chan<- *prometheus.Desc) { ch <- bodiesDesc }

func (l *prefetchers) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	running := make([]*Prefetcher, 0, len(l.set))
	for p := range l.set {
		running = append(running, p)
	}
	l.mu.Unlock()
	var held, notHeld int
	for _, p := range running {
		h, n := p.Held()
		held, notHeld = held+h, notHeld+n
	}
	ch <- prometheus.MustNewConstMetric(bodiesDesc, prometheus.GaugeValue, float64(held), "held")
	ch <- prometheus.MustNewConstMetric(bodiesDesc, prometheus.GaugeValue, float64(notHeld), "not_held")
}

// Collector is the bodies gauge, to register on the manager's registry.
func Collector() prometheus.Collector { return live }
