package linkserver

import (
	"context"
	"errors"
	"net/http"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/cachetrim"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// Defaults of the options a zero value leaves unset.
const (
	// DefaultContentCacheBytes caps the memory the content cache may hold.
	DefaultContentCacheBytes = 64 << 20
	// DefaultMaxConnections bounds open connections, so a flood of idle or slow clients
	// costs a fixed amount of memory and descriptors.
	DefaultMaxConnections = 1024
	// DefaultMinTransferRate, in bytes per second, is slower than any usable mobile link.
	DefaultMinTransferRate = 4 << 10
	// DefaultSourceReadTimeout bounds the one API read a request may need (a body not
	// cached yet): while the API server is unreachable the answer is a quick 503.
	DefaultSourceReadTimeout = 3 * time.Second
)

// Options configure the link server.
type Options struct {
	// Addr is --link-bind-address.
	Addr string
	// Keys issue and verify tokens: the live key Secret (signing.LiveKey) in the
	// manager; the server follows every change of them.
	Keys signing.Keys
	// Clock decides expiry for each request; tests move a fake one.
	Clock clock.PassiveClock
	// ContentCacheBytes caps the cached file bodies; 0 means DefaultContentCacheBytes.
	// Larger bodies are served too, each read from its source per request.
	ContentCacheBytes int64
	// SourceReadTimeout bounds an API read of a body; 0 means DefaultSourceReadTimeout.
	SourceReadTimeout time.Duration
	Limits            Limits
}

// Limits harden the server as a public endpoint. Zero fields take the defaults.
type Limits struct {
	// MaxConnections caps connections open at once (--link-max-connections).
	MaxConnections int
	// ReadHeaderTimeout cuts a client that trickles its request headers; default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request; default 60 s.
	IdleTimeout time.Duration
	// MinTransferRate, in bytes per second, averaged over TransferWindow (default 16 s),
	// is the slowest a client may take an answer (--link-min-transfer-rate).
	MinTransferRate int64
	TransferWindow  time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxConnections == 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.ReadHeaderTimeout == 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = 60 * time.Second
	}
	if l.MinTransferRate == 0 {
		l.MinTransferRate = DefaultMinTransferRate
	}
	if l.TransferWindow == 0 {
		l.TransferWindow = 16 * time.Second
	}
	return l
}

// CacheTransform is the transform the manager's cache must apply to every object
// (cache.Options.DefaultTransform): it keeps of Files, FileLinks and FileStores what the
// server and the reconcilers read (cachetrim.Object). Last-Modified comes from the
// sources' metadata, whose own transform (filesource.CacheByObject) keeps the timestamp.
func CacheTransform() toolscache.TransformFunc { return cachetrim.Object }

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
	if err := registerStoreMetrics(); err != nil {
		return nil, err
	}
	s := newServer(mgr.GetCache(), mgr.GetAPIReader(), o)
	s.rechecks.files = mgr.GetClient()
	s.metrics = m
	s.handler = m.observe(http.HandlerFunc(s.serveLink))
	if err := mgr.Add(s); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("linkserver", s.ReadyCheck); err != nil {
		return nil, err
	}
	return s, nil
}

// newServer returns a Server reading links and Files from cache and file bodies from
// source, without metrics and without asking for re-checks; Setup is the one way in,
// tests reach it through export_test.go.
func newServer(informers cache.Cache, source client.Reader, o Options) *Server {
	if o.ContentCacheBytes == 0 {
		o.ContentCacheBytes = DefaultContentCacheBytes
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.SourceReadTimeout == 0 {
		o.SourceReadTimeout = DefaultSourceReadTimeout
	}
	log := ctrl.Log.WithName("linkserver")
	s := &Server{
		addr:    o.Addr,
		cache:   informers,
		objects: &sharedReader{cache: informers},
		source:  source,
		links:   newTokenMap(),
		clock:   o.Clock,
		log:     log,
		limits:  o.Limits.withDefaults(),

		sourceReadTimeout: o.SourceReadTimeout,
		content:           newContentCache(o.ContentCacheBytes),
		rechecks:          newRecheckRequester(o.Clock, log),
	}
	s.reachStores(objectstore.Options{})
	s.handler = http.HandlerFunc(s.serveLink)
	// One server per process, never rebuilt: it follows the keys for good.
	o.Keys.Notify(context.Background(), s.links.rekey)
	return s
}
