package linkserver

import (
	"testing"

	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// CountOnManagerRegistry makes s count its answers as Setup's server does, on the same
// series of the manager's registry: a test reads the growth of those series while only s
// serves.
func CountOnManagerRegistry(t testing.TB, s *Server) {
	m, err := newMetrics(ctrlmetrics.Registry)
	if err != nil {
		t.Fatal(err)
	}
	s.metrics = m
}
