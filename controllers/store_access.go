package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// storeAccess opens a FileStore's bucket with the credentials its Secret holds. The
// FileStore controller (checking the bucket) and the File controller (reading an
// object) share it, so the consent rule for credentials is written once.
type storeAccess struct {
	// secrets reads credentials Secrets, uncached, and only once metadata shows the
	// owner's consent label.
	secrets client.Reader
	// metadata reads the metadata-only cache of Secrets.
	metadata client.Reader
	opts     objectstore.Options
}

// open returns a client for store's bucket. A non-empty verdict reason means there is
// no usable client (credentials missing, unlabelled or incomplete, or an endpoint no
// client can be built for); the error is the API server's only.
func (a storeAccess) open(ctx context.Context, store *filelinkv1.FileStore) (*objectstore.Bucket, readiness, error) {
	creds, verdict, err := a.credentials(ctx, store)
	if err != nil || verdict.reason != "" {
		return nil, verdict, err
	}
	bucket, err := objectstore.New(store.Spec.S3, creds, a.opts)
	if err != nil {
		return nil, readiness{reason: filelinkv1.ReasonInvalidEndpoint, message: err.Error(), stalled: true}, nil
	}
	return bucket, readiness{}, nil
}

// credentials reads the credentials Secret, but only when its owner labelled it
// shareable (SPEC §2): the label is checked on the cached metadata before any read, and
// again on the Secret read, in case the cache lags behind a removal. A non-empty
// verdict reason means there are no usable credentials.
func (a storeAccess) credentials(ctx context.Context, store *filelinkv1.FileStore) (objectstore.Credentials, readiness, error) {
	key := types.NamespacedName{Namespace: store.Namespace, Name: store.Spec.S3.Credentials.SecretName}
	notFound := readiness{reason: filelinkv1.ReasonCredentialsNotFound, message: fmt.Sprintf("Secret %q not found", key.Name), waiting: true}
	notShareable := readiness{reason: filelinkv1.ReasonCredentialsNotShareable, stalled: true,
		message: fmt.Sprintf("Secret %q is not labelled %s=%s by its owner", key.Name, filelinkv1.ShareableLabel, filelinkv1.ShareableValue)}

	// The metadata cache holds labelled Secrets only; CheckConsent tells an unlabelled
	// Secret from a missing one with a metadata-only read, never fetching its data.
	switch err := filesource.CheckConsent(ctx, a.metadata, a.secrets, filesource.Ref{Kind: "Secret", NamespacedName: key}); {
	case errors.Is(err, filesource.ErrSourceNotFound):
		return objectstore.Credentials{}, notFound, nil
	case errors.Is(err, filesource.ErrNotShareable):
		return objectstore.Credentials{}, notShareable, nil
	case err != nil:
		return objectstore.Credentials{}, readiness{}, err
	}
	secret := &corev1.Secret{}
	if err := a.secrets.Get(ctx, key, secret); apierrors.IsNotFound(err) {
		return objectstore.Credentials{}, notFound, nil
	} else if err != nil {
		return objectstore.Credentials{}, readiness{}, err
	}
	if !filesource.Shareable(secret) {
		return objectstore.Credentials{}, notShareable, nil
	}
	creds, err := objectstore.CredentialsFromData(secret.Data)
	if err != nil {
		return objectstore.Credentials{}, readiness{reason: filelinkv1.ReasonCredentialsInvalid, message: fmt.Sprintf("Secret %q: %v", key.Name, err), stalled: true}, nil
	}
	return creds, readiness{}, nil
}

// storeFailure is the verdict on a request to store's bucket that failed with err, an
// error of the objectstore package: the bucket missing or access denied (Stalled: only
// a spec or credentials change helps; the credentials Secret's changes reach the
// FileStore through its watch), or the store unreachable (Reconciling, with backoff).
// ok is false for an error of no known class.
func storeFailure(where string, err error) (v readiness, ok bool) {
	switch {
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
