package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patchStatus writes after's status as a merge patch against before and reports whether
// it wrote. It does not write when nothing changed, so a steady-state reconcile makes no
// API call. The patch carries before's resourceVersion: a reconcile that read a stale
// cache gets a conflict instead of overwriting newer status, and reports "not written"
// without error, since the change it missed has already queued another reconcile.
// Callers emit events only for written transitions, so a stale read never repeats one.
func patchStatus(ctx context.Context, c client.Client, before, after client.Object, oldStatus, newStatus any) (bool, error) {
	if equality.Semantic.DeepEqual(oldStatus, newStatus) {
		return false, nil
	}
	err := c.Status().Patch(ctx, after, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
