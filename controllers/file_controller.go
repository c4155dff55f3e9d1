package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/stripeid"
)

// FileSourceIndex indexes Files by the Secret, ConfigMap or FileStore they read
// (filesource.IndexKey), so a change to one finds its Files without a list.
const FileSourceIndex = "spec.source"

// FileReconciler keeps a File's status in line with the bytes its source holds.
type FileReconciler struct {
	client.Client
	ReconcilerOptions
}

// +kubebuilder:rbac:groups=filelink.dev,resources=files,verbs=get;list;watch
// +kubebuilder:rbac:groups=filelink.dev,resources=files/status,verbs=get;patch;update
// RBAC cannot select by label, so the role grants reading every Secret and ConfigMap;
// the manager itself reads only labelled ones (SPEC §2 "Consent"): its caches list and
// watch with the label selector filelink.dev/shareable=true, and data is fetched only
// after the label was seen, and checked again on the object fetched.
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
	if file.Spec.Source.Store != nil {
		return r.reconcileStore(ctx, file)
	}
	ref := filesource.RefOf(file.Namespace, file.Spec.Source)
	if r.upToDate(ctx, file, ref) {
		return ctrl.Result{}, nil
	}
	content, readErr := r.readSource(ctx, ref)
	verdict, err := decideFile(ref, content, readErr)
	if err != nil {
		return ctrl.Result{}, err
	}

	_, err = r.writeStatus(ctx, file, verdict)
	// statusStale and statusGone need nothing more: a newer version's event is queued,
	// or there is no File left.
	return ctrl.Result{}, err
}

// writeStatus records verdict in file's status, with the names derived from the spec,
// and emits an event when the Ready reason changed.
func (r *FileReconciler) writeStatus(ctx context.Context, file *filelinkv1.File, verdict fileVerdict) (patchResult, error) {
	st := &file.Status
	return writeVerdict(ctx, r.Client, file, readyStatus{&st.Conditions, &st.ObservedGeneration}, verdict.readiness, r.Clock.Now(), func() {
		st.ID = stripeid.File(file.UID)
		st.Filename = file.DownloadName()
		st.Type = file.FileType()
		st.ContentType = file.MediaType()
		st.SourceResourceVersion = verdict.sourceResourceVersion
		st.Size, st.SHA256 = verdict.size, verdict.sha256
		st.StoreObject = storeObjectStatus(verdict.object)
		// The source was just read again, whatever asked: that answers the request.
		if req := file.RecheckRequest(); req != "" {
			st.LastHandledRecheckAt = req
		}
	}, func(previous string) { r.recordTransition(file, previous, verdict.readiness) })
}

// upToDate reports whether file's status already describes its current spec and the
// current version of its source, as the metadata cache knows it, and no re-check was
// requested since: then there is nothing to read. This spares an API read on every
// reconcile that the File's own status update, a resync or a restart causes.
func (r *FileReconciler) upToDate(ctx context.Context, file *filelinkv1.File, ref filesource.Ref) bool {
	st := &file.Status
	if st.ObservedGeneration != file.Generation || readyReason(st.Conditions) == "" || recheckPending(file) {
		return false
	}
	meta := ref.Metadata()
	err := r.SourceMetadata.Get(ctx, ref.NamespacedName, meta)
	if apierrors.IsNotFound(err) {
		// The cache holds labelled sources only: this one is absent or unlabelled, and
		// only an API read could tell which. A File that says either already has
		// nothing to learn from its own status update or a resync; a source that
		// gains the label enters the cache and wakes the File.
		reason := readyReason(st.Conditions)
		return st.SourceResourceVersion == "" &&
			(reason == filelinkv1.ReasonSourceNotFound || reason == filelinkv1.ReasonSourceNotShareable)
	}
	return err == nil && meta.ResourceVersion == st.SourceResourceVersion
}

// recheckPending reports whether file carries a re-check request its status does not
// record as answered.
func recheckPending(file *filelinkv1.File) bool {
	req := file.RecheckRequest()
	return req != "" && req != file.Status.LastHandledRecheckAt
}

// readSource fetches the source's data only once its owner's label has been seen, in the
// labelled cache or by a metadata-only read, so no byte of an unlabelled Secret reaches
// the manager; filesource.Read checks the label again on the object it fetches.
func (r *FileReconciler) readSource(ctx context.Context, ref filesource.Ref) (filesource.Content, error) {
	if err := filesource.CheckConsent(ctx, r.SourceMetadata, r.SourceReader, ref); err != nil {
		return filesource.Content{}, err
	}
	return filesource.Read(ctx, r.SourceReader, ref)
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
// (only) of Secrets and ConfigMaps that Files read. With the manager's cache restricted
// to labelled sources (filesource.CacheByObject), a label's removal arrives as a delete.
func (r *FileReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := indexInNamespace(ctx, mgr.GetCache(), &filelinkv1.File{}, FileSourceIndex, func(o client.Object) []string {
		f := o.(*filelinkv1.File)
		if f.Spec.Source.Store != nil {
			return []string{storeIndexKey(f.Spec.Source.Store.Name)}
		}
		if ref := filesource.RefOf(f.Namespace, f.Spec.Source); ref.Kind != "" {
			return []string{ref.IndexKey()}
		}
		return nil
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		// No predicate: a change of metadata alone, the re-check annotation above all
		// (filelinkv1.RecheckRequestedAtAnnotation), must reach Reconcile.
		For(&filelinkv1.File{}).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.filesReading("Secret")), afterInitialList).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.filesReading("ConfigMap")), afterInitialList).
		Watches(&filelinkv1.FileStore{}, handler.EnqueueRequestsFromMapFunc(r.filesOfStore), afterInitialList).
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
