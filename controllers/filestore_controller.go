package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/cacheindex"
)

// FileStoreCredentialsIndex indexes FileStores by the name of their credentials Secret,
// so a change to a Secret finds its FileStores without a list.
const FileStoreCredentialsIndex = "spec.s3.credentials.secretName"

// bucketCheckTimeout bounds one check of the bucket, so an endpoint that accepts
// connections and never answers does not hold a worker.
const bucketCheckTimeout = 15 * time.Second

// FileStoreReconciler checks that a FileStore's bucket is reachable with its credentials,
// every spec.interval and whenever the FileStore or its credentials Secret changes.
type FileStoreReconciler struct {
	client.Client
	ReconcilerOptions
}

// +kubebuilder:rbac:groups=filelink.dev,resources=filestores,verbs=get;list;watch
// +kubebuilder:rbac:groups=filelink.dev,resources=filestores/status,verbs=get;patch;update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile reads the credentials (with consent), checks the bucket and records the
// verdict. A store that may recover by itself (unreachable) is retried with backoff;
// every other outcome is checked again after spec.interval.
func (r *FileStoreReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	store := &filelinkv1.FileStore{}
	if err := r.Get(ctx, req.NamespacedName, store); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	verdict, err := r.checkBucket(ctx, store)
	if err != nil {
		return ctrl.Result{}, err
	}
	s := newStatusScope(r.Client, r.Recorder, store, &store.Status.Conditions, &store.Status.ObservedGeneration, storeTransition)
	res, err := s.write(ctx, verdict, r.Clock.Now())
	if err != nil || res == statusStale || res == statusGone {
		// A newer version's event is queued, or there is no store left to check.
		return ctrl.Result{}, err
	}
	if verdict.reason == filelinkv1.ReasonUnreachable {
		// An error, not RequeueAfter: the controller's rate limiter backs off
		// exponentially while the store stays down.
		return ctrl.Result{}, fmt.Errorf("FileStore %s: %s", req.NamespacedName, verdict.message)
	}
	return ctrl.Result{RequeueAfter: store.Spec.CheckInterval()}, nil
}

// SetupWithManager registers the credentials index and watches FileStores and the
// metadata (only) of the Secrets they name.
func (r *FileStoreReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := cacheindex.InNamespace(ctx, mgr.GetCache(), &filelinkv1.FileStore{}, FileStoreCredentialsIndex, func(o client.Object) []string {
		return []string{o.(*filelinkv1.FileStore).Spec.S3.Credentials.SecretName}
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&filelinkv1.FileStore{}).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.storesUsing), afterInitialList).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Named("filestore").
		Complete(r)
}

// storesUsing maps a Secret to the FileStores in its namespace that take credentials from it.
func (r *FileStoreReconciler) storesUsing(ctx context.Context, o client.Object) []reconcile.Request {
	return requestsFor(ctx, r.Client, &filelinkv1.FileStoreList{}, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{FileStoreCredentialsIndex: o.GetName()})
}
