// Package linkserver serves the files behind FileLink URLs. It runs on every replica of
// the manager, answers from the manager's informer cache and a bounded content cache, and
// decides expiry from each request's own time, never waiting for the reconciler.
package linkserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/singleflight"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
)

// Server is the link server: a manager Runnable that does not need leader election.
type Server struct {
	addr  string
	cache cache.Cache // the manager's informer cache
	// objects reads Files and source metadata from the cache without copying them.
	objects *sharedReader
	source  client.Reader // the API server, for content not yet in the content cache
	// links finds a link by token; it follows the FileLink informer and the keys.
	links  *tokenMap
	clock  clock.PassiveClock
	log    logr.Logger
	limits Limits
	// listen is net.ListenConfig's zero value outside tests, which shrink socket buffers
	// to make a stalled reader show within a small body.
	listen net.ListenConfig

	sourceReadTimeout time.Duration
	content           *contentCache
	fetches           singleflight.Group
	// stores opens FileStores' buckets and keeps their clients (reachStores).
	stores *storeaccess.Access
	// rechecks asks the File controller to look again at a File whose object changed.
	rechecks *recheckRequester
	handler  http.Handler
	// metrics count the fast path's answers; net/http's are counted by handler.
	metrics *metrics
	// fastAnswers counts the fast path's answers, so tests can tell which path answered.
	fastAnswers atomic.Int64
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
	reg, err := inf.AddEventHandler(s.links.handler())
	if err != nil {
		return fmt.Errorf("link server: %w", err)
	}
	defer func() { _ = inf.RemoveEventHandler(reg) }()
	if !toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
		return nil
	}
	ln, err := s.listen.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("link server: %w", err)
	}
	srv := &http.Server{
		Handler: s.handler,
		// net/http answers 431 itself beyond this plus its 4 KiB of slack; the handler
		// answers 431 from maxHeaderBytes on, with the headers every answer carries.
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		// Ends the head deadline a connection handed off by the fast path carries, and
		// with ConnContext tells the handler's answers from net/http's own (handoff.go).
		ConnState:   connState,
		ConnContext: connContext,
		// net/http would answer "OPTIONS *" itself, 200 without the headers every answer
		// carries; the handler refuses it (405) like any method but GET and HEAD.
		DisableGeneralOptionsHandler: true,
		// No WriteTimeout: a fixed one would cut a slow reader of a large file. Each
		// answer's writer holds the reader to MinTransferRate instead.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	s.log.Info("serving links", "address", ln.Addr().String(), "maxConnections", s.limits.MaxConnections)
	s.serving.Store(true)
	defer s.serving.Store(false)
	// Every connection starts on the fast path, which hands net/http the ones it does
	// not serve (fastpath.go).
	limited := newLimitListener(ln, s.limits.MaxConnections)
	handoff := newHandoffListener(limited.Addr())
	fast := newFastPath(s, handoff)
	httpDone, fastDone := make(chan error, 1), make(chan error, 1)
	go func() { httpDone <- srv.Serve(handoff) }()
	go func() { fastDone <- fast.acceptLoop(ctx, limited) }()
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
	go func() { fastStopped <- fast.shutdown(shutdownCtx) }()
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

// NeedLeaderElection is false: every replica serves, so serving scales out behind a
// Service while one leader reconciles.
func (s *Server) NeedLeaderElection() bool { return false }

// Handler is the HTTP handler with metrics, for tests and benchmarks that bring their
// own listener.
func (s *Server) Handler() http.Handler { return s.handler }

// errNotServable covers every reason a link does not serve that must look the same from
// outside: unknown token, deleted link, missing File, unlinkable purpose, missing source.
var errNotServable = errors.New("not servable")

func (s *Server) serveLink(rw http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	answering(r)
	w := &hardenedWriter{ResponseWriter: newPacedWriter(rw, s.limits.MinTransferRate, s.limits.TransferWindow)}
	h := w.Header()
	if requestHasBody(r) {
		// Nothing here reads a body; waiting for one to trickle in before the next
		// request would let a client hold a connection for ever.
		h.Set("Connection", "close")
		_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
	}
	if headerBytes(r) > maxHeaderBytes {
		http.Error(w, "request header fields too large", http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	link, err := s.linkFor(r.URL.Path)
	if err != nil {
		s.fail(w, err, nil)
		return
	}
	if link.ExpiredAt(now) {
		http.Error(w, "expired", http.StatusGone)
		return
	}
	file, err := s.fileFor(r.Context(), link)
	if err != nil {
		s.fail(w, err, link)
		return
	}
	if file.Spec.Source.Store != nil {
		s.serveStore(w, r, link, file)
		return
	}
	b, err := s.bodyOf(r.Context(), file)
	if err != nil {
		s.fail(w, err, link)
		return
	}
	defer b.done()
	h.Set("Content-Type", file.MediaType())
	h.Set("Content-Disposition", attachment(file.DownloadName()))
	h.Set("ETag", b.etag)
	limitRanges(r)
	http.ServeContent(w, r, "", b.modified, b.content)
}

// fail answers 404 for anything not servable, and 503 for a failure that may pass (the
// API server unreachable for a body not cached yet), logged with the link's name: the
// path holds the token, so it is never logged.
func (s *Server) fail(w http.ResponseWriter, err error, link *filelinkv1.FileLink) {
	if errors.Is(err, errNotServable) {
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

// linkFor finds the live FileLink whose token is the last path segment: one map lookup
// by the token itself, then a constant-time comparison under the keys the map was built
// with. It never calls the API server.
func (s *Server) linkFor(path string) (*filelinkv1.FileLink, error) {
	token, ok := signing.TokenFromPath(path)
	if !ok {
		return nil, errNotServable
	}
	l, signer := s.links.lookup(token)
	if l == nil || signer == nil || l.DeletionTimestamp != nil || !signer.Verify(token, l.UID) {
		return nil, errNotServable
	}
	return l, nil
}

// fileFor returns the link's File when it exists, its purpose may be linked and the File
// controller found it Ready: a File it refused (an unlabelled source above all) serves
// nothing, on every replica, even before that replica's cache sees the source change.
// Ready for an older generation is enough; the body is read from the current spec's
// source, whose label bodyOf checks itself. The File is the informer's: read, never
// change it.
func (s *Server) fileFor(ctx context.Context, link *filelinkv1.FileLink) (*filelinkv1.File, error) {
	file, err := get(ctx, s.objects, types.NamespacedName{Namespace: link.Namespace, Name: link.Spec.File}, fileKind, newFile)
	if apierrors.IsNotFound(err) {
		return nil, errNotServable
	}
	if err != nil {
		return nil, err
	}
	if !file.Spec.Purpose.Linkable() || file.DeletionTimestamp != nil || !meta.IsStatusConditionTrue(file.Status.Conditions, filelinkv1.ConditionReady) {
		return nil, errNotServable
	}
	return file, nil
}

// fileKind and newFile name the File kind to sharedReader.
var fileKind = filelinkv1.GroupVersion.WithKind("File")

func newFile() *filelinkv1.File { return &filelinkv1.File{} }
