package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/cacheindex"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// SourceReadFunc takes the body of file read from its source, with its SHA-256 (hex),
// before file's status says Ready; it decides itself whether the body is worth keeping.
type SourceReadFunc func(file *filelinkv1.File, c filesource.Content, sha256 string)

// FileReconciler keeps a File's status in line with the bytes its source holds.
type FileReconciler struct {
	client.Client
	ReconcilerOptions
	// SourceRead is Config.SourceRead; nil hands bodies to no one.
	SourceRead SourceReadFunc
}

// +kubebuilder:rbac:groups=filelink.dev,resources=files,verbs=get;list;watch
// +kubebuilder:rbac:groups=filelink.dev,resources=files/status,verbs=get;patch;update
// RBAC cannot select by label, so the role grants reading every Secret and ConfigMap;
// the manager itself reads only labelled ones (SPEC §2 "Consent"): its caches list and
// watch with the label selector filelink.dev/shareable=true, and data is fetched only
// after the label was seen, and checked again on the object fetched. Of the others it
// reads metadata alone, and keeps none: a metadata-only GET to tell an unlabelled
// source from a missing one, and the watch that tells of their creation and deletion
// (unlabelledSources), whose events are dropped once mapped to Files.
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile reads the File and brings its status in line with the bytes its source
// holds: a Secret or ConfigMap (reconcileObject) or a FileStore object (reconcileStore).
func (r *FileReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	file := &filelinkv1.File{}
	if err := r.Get(ctx, req.NamespacedName, file); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := newStatusScope(r.Client, r.Recorder, file, &file.Status.Conditions, &file.Status.ObservedGeneration, fileTransition)
	ref := filesource.Of(file)
	if ref.Kind == filesource.KindFileStore {
		return r.reconcileStore(ctx, s, ref)
	}
	return r.reconcileObject(ctx, s, ref)
}

// SetupWithManager registers the source index and watches Files; the metadata (only)
// of labelled Secrets and ConfigMaps, which the manager's cache holds
// (filesource.CacheByObject), so a label's removal arrives as a delete; the creation
// and deletion of unlabelled ones, which it does not hold (unlabelledSources); and
// FileStores.
func (r *FileReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := cacheindex.IndexFilesBySource(ctx, mgr.GetCache()); err != nil {
		return err
	}
	meta, err := metadata.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		// No predicate: a change of metadata alone, the re-check annotation above all
		// (filelinkv1.RecheckRequestedAtAnnotation), must reach Reconcile.
		For(&filelinkv1.File{}).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.filesReading(filesource.KindSecret)), afterInitialList).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.filesReading(filesource.KindConfigMap)), afterInitialList).
		WatchesRawSource(r.unlabelledSources(meta, mgr.GetLogger().WithName("unlabelled-sources"))).
		Watches(&filelinkv1.FileStore{}, handler.EnqueueRequestsFromMapFunc(r.filesReading(filesource.KindFileStore)), afterInitialList).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Named("file").
		Complete(r)
}

// filesReading maps an object of kind (a Secret, ConfigMap or FileStore) to the Files
// in its namespace that read it.
func (r *FileReconciler) filesReading(kind filesource.Kind) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return r.readers(ctx, kind, client.ObjectKeyFromObject(o))
	}
}

func (r *FileReconciler) readers(ctx context.Context, kind filesource.Kind, key types.NamespacedName) []reconcile.Request {
	return requestsFor(ctx, r.Client, &filelinkv1.FileList{}, client.InNamespace(key.Namespace),
		cacheindex.FilesOf(kind, key.Name))
}
