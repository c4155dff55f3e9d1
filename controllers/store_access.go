package controllers

import (
	"context"
	"errors"
	"fmt"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
)

// openBucket returns a client for store's bucket from the reconcilers' shared
// storeaccess. A non-empty verdict reason means there is no usable client (credentials
// missing, unlabelled or incomplete, or an endpoint no client can be built for); the
// error is the API server's only.
func (o ReconcilerOptions) openBucket(ctx context.Context, store *filelinkv1.FileStore) (*objectstore.Bucket, readiness, error) {
	bucket, err := o.Stores.Open(ctx, store)
	if v, ok := accessVerdict(err); ok {
		return nil, v, nil
	}
	return bucket, readiness{}, err
}

// accessVerdict is the verdict on a storeaccess refusal: a missing Secret may still come
// (Reconciling); the rest wait for its owner or the FileStore's author (Stalled), and
// the Secret's changes reach the FileStore through its watch. ok is false for an error
// that is no refusal, the API server's.
func accessVerdict(err error) (v readiness, ok bool) {
	switch {
	case errors.Is(err, storeaccess.ErrCredentialsNotFound):
		return readiness{reason: filelinkv1.ReasonCredentialsNotFound, message: err.Error(), waiting: true}, true
	case errors.Is(err, storeaccess.ErrCredentialsNotShareable):
		return readiness{reason: filelinkv1.ReasonCredentialsNotShareable, message: err.Error(), stalled: true}, true
	case errors.Is(err, storeaccess.ErrCredentialsInvalid):
		return readiness{reason: filelinkv1.ReasonCredentialsInvalid, message: err.Error(), stalled: true}, true
	case errors.Is(err, storeaccess.ErrInvalidEndpoint):
		return readiness{reason: filelinkv1.ReasonInvalidEndpoint, message: err.Error(), stalled: true}, true
	}
	return readiness{}, false
}

// storeFailure is the verdict on a request to store's bucket that failed with err, an
// error of the objectstore package: the endpoint's address refused by the manager's
// address policy, the bucket missing or access denied (Stalled: only a spec or
// credentials change helps; the credentials Secret's changes reach the FileStore
// through its watch), or the store unreachable (Reconciling, with backoff). ok is false
// for an error of no known class.
func storeFailure(where string, err error) (v readiness, ok bool) {
	switch {
	// Before ErrAccessDenied, which a refusal wraps too (for the link server's 404).
	case errors.Is(err, netguard.ErrAddressNotAllowed):
		return readiness{reason: filelinkv1.ReasonEndpointNotAllowed, message: where + ": " + err.Error(), stalled: true}, true
	case errors.Is(err, objectstore.ErrBucketNotFound):
		return readiness{reason: filelinkv1.ReasonBucketNotFound, message: where + " does not exist", stalled: true}, true
	case errors.Is(err, objectstore.ErrAccessDenied):
		return readiness{reason: filelinkv1.ReasonAccessDenied, message: where + ": " + err.Error(), stalled: true}, true
	case errors.Is(err, objectstore.ErrUnreachable):
		return readiness{reason: filelinkv1.ReasonUnreachable, message: where + ": " + err.Error(), waiting: true}, true
	}
	return readiness{}, false
}

// bucketName names store's bucket in messages.
func bucketName(store *filelinkv1.FileStore) string {
	return fmt.Sprintf("bucket %q at %s", store.Spec.S3.Bucket, store.Spec.S3.Endpoint)
}
