package linkserver

import (
	"context"
	"net/http"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/lastmodified"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// DefaultContentCacheBytes caps the memory the content cache may hold.
const DefaultContentCacheBytes = 64 << 20

// Options configure the link server.
type Options struct {
	// Addr is --link-bind-address.
	Addr   string
	Signer *signing.Signer
	// Clock decides expiry for each request; tests move a fake one.
	Clock clock.PassiveClock
	// ContentCacheBytes caps the cached file bodies; 0 means DefaultContentCacheBytes.
	ContentCacheBytes int64
}

// CacheTransform is the transform the manager's cache must apply to every object
// (cache.Options.DefaultTransform): Last-Modified comes from lastmodified.Of, which
// reads the one managed-fields timestamp this keeps, while the field sets (often the
// largest part of a cached object, read by nothing in the manager) are dropped.
func CacheTransform() toolscache.TransformFunc { return lastmodified.Transform }

// Setup adds the link server to mgr, with the token index it looks links up by and the
// informers it reads. Those informers would otherwise be started only by the
// controllers, which run on the leader alone. Links and Files come from mgr's cache,
// which must apply CacheTransform; file bodies from the API server.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) (*Server, error) {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &filelinkv1.FileLink{}, TokenIndex, func(obj client.Object) []string {
		return o.Signer.Tokens(obj.GetUID())
	}); err != nil {
		return nil, err
	}
	for _, obj := range []client.Object{&filelinkv1.File{}, filesource.Ref{Kind: "Secret"}.Metadata(), filesource.Ref{Kind: "ConfigMap"}.Metadata()} {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return nil, err
		}
	}
	m, err := newMetrics(ctrlmetrics.Registry)
	if err != nil {
		return nil, err
	}
	if o.ContentCacheBytes == 0 {
		o.ContentCacheBytes = DefaultContentCacheBytes
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	s := &Server{
		addr:    o.Addr,
		cache:   mgr.GetCache(),
		source:  mgr.GetAPIReader(),
		signer:  o.Signer,
		clock:   o.Clock,
		log:     ctrl.Log.WithName("linkserver"),
		content: newContentCache(o.ContentCacheBytes),
	}
	s.handler = m.observe(http.HandlerFunc(s.serveLink))
	if err := mgr.Add(s); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("linkserver", s.ReadyCheck); err != nil {
		return nil, err
	}
	return s, nil
}
