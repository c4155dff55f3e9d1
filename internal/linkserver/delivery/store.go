// Package delivery serves Files whose bytes are objects of a FileStore (SPEC §10), once
// the decision has found the link live and its File Ready: proxied, by streaming exactly
// the object version the File's status describes (its versionId, or its ETag through
// If-Match when the bucket is not versioned) with http.ServeContent's semantics and
// Range passed through; or redirected, by a 302 to a presigned GET that outlives neither
// the link nor 60 s (a link with a download limit is always proxied: a presigned URL
// could be fetched any number of times). An object that no longer is that version answers 503 (404 once that
// version is gone), never other bytes, and asks the File controller, through an
// annotation, to look at the File again at once rather than at the FileStore's next
// interval. Buckets are opened through storeaccess, the one way into a FileStore that
// the controllers use too; the rules of serving stay here: a store being deleted, or
// whose last check failed, serves nothing.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/decision"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
)

// redirectTTL is the longest a presigned URL of redirect delivery lives: long enough
// to follow the redirect, short enough that a leaked URL is worth little.
const redirectTTL = 60 * time.Second

// storeOpenTimeout bounds the wait for the object store's first answer to a GET, so a
// store that hangs gives a 503 rather than a request held for ever. Once the body
// flows, the downloader's own pace rules.
const storeOpenTimeout = 10 * time.Second

// Config is what a Store delivers with.
type Config struct {
	// Cache is the manager's informer cache: FileStores, and credentials Secrets'
	// metadata (labelled ones only).
	Cache cache.Cache
	// Source is the API server, for the data of a credentials Secret that changed.
	Source client.Reader
	// SourceReadTimeout bounds that read.
	SourceReadTimeout time.Duration
	// Networks judges every connection to a store; nil: the built-in denials alone.
	Networks *netguard.Policy
	Clock    clock.PassiveClock
	Log      logr.Logger
}

// Store delivers Files whose bytes are objects of a FileStore.
type Store struct {
	cfg Config
	// access opens FileStores' buckets and keeps their clients (reachStores).
	access *storeaccess.Access
	// rechecks asks the File controller to look again at a File whose object changed.
	rechecks *recheckRequester
}

// New returns a Store; it asks for no re-check until SetRecheckWriter is called.
func New(cfg Config) *Store {
	s := &Store{cfg: cfg, rechecks: newRecheckRequester(cfg.Clock, cfg.Log)}
	s.reachStores(objectstore.Options{Networks: cfg.Networks})
	return s
}

// reachStores makes s open FileStores' buckets with opts: credentials read from the API
// server within the one read's timeout, their consent and version taken from the cache,
// and a refusal left unexplained, since it is a 404 whatever its reason.
func (s *Store) reachStores(opts objectstore.Options) {
	s.access = storeaccess.New(storeaccess.Options{Labelled: s.cfg.Cache, Secrets: s.cfg.Source, ReadTimeout: s.cfg.SourceReadTimeout, Store: opts})
}

// SetRecheckWriter makes the store ask for File re-checks through files: the manager's
// client, or a test's.
func (s *Store) SetRecheckWriter(files client.Writer) { s.rechecks.files = files }

// SetTransport makes the store reach object stores through rt; tests count requests.
func (s *Store) SetTransport(rt http.RoundTripper) { s.reachStores(objectstore.Options{Transport: rt}) }

// Serve answers for a File whose bytes are an object of a FileStore; the decision has
// found the link live and the File Ready. When the store refuses the link before any
// answer is written (no FileStore, unlabelled credentials, a File without a version),
// Serve writes nothing and returns an error, decision.ErrNotServable or one that may
// pass, for the caller to answer; the answer is counted all the same.
func (s *Store) Serve(w *guard.Writer, r *http.Request, link *filelinkv1.FileLink, file *filelinkv1.File) error {
	a := &storeAnswer{delivery: filelinkv1.DeliveryProxy, outcome: storeRefused}
	w.BeforeHead(a.beforeHead)
	obj := file.Status.StoreObject
	if obj == nil || file.Status.SHA256 == "" || (obj.VersionID == "" && obj.ETag == "") {
		// Ready without the version it describes: nothing could pin the bytes.
		return decision.ErrNotServable
	}
	store, bucket, err := s.bucketFor(r.Context(), file)
	if err != nil {
		a.outcome = storeOutcome(err)
		return err
	}
	version := objectstore.Version{VersionID: obj.VersionID, ETag: obj.ETag}
	// A presigned URL cannot be counted, so a link with a download limit is proxied
	// whatever the store's delivery: its downloads are reserved before they are served.
	if store.Spec.Delivery == filelinkv1.DeliveryRedirect && !link.Limited() {
		a.delivery = filelinkv1.DeliveryRedirect
		return s.redirect(w, a, r, link, file, bucket, version)
	}
	h := w.Header()
	h.Set("Content-Type", file.MediaType())
	h.Set("Content-Disposition", guard.Attachment(file.DownloadName()))
	h.Set("ETag", `"`+file.Status.SHA256+`"`)
	var modified time.Time
	if obj.LastModified != nil {
		modified = obj.LastModified.Time
	}
	guard.LimitRanges(r)
	content := newObjectReader(r.Context(), bucket, file.Spec.Source.Store.Key, version, file.Status.Size)
	content.stale = func() { s.rechecks.request(file) }
	defer content.Close()
	a.proxy = &proxied{content: content, get: r.Method == http.MethodGet, ranges: r.Header.Get("Range")}
	// ServeContent answers HEAD, conditional requests and Range from the status alone;
	// the object store is asked only when it commits to sending bytes (proxied.open).
	http.ServeContent(w, r, "", modified, content)
	if !a.proxy.multipart {
		content.closeBody()
	}
	if err := w.Refused(); err != nil {
		s.storeFailed(err, link)
	}
	return nil
}

// storeFailed logs what the object store said. The answer is written already.
func (s *Store) storeFailed(err error, link *filelinkv1.FileLink) {
	log := s.cfg.Log.WithValues("fileLink", types.NamespacedName{Namespace: link.Namespace, Name: link.Name})
	switch {
	case errors.Is(err, objectstore.ErrObjectChanged):
		log.Info("object changed since the File's status was written; answering 503 until the File is checked again, which is requested", "reason", err.Error())
	case storeStatus(err) == http.StatusNotFound:
		log.V(1).Info("object not servable", "reason", err.Error())
	default:
		log.Error(err, "reading object")
	}
}

// storeStatus is the answer to a failed object store request: 404 for what the object
// store says does not exist or may not be read (the same 404 as any unservable link),
// 503 for what may pass, an object changed under the File above all.
func storeStatus(err error) int {
	switch {
	case errors.Is(err, objectstore.ErrObjectNotFound), errors.Is(err, objectstore.ErrBucketNotFound),
		errors.Is(err, objectstore.ErrAccessDenied):
		return http.StatusNotFound
	default:
		return http.StatusServiceUnavailable
	}
}

// redirect answers 302 to a presigned GET of the object version, valid until the
// earlier of redirectTTL and the link's expiry, carrying the File's name and type.
func (s *Store) redirect(w *guard.Writer, a *storeAnswer, r *http.Request, link *filelinkv1.FileLink, file *filelinkv1.File,
	bucket *objectstore.Bucket, version objectstore.Version) error {
	ttl := redirectTTL
	if until, ok := link.UntilExpiry(s.cfg.Clock.Now()); ok && until < ttl {
		ttl = until
	}
	if ttl < time.Second {
		// A presigned URL counts in whole seconds; any would outlive the link, which
		// will have expired by the time a retry comes.
		a.outcome = storeUnavailable
		w.Header().Set("Retry-After", "1")
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return nil
	}
	key := file.Spec.Source.Store.Key
	if version.VersionID == "" {
		// Without a versionId the URL reaches whatever the key holds when it is
		// followed; checking the ETag now narrows a change's window to the URL's life.
		ctx, cancel := context.WithTimeout(r.Context(), storeOpenTimeout)
		info, err := bucket.Stat(ctx, key, "")
		cancel()
		if err == nil && info.ETag != version.ETag {
			err = fmt.Errorf("stat %s: %w: now ETag %q", key, objectstore.ErrObjectChanged, info.ETag)
		}
		if err != nil {
			if staleVersion(err) {
				s.rechecks.request(file)
			}
			a.outcome = storeOutcome(err)
			http.Error(w, http.StatusText(storeStatus(err)), storeStatus(err))
			s.storeFailed(err, link)
			return nil
		}
	}
	u, err := bucket.PresignGet(r.Context(), key, objectstore.Version{VersionID: version.VersionID}, ttl, objectstore.ResponseHeaders{
		ContentType:        file.MediaType(),
		ContentDisposition: guard.Attachment(file.DownloadName()),
	})
	if err != nil {
		a.outcome = storeOutcome(err)
		return err
	}
	a.outcome = storeRedirected
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
	return nil
}

// bucketFor returns the File's FileStore, from the informer cache, and a client for its
// bucket from storeaccess, which reads the credentials Secret's data only when the
// FileStore's spec or the Secret changed: steady-state downloads make no API calls.
func (s *Store) bucketFor(ctx context.Context, file *filelinkv1.File) (*filelinkv1.FileStore, *objectstore.Bucket, error) {
	store := &filelinkv1.FileStore{}
	if err := s.cfg.Cache.Get(ctx, types.NamespacedName{Namespace: file.Namespace, Name: file.Spec.Source.Store.Name}, store); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, decision.ErrNotServable
		}
		return nil, nil, err
	}
	if store.DeletionTimestamp != nil || store.LastCheckFailed() {
		// The File controller's rule, so a link answers as its File's status will: a
		// store its controller found unusable serves nothing, even before the File
		// catches up; one Ready for an older spec still serves, with the current spec,
		// so editing a FileStore is no outage (FileStore.LastCheck).
		return nil, nil, decision.ErrNotServable
	}
	bucket, err := s.access.Open(ctx, store)
	if storeaccess.Refused(err) {
		return nil, nil, fmt.Errorf("%w: FileStore %s/%s: %w", decision.ErrNotServable, store.Namespace, store.Name, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return store, bucket, nil
}
