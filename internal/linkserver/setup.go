package linkserver

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/audit"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/content"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/delivery"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/ledger"
)

// Setup adds the link server to mgr, with the informers it reads. Those informers would
// otherwise be started only by the controllers, which run on the leader alone. Links and
// Files come from mgr's cache, which must apply CacheTransform, and source metadata from
// its labelled-only part (filesource.CacheByObject); file bodies from the API server.
// Its one write, the re-check annotation on a File whose object changed, goes through
// mgr's client.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) (*Server, error) {
	if o.Keys == nil {
		return nil, errors.New("link server: no signing keys (Options.Keys)")
	}
	for _, obj := range []client.Object{&filelinkv1.FileLink{}, &filelinkv1.File{}, &filelinkv1.FileStore{}, filesource.Ref{Kind: "Secret"}.Metadata(), filesource.Ref{Kind: "ConfigMap"}.Metadata()} {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return nil, err
		}
	}
	m, err := newMetrics(ctrlmetrics.Registry)
	if err != nil {
		return nil, err
	}
	o.ledgerMetrics = ledger.ProcessMetrics()
	for _, c := range append([]prometheus.Collector{delivery.Collector(), content.Collector(), audit.Collector()}, o.ledgerMetrics.Collectors()...) {
		if _, err := register(ctrlmetrics.Registry, c); err != nil {
			return nil, err
		}
	}
	if o.Status == nil {
		o.Status = mgr.GetClient()
	}
	s := newServer(mgr.GetCache(), mgr.GetAPIReader(), o)
	s.store.SetRecheckWriter(mgr.GetClient())
	s.metrics = m
	if err := mgr.Add(s); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("linkserver", s.ReadyCheck); err != nil {
		return nil, err
	}
	return s, nil
}
