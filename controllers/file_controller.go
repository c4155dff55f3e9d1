package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/stripeid"
)

// FileSourceIndex indexes Files by the Secret or ConfigMap they read
// (filesource.IndexKey), so a change to one finds its Files without a list.
const FileSourceIndex = "spec.source"

// FileReconciler keeps a File's status in line with the bytes its source holds.
type FileReconciler struct {
	client.Client
	// SourceReader reads Secrets and ConfigMaps. It is uncached so the manager does
	// not hold the data of every Secret in the cluster; only metadata is watched.
	SourceReader client.Reader
	// SourceMetadata reads the metadata-only cache of Secrets and ConfigMaps, which
	// tells the current resourceVersion of a source without an API call.
	SourceMetadata client.Reader
	Clock          clock.PassiveClock
	Recorder       events.EventRecorder
	// MaxConcurrentReconciles bounds parallel reconciles; 0 means controller-runtime's default.
	MaxConcurrentReconciles int
}

// +kubebuilder:rbac:groups=filelink.dev,resources=files,verbs=get;list;watch
// +kubebuilder:rbac:groups=filelink.dev,resources=files/status,verbs=get;patch;update
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile reads the File's source and records its size, digest, type and readiness.
// A missing source or key is not an error: the File waits (Reconciling) and is
// reconciled again when the source appears, through the metadata watch.
func (r *FileReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	file := &filelinkv1.File{}
	if err := r.Get(ctx, req.NamespacedName, file); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := file.DeepCopy()
	ref := filesource.RefOf(file.Namespace, file.Spec.Source)
	if r.upToDate(ctx, file, ref) {
		return ctrl.Result{}, nil
	}

	verdict, err := r.observeContent(ctx, file, ref)
	if err != nil {
		return ctrl.Result{}, err
	}
	verdict.apply(&file.Status.Conditions, file.Generation, metav1.NewTime(r.Clock.Now()))
	file.Status.ObservedGeneration = file.Generation
	written, err := patchStatus(ctx, r.Client, before, file, before.Status, file.Status)
	if written {
		r.recordTransition(file, readyReason(before.Status.Conditions), verdict)
	}
	return ctrl.Result{}, err
}

// observeContent reads the source and fills the content fields of file's status. It
// returns an error only when the source could not be read for a reason other than its
// absence, so that the request is retried with backoff.
func (r *FileReconciler) observeContent(ctx context.Context, file *filelinkv1.File, ref filesource.Ref) (readiness, error) {
	st := &file.Status
	st.ID = stripeid.File(file.UID)
	st.Filename = file.DownloadName()
	st.Type = file.FileType()
	st.ContentType = file.MediaType()

	content, err := filesource.Read(ctx, r.SourceReader, ref)
	st.SourceResourceVersion = content.ResourceVersion
	switch {
	case errors.Is(err, filesource.ErrSourceNotFound):
		st.Size, st.SHA256 = 0, ""
		return readiness{reason: filelinkv1.ReasonSourceNotFound, message: ref.Kind + " " + ref.Name + " not found", waiting: true}, nil
	case errors.Is(err, filesource.ErrKeyNotFound):
		st.Size, st.SHA256 = 0, ""
		return readiness{reason: filelinkv1.ReasonKeyNotFound, message: err.Error(), waiting: true}, nil
	case err != nil:
		return readiness{}, err
	}
	sum := sha256.Sum256(content.Data)
	st.Size = int64(len(content.Data))
	st.SHA256 = hex.EncodeToString(sum[:])
	return readiness{ready: true, reason: filelinkv1.ReasonSucceeded, message: filelinkv1.SucceededMessage(ref.String())}, nil
}

// upToDate reports whether file's status already describes its current spec and the
// current version of its source, as the metadata cache knows it: then there is nothing
// to read. This spares an API read on every reconcile that the File's own status update,
// a resync or a restart causes.
func (r *FileReconciler) upToDate(ctx context.Context, file *filelinkv1.File, ref filesource.Ref) bool {
	st := &file.Status
	if st.ObservedGeneration != file.Generation || readyReason(st.Conditions) == "" {
		return false
	}
	meta := ref.Metadata()
	err := r.SourceMetadata.Get(ctx, ref.NamespacedName, meta)
	if apierrors.IsNotFound(err) {
		return st.SourceResourceVersion == "" && readyReason(st.Conditions) == filelinkv1.ReasonSourceNotFound
	}
	return err == nil && meta.ResourceVersion == st.SourceResourceVersion
}

// recordTransition emits an event when the Ready reason changes, and only then, so a
// File that stays broken does not flood the namespace with identical events. A File
// that reads fine the first time gets no event: that is the expected path, and an event
// per File would double the API writes of applying a directory of them.
func (r *FileReconciler) recordTransition(file *filelinkv1.File, previous string, v readiness) {
	if r.Recorder == nil || previous == v.reason {
		return
	}
	if !v.ready {
		r.Recorder.Eventf(file, nil, corev1.EventTypeWarning, v.reason, "Read", "%s", v.message)
		return
	}
	if previous != "" {
		r.Recorder.Eventf(file, nil, corev1.EventTypeNormal, v.reason, "Read", "%s (recovered from %s)", v.message, previous)
	}
}

// SetupWithManager registers the source index and watches Files, and the metadata
// (only) of Secrets and ConfigMaps that Files read.
func (r *FileReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &filelinkv1.File{}, FileSourceIndex, func(o client.Object) []string {
		f := o.(*filelinkv1.File)
		if ref := filesource.RefOf(f.Namespace, f.Spec.Source); ref.Kind != "" {
			return []string{ref.IndexKey()}
		}
		return nil
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&filelinkv1.File{}).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.filesReading("Secret"))).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.filesReading("ConfigMap"))).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Named("file").
		Complete(r)
}

// filesReading maps a Secret or ConfigMap to the Files in its namespace that read it.
func (r *FileReconciler) filesReading(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return requestsFor(ctx, r.Client, &filelinkv1.FileList{}, client.InNamespace(o.GetNamespace()),
			client.MatchingFields{FileSourceIndex: filesource.IndexKey(kind, o.GetName())})
	}
}
