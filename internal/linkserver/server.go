// Package linkserver serves the files behind FileLink URLs. It runs on every replica of
// the manager, answers from the manager's informer cache and a bounded content cache, and
// decides expiry from each request's own time, never waiting for the reconciler.
//
// This package assembles the packages below it and answers through net/http:
//
//   - guard: what every connection and answer is held to; imports none of the others.
//   - content: the bodies of Secrets and ConfigMaps, cached and fetched ahead; none.
//   - decision: token → link → File → what to serve, or 404/410; imports content.
//   - delivery: objects of a FileStore, proxied or redirected; imports decision, guard.
//   - fastpath: plain requests for cached bodies, below net/http; imports guard,
//     content, answer and clientip, and reaches the decision only through its own
//     Decider interface.
//   - answer: the record of one answered request, which every path reports to the
//     Server's consumers (answered.go); imports none of the others.
//   - audit: the audit log, one JSON line per answer; imports answer.
//   - clientip: which address an answer went to, behind trusted proxies; none.
//
// None imports this package.
package linkserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/cacheindex"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/audit"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/clientip"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/content"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/decision"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/delivery"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/fastpath"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/ledger"
)

// Server is the link server: a manager Runnable that does not need leader election.
type Server struct {
	addr  string
	cache cache.Cache // the manager's informer cache
	log   logr.Logger
	// limits have their defaults filled in.
	limits guard.Limits
	// listen is net.ListenConfig's zero value outside tests, which shrink socket buffers
	// to make a stalled reader show within a small body.
	listen net.ListenConfig

	decider  *decision.Decider
	bodies   *content.Bodies
	prefetch *content.Prefetcher
	store    *delivery.Store
	// ledger counts downloads into the links' status and reserves limited links' ones.
	ledger  *ledger.Ledger
	handler http.Handler
	// metrics count every answer, of either path; nil counts nothing (tests' servers).
	metrics *metrics
	// audit logs every answer (SPEC §13); nil logs nothing (--audit-log=off).
	audit *audit.Log
	// proxies decide which address an answer went to.
	proxies clientip.Proxies
	// fast is the running fast path, for tests that tell which path answered.
	fast atomic.Pointer[fastpath.FastPath]
	// serving is set once the listener is bound: after the caches have synced, since
	// the manager starts runnables only then.
	serving atomic.Bool
}

// ReadyCheck fails until the server accepts connections, so a replica joins the link
// Service only once it can answer from a synced cache.
func (s *Server) ReadyCheck(*http.Request) error {
	if !s.serving.Load() {
		return errors.New("link server not serving yet")
	}
	return nil
}

// Start serves until ctx is done, then shuts down gracefully: in-flight downloads get a
// few seconds to finish.
func (s *Server) Start(ctx context.Context) error {
	// The token map is filled from the informer's events: serve once it holds every
	// link the cache knows, so a restarted replica never answers 404 for a live link.
	inf, err := s.cache.GetInformer(ctx, &filelinkv1.FileLink{})
	if err != nil {
		return fmt.Errorf("link server: %w", err)
	}
	reg, err := inf.AddEventHandler(s.decider.Links())
	if err != nil {
		return fmt.Errorf("link server: %w", err)
	}
	defer func() { _ = inf.RemoveEventHandler(reg) }()
	stopPrefetch, err := s.startPrefetch(ctx)
	if err != nil {
		return fmt.Errorf("link server: %w", err)
	}
	defer stopPrefetch()
	if !toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
		return nil
	}
	// Stopped last, by defer, once neither path answers any more: every answer's line
	// is written before Start returns.
	defer s.audit.Start()()
	// The ledger outlives the listener: answers finishing during shutdown are counted,
	// then its last flush writes them.
	ledgerCtx, stopLedger := context.WithCancel(context.WithoutCancel(ctx))
	ledgerDone := make(chan struct{})
	go func() { s.ledger.Run(ledgerCtx); close(ledgerDone) }()
	defer func() { stopLedger(); <-ledgerDone }()
	ln, err := s.listen.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("link server: %w", err)
	}
	srv := &http.Server{
		Handler: s.handler,
		// net/http answers 431 itself beyond this plus its 4 KiB of slack; the handler
		// answers 431 from guard.MaxHeaderBytes on, with the headers every answer carries.
		MaxHeaderBytes:    guard.MaxHeaderBytes,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		// Ends the head deadline a connection handed off by the fast path carries, and
		// with ConnContext tells the handler's answers from net/http's own
		// (fastpath/handoff.go).
		ConnState:   fastpath.ConnState,
		ConnContext: fastpath.ConnContext,
		// net/http would answer "OPTIONS *" itself, 200 without the headers every answer
		// carries; the handler refuses it (405) like any method but GET and HEAD.
		DisableGeneralOptionsHandler: true,
		// No WriteTimeout: a fixed one would cut a slow reader of a large file. Each
		// answer's writer holds the reader to MinTransferRate instead.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	s.log.Info("serving links", "address", ln.Addr().String(), "maxConnections", s.limits.MaxConnections)
	// Every connection starts on the fast path, which hands net/http the ones it does
	// not serve.
	limited := guard.NewLimitListener(ln, s.limits.MaxConnections)
	fast := fastpath.New(fastpath.Config{Decider: s.decider, Limits: s.limits, Answered: s.answered, Proxies: s.proxies, Log: s.log}, limited.Addr())
	s.fast.Store(fast)
	s.serving.Store(true)
	defer s.serving.Store(false)
	httpDone, fastDone := make(chan error, 1), make(chan error, 1)
	go func() { httpDone <- srv.Serve(fast.Handoff()) }()
	go func() { fastDone <- fast.Serve(ctx, limited) }()
	var failed error
	select {
	case err := <-httpDone:
		failed = err
	case err := <-fastDone:
		failed = err
	case <-ctx.Done():
	}
	_ = limited.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fastStopped := make(chan error, 1)
	go func() { fastStopped <- fast.Shutdown(shutdownCtx) }()
	httpErr := srv.Shutdown(shutdownCtx)
	fastErr := <-fastStopped
	if failed != nil {
		return fmt.Errorf("link server: %w", failed)
	}
	if err := errors.Join(httpErr, fastErr); err != nil {
		return fmt.Errorf("link server shutdown: %w", err)
	}
	return nil
}

// startPrefetch fetches bodies ahead until the returned function is called.
func (s *Server) startPrefetch(ctx context.Context) (func(), error) {
	if s.prefetch == nil {
		return func() {}, nil
	}
	if err := cacheindex.IndexFilesBySource(ctx, s.cache); err != nil {
		return nil, err
	}
	files, err := s.cache.GetInformer(ctx, &filelinkv1.File{})
	if err != nil {
		return nil, err
	}
	sources := map[filesource.Kind]content.Informer{}
	for _, kind := range filesource.InClusterKinds() {
		inf, err := s.cache.GetInformer(ctx, filesource.Ref{Kind: kind}.Metadata())
		if err != nil {
			return nil, err
		}
		sources[kind] = inf
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.prefetch.Run(ctx, files, sources); err != nil {
			s.log.Error(err, "fetching bodies ahead stopped; bodies are read on first download")
		}
	})
	return func() { cancel(); wg.Wait() }, nil
}

// KeepBody holds a body of file the File reconciler read (controllers.Config.SourceRead),
// so fetching it ahead for the File reads nothing more.
func (s *Server) KeepBody(file *filelinkv1.File, c filesource.Content, sha256 string) {
	s.bodies.Keep(file, c, sha256)
}

// NeedLeaderElection is false: every replica serves, so serving scales out behind a
// Service while one leader reconciles.
func (s *Server) NeedLeaderElection() bool { return false }

// Handler is the HTTP handler with metrics, for tests and benchmarks that bring their
// own listener.
func (s *Server) Handler() http.Handler { return s.handler }

// serveLink is net/http's answer to a link request: everything but the plain requests
// for cached bodies that the fast path answers.
func (s *Server) serveLink(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	fastpath.Answering(r)
	w := guard.NewWriter(rw, s.limits.MinTransferRate, s.limits.TransferWindow)
	a := s.requestAnswer(r, start)
	// Before LimitRanges may drop a range list too long to honour.
	s.reportAfterBody(w, &a, r.Header.Get("Range"))
	defer w.Finish()
	h := w.Header()
	if guard.RequestHasBody(r) {
		// Nothing here reads a body; waiting for one to trickle in before the next
		// request would let a client hold a connection for ever.
		h.Set("Connection", "close")
		_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
	}
	if guard.HeaderBytes(r) > guard.MaxHeaderBytes {
		http.Error(w, "request header fields too large", http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	v, err := s.decider.Decide(r.Context(), r.URL.Path)
	a.Link = answer.LinkOf(v.Link)
	if err != nil {
		s.fail(w, err, v.Link)
		return
	}
	s.reserveCounted(w, r, v.Link)
	if v.File.Spec.Source.Store != nil {
		if err := s.store.Serve(w, r, v.Link, v.File); err != nil {
			s.fail(w, err, v.Link)
		}
		return
	}
	b, err := s.bodies.Get(r.Context(), v.Source, v.Key, v.Modified)
	if err != nil {
		s.fail(w, err, v.Link)
		return
	}
	defer b.Done()
	h.Set("Content-Type", v.File.MediaType())
	h.Set("Content-Disposition", guard.Attachment(v.File.DownloadName()))
	h.Set("ETag", b.ETag)
	guard.LimitRanges(r)
	http.ServeContent(w, r, "", b.Modified, b.Content)
}

// fail answers 410 for an expired link, 404 for anything not servable, and 503 for a
// failure that may pass (the API server unreachable for a body not cached, an object
// store that does not answer), logged with the link's name: the path holds the token,
// so it is never logged.
func (s *Server) fail(w http.ResponseWriter, err error, link *filelinkv1.FileLink) {
	switch {
	case errors.Is(err, decision.ErrExpired):
		http.Error(w, "expired", http.StatusGone)
		return
	case errors.Is(err, decision.ErrLimitReached):
		http.Error(w, "download limit reached", http.StatusGone)
		return
	case decision.NotServable(err):
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	log := s.log
	if link != nil {
		log = log.WithValues("fileLink", types.NamespacedName{Namespace: link.Namespace, Name: link.Name})
	}
	log.Error(err, "serving link")
	http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
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
	bodies := content.NewBodies(content.NewCache(o.ContentCacheBytes), source, o.SourceReadTimeout)
	decider := decision.New(informers, o.Keys, o.Clock, bodies)
	s := &Server{
		addr:     o.Addr,
		cache:    informers,
		log:      log,
		limits:   o.Limits.WithDefaults(),
		decider:  decider,
		bodies:   bodies,
		prefetch: content.NewPrefetcher(bodies, informers, decider.SourceVersion, log.WithName("prefetch")),
		store: delivery.New(delivery.Config{Cache: informers, Source: source, SourceReadTimeout: o.SourceReadTimeout,
			Networks: o.StoreNetworks, Clock: o.Clock, Log: log}),
	}
	s.ledger = ledger.New(ledger.Config{Cache: informers, API: source, Status: o.Status, Clock: tickerOf(o.Clock),
		FlushInterval: o.LedgerFlushInterval, Uncounted: o.Uncounted, Log: log.WithName("ledger")}, o.ledgerMetrics)
	if o.AuditLog != nil {
		s.audit = audit.New(audit.Config{Writer: o.AuditLog, Replica: o.Replica, Log: log.WithName("audit")})
	}
	s.proxies = o.TrustedProxies
	s.handler = http.HandlerFunc(s.serveLink)
	return s
}
