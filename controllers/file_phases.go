package controllers

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// reconcileObject brings the status of a File whose bytes are in a Secret or ConfigMap
// (ref) in line with them. A missing source or key is not an error: the File waits
// (Reconciling) and is reconciled again when the source appears, labelled or not (the
// metadata watch of labelled sources, and unlabelledSources for the others).
func (r *FileReconciler) reconcileObject(ctx context.Context, s *statusScope[*filelinkv1.File], ref filesource.Ref) (ctrl.Result, error) {
	file := s.obj
	if r.upToDate(ctx, file, ref) {
		return ctrl.Result{}, nil
	}
	content, readErr := r.readSource(ctx, ref)
	verdict, err := decideFile(ref, content, readErr)
	if err != nil {
		return ctrl.Result{}, err
	}
	if verdict.ready && r.SourceRead != nil {
		// Before the status write, whose event makes the link server fetch the body
		// ahead: by then it holds this read and makes none of its own.
		r.SourceRead(file, content, verdict.sha256)
	}
	fillFileStatus(file, verdict)
	// statusStale and statusGone need nothing more: a newer version's event is queued,
	// or there is no File left.
	_, err = s.write(ctx, verdict.readiness, r.Clock.Now())
	return ctrl.Result{}, err
}

// upToDate reports whether file's status already describes its current spec and the
// current version of its source, as the labelled metadata cache knows it, and no
// re-check was requested since: then there is nothing to read. This spares an API read
// on every reconcile that the File's own status update, a resync or a restart causes,
// for every File whose source is labelled.
//
// A source the cache does not hold is never up to date: the cache holds labelled
// sources only, so a miss is an absent source or an unlabelled one, and only an API read
// tells which. Trusting the File's status there would leave it SourceNotFound while its
// source exists unlabelled (issue 17, defect 6), since the event that wakes it
// (unlabelledSources) cannot say which it is either. The price is one metadata-only GET
// per reconcile of a File whose source is absent or unlabelled: a File waiting for its
// owner, reconciled only on events about it or its source.
func (r *FileReconciler) upToDate(ctx context.Context, file *filelinkv1.File, ref filesource.Ref) bool {
	st := &file.Status
	if st.ObservedGeneration != file.Generation || readyReason(st.Conditions) == "" || recheckPending(file) {
		return false
	}
	meta := ref.Metadata()
	err := r.SourceMetadata.Get(ctx, ref.NamespacedName, meta)
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
