package main

import (
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// Namespaces keep each measurement's objects apart, so the tracker can count them and
// the baseline can be deleted in one call.
const (
	nsBaseline  = "bench-baseline"
	nsReconcile = "bench-reconcile"
	nsEndToEnd  = "bench-e2e"
	nsExtra     = "bench-extra"
	nsLoad      = "bench-load"
	nsExpiry    = "bench-expiry"
	nsFailover  = "bench-failover"
	nsLarge     = "bench-large"
	// nsLimited holds row 8's links of maxDownloads 1; nsLimitedBase its bare client's.
	nsLimited     = "bench-limited"
	nsLimitedBase = "bench-limited-base"
	nsSoak        = "bench-soak"
)

// unthrottled returns a copy of cfg without client-side rate limiting (QPS < 0 makes
// client-go build no limiter), so the harness measures the server, not client-go.
func unthrottled(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	c.Timeout = time.Minute
	return c
}

type clients struct {
	ctrl client.Client
	kube kubernetes.Interface
}

func newClients(cfg *rest.Config) (clients, error) {
	c, err := client.New(cfg, client.Options{Scheme: framework.Scheme})
	if err != nil {
		return clients{}, err
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return clients{}, err
	}
	return clients{ctrl: c, kube: k}, nil
}
