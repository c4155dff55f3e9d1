package controllers

import (
	"context"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// checkBucket returns the verdict on store's bucket. It returns an error only when the
// API server failed, so the request is retried.
func (r *FileStoreReconciler) checkBucket(ctx context.Context, store *filelinkv1.FileStore) (readiness, error) {
	bucket, verdict, err := r.openBucket(ctx, store)
	if err != nil || verdict.reason != "" {
		return verdict, err
	}
	ctx, cancel := context.WithTimeout(ctx, bucketCheckTimeout)
	defer cancel()
	err = bucket.Check(ctx)
	where := bucketName(store)
	if err == nil {
		return readiness{ready: true, reason: filelinkv1.ReasonSucceeded, message: where + " is reachable with the credentials"}, nil
	}
	if v, ok := storeFailure(where, err); ok {
		return v, nil
	}
	// An answer of no known class is taken for a passing fault: retried with backoff.
	return readiness{reason: filelinkv1.ReasonUnreachable, message: where + ": " + err.Error(), waiting: true}, nil
}
