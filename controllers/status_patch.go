package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patchResult says what became of a status patch. Every caller must handle each one.
type patchResult int

const (
	// statusUnchanged: the object is as it was read; no API call was made, so a
	// steady-state reconcile writes nothing.
	statusUnchanged patchResult = iota
	// statusWritten: the new status is stored.
	statusWritten
	// statusStale: the object changed on the server since the cache copy the reconcile
	// read. Nothing was written; the watch event for the newer version has already
	// queued another reconcile, which decides on fresh data.
	statusStale
	// statusGone: the object was deleted meanwhile; there is nothing left to describe.
	statusGone
)

// statusPatch carries an object as a reconcile read it, so that the status the
// reconcile decides can be written as a merge patch against exactly that read.
type statusPatch[T client.Object] struct {
	before T
}

// newStatusPatch records obj as read; call it before changing obj.
func newStatusPatch[T client.Object](obj T) statusPatch[T] {
	return statusPatch[T]{before: obj.DeepCopyObject().(T)}
}

// apply writes obj's status as a merge patch carrying the resourceVersion that was read
// (an optimistic lock): a reconcile that read a stale cache gets statusStale instead of
// overwriting newer status, and so emits no event for a transition it did not make.
// Only status may differ from what was read; the status subresource ignores the rest.
func (p statusPatch[T]) apply(ctx context.Context, c client.StatusClient, obj T) (patchResult, error) {
	if equality.Semantic.DeepEqual(p.before, obj) {
		return statusUnchanged, nil
	}
	err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(p.before, client.MergeFromWithOptimisticLock{}))
	switch {
	case err == nil:
		return statusWritten, nil
	case apierrors.IsConflict(err):
		return statusStale, nil
	case apierrors.IsNotFound(err):
		return statusGone, nil
	}
	return statusUnchanged, err
}
