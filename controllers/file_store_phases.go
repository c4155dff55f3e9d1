package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// digestTimeout bounds the one read that hashes an object without a stored checksum:
// generous, since it streams the whole object (64 MB at a slow 1 MB/s is a minute),
// but finite, so a store that stalls mid-body does not hold a worker for ever.
const digestTimeout = 10 * time.Minute

// +kubebuilder:rbac:groups=filelink.dev,resources=filestores,verbs=get;list;watch

// reconcileStore brings the status of a File whose source is a FileStore object in line
// with that object. The object is looked at (HEAD) on every pass and hashed only when
// its version differs from the one status records. The File is looked at again every
// FileStore interval, so an overwritten object gets its new digest within one interval,
// and at once when the re-check annotation changes: the link server sets it on finding
// the object changed under the recorded version. A missing or not-Ready FileStore wakes
// the File through the FileStore watch instead.
func (r *FileReconciler) reconcileStore(ctx context.Context, s *statusScope[*filelinkv1.File], ref filesource.Ref) (ctrl.Result, error) {
	file := s.obj
	read, err := r.readStore(ctx, file, ref)
	if err != nil {
		return ctrl.Result{}, err
	}
	verdict, err := decideStoreFile(ref, read)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("object of file %s/%s: %w", file.Namespace, file.Name, err)
	}
	fillFileStatus(file, verdict)
	res, err := s.write(ctx, verdict.readiness, r.Clock.Now())
	if err != nil || res == statusStale || res == statusGone {
		return ctrl.Result{}, err
	}
	switch verdict.reason {
	case filelinkv1.ReasonUnreachable:
		// An error, not RequeueAfter: the rate limiter backs off while the store is down.
		return ctrl.Result{}, fmt.Errorf("object of file %s/%s: %s", file.Namespace, file.Name, verdict.message)
	case filelinkv1.ReasonStoreNotFound, filelinkv1.ReasonStoreNotReady:
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: read.store.Spec.CheckInterval()}, nil
}

// readStore looks at the object ref (file's source) names: the FileStore from the
// cache, the bucket opened with its labelled credentials, a HEAD of the object (its
// pinned version, if any), and its digest. The digest is the store's own SHA-256 checksum when it keeps
// one, otherwise one streaming read pinned to the version; a version status already
// describes is not hashed again. The error is the API server's only.
func (r *FileReconciler) readStore(ctx context.Context, file *filelinkv1.File, ref filesource.Ref) (storeRead, error) {
	store := &filelinkv1.FileStore{}
	if err := r.Get(ctx, ref.NamespacedName, store); apierrors.IsNotFound(err) {
		return storeRead{}, nil
	} else if err != nil {
		return storeRead{}, err
	}
	read := storeRead{store: store}
	if !storeReady(store) {
		return read, nil
	}
	bucket, verdict, err := r.openBucket(ctx, store)
	if err != nil || verdict.reason != "" {
		read.access = verdict
		return read, err
	}
	headCtx, cancel := context.WithTimeout(ctx, bucketCheckTimeout)
	read.info, read.err = bucket.Stat(headCtx, ref.Key, ref.VersionID)
	cancel()
	if read.err != nil {
		return read, nil
	}
	if sum, ok := knownDigest(file, read.info.VersionID, read.info.ETag, read.info.Size); ok {
		read.sha256 = sum
		return read, nil
	}
	digestCtx, cancel := context.WithTimeout(ctx, digestTimeout)
	defer cancel()
	read.sha256, read.err = bucket.Digest(digestCtx, ref.Key, read.info)
	return read, nil
}

// knownDigest returns the digest status holds when it describes, for the current spec,
// the object version a HEAD just reported: then there is nothing to hash.
func knownDigest(file *filelinkv1.File, versionID, etag string, size int64) (string, bool) {
	st := &file.Status
	known := st.StoreObject
	if known == nil || !file.ContentReady() || st.SHA256 == "" || etag == "" {
		return "", false
	}
	if known.VersionID != versionID || known.ETag != etag || st.Size != size {
		return "", false
	}
	return st.SHA256, true
}
