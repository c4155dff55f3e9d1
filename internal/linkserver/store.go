package linkserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
)

// Files whose source is an object of a FileStore (SPEC §10). The link server serves
// exactly the object version the File's status describes: its versionId, or its ETag
// through If-Match when the bucket is not versioned. An object that no longer is that
// version answers 503 (404 once that version is gone) until the File controller records
// the new version and digest: at once, since the link server asks it to (recheck.go),
// and at the latest at the FileStore's next interval.

// redirectTTL is the longest a presigned URL of redirect delivery lives: long enough
// to follow the redirect, short enough that a leaked URL is worth little.
const redirectTTL = 60 * time.Second

// storeOpenTimeout bounds the wait for the object store's first answer to a GET, so a
// store that hangs gives a 503 rather than a request held for ever. Once the body
// flows, the downloader's own pace rules.
const storeOpenTimeout = 10 * time.Second

// serveStore answers for a File whose bytes are an object of a FileStore. The 404 and
// 410 decisions were taken already or are taken here, never left to the object store.
func (s *Server) serveStore(w *hardenedWriter, r *http.Request, link *filelinkv1.FileLink, file *filelinkv1.File) {
	a := &storeAnswer{ResponseWriter: w, delivery: filelinkv1.DeliveryProxy}
	obj := file.Status.StoreObject
	if obj == nil || file.Status.SHA256 == "" || (obj.VersionID == "" && obj.ETag == "") {
		// Ready without the version it describes: nothing could pin the bytes.
		a.outcome = storeRefused
		s.fail(a, errNotServable, link)
		return
	}
	store, bucket, err := s.bucketFor(r.Context(), file)
	if err != nil {
		a.outcome = storeOutcome(err)
		s.fail(a, err, link)
		return
	}
	key := file.Spec.Source.Store.Key
	version := objectstore.Version{VersionID: obj.VersionID, ETag: obj.ETag}
	if store.Spec.Delivery == filelinkv1.DeliveryRedirect {
		a.delivery = filelinkv1.DeliveryRedirect
		s.redirect(a, r, link, file, bucket, version)
		return
	}
	h := a.Header()
	h.Set("Content-Type", file.MediaType())
	h.Set("Content-Disposition", attachment(file.DownloadName()))
	h.Set("ETag", `"`+file.Status.SHA256+`"`)
	var modified time.Time
	if obj.LastModified != nil {
		modified = obj.LastModified.Time
	}
	limitRanges(r)
	content := newObjectReader(r.Context(), bucket, key, version, file.Status.Size)
	content.stale = func() { s.rechecks.request(file) }
	defer content.Close()
	ow := &openingWriter{ResponseWriter: a, answer: a, content: content, get: r.Method == http.MethodGet}
	// ServeContent answers HEAD, conditional requests and Range from the status alone;
	// the object store is asked only when it commits to sending bytes.
	http.ServeContent(ow, r, "", modified, content)
	if !ow.multipart {
		content.closeBody()
	}
	if ow.err != nil {
		s.storeFailed(ow.err, link)
	}
}

// storeFailed logs what the object store said. The answer is written already.
func (s *Server) storeFailed(err error, link *filelinkv1.FileLink) {
	log := s.log.WithValues("fileLink", types.NamespacedName{Namespace: link.Namespace, Name: link.Name})
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
func (s *Server) redirect(w *storeAnswer, r *http.Request, link *filelinkv1.FileLink, file *filelinkv1.File,
	bucket *objectstore.Bucket, version objectstore.Version) {
	ttl := redirectTTL
	if until, ok := link.UntilExpiry(s.clock.Now()); ok && until < ttl {
		ttl = until
	}
	if ttl < time.Second {
		// A presigned URL counts in whole seconds; any would outlive the link, which
		// will have expired by the time a retry comes.
		w.outcome = storeUnavailable
		w.Header().Set("Retry-After", "1")
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
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
			w.outcome = storeOutcome(err)
			http.Error(w, http.StatusText(storeStatus(err)), storeStatus(err))
			s.storeFailed(err, link)
			return
		}
	}
	u, err := bucket.PresignGet(r.Context(), key, objectstore.Version{VersionID: version.VersionID}, ttl, objectstore.ResponseHeaders{
		ContentType:        file.MediaType(),
		ContentDisposition: attachment(file.DownloadName()),
	})
	if err != nil {
		w.outcome = storeOutcome(err)
		s.fail(w, err, link)
		return
	}
	w.outcome = storeRedirected
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

// bucketFor returns the File's FileStore, from the informer cache, and a client for its
// bucket from storeaccess, which reads the credentials Secret's data only when the
// FileStore's spec or the Secret changed: steady-state downloads make no API calls.
func (s *Server) bucketFor(ctx context.Context, file *filelinkv1.File) (*filelinkv1.FileStore, *objectstore.Bucket, error) {
	store := &filelinkv1.FileStore{}
	if err := s.cache.Get(ctx, types.NamespacedName{Namespace: file.Namespace, Name: file.Spec.Source.Store.Name}, store); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, errNotServable
		}
		return nil, nil, err
	}
	if store.DeletionTimestamp != nil || store.LastCheckFailed() {
		// The File controller's rule, so a link answers as its File's status will: a
		// store its controller found unusable serves nothing, even before the File
		// catches up; one Ready for an older spec still serves, with the current spec,
		// so editing a FileStore is no outage (FileStore.LastCheck).
		return nil, nil, errNotServable
	}
	bucket, err := s.stores.Open(ctx, store)
	if storeaccess.Refused(err) {
		return nil, nil, fmt.Errorf("%w: FileStore %s/%s: %w", errNotServable, store.Namespace, store.Name, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return store, bucket, nil
}

// reachStores makes s open FileStores' buckets with opts: its credentials read from the
// API server within the one read's timeout, their consent and version taken from the
// cache, and a refusal left unexplained, since it is a 404 whatever its reason.
func (s *Server) reachStores(opts objectstore.Options) {
	s.stores = storeaccess.New(storeaccess.Options{Labelled: s.cache, Secrets: s.source, ReadTimeout: s.sourceReadTimeout, Store: opts})
}

// parseContentRange reads the "bytes START-END/SIZE" that ServeContent sets on a
// single-range answer.
func parseContentRange(v string) (start, end int64, ok bool) {
	var size int64
	if n, err := fmt.Sscanf(v, "bytes %d-%d/%d", &start, &end, &size); err != nil || n != 3 || start > end {
		return 0, 0, false
	}
	return start, end, true
}
