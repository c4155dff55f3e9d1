package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PatchResult names patchResult's values for the external tests.
type PatchResult = patchResult

const (
	StatusUnchanged = statusUnchanged
	StatusWritten   = statusWritten
	StatusStale     = statusStale
	StatusGone      = statusGone
)

// PatchStatus records read as the reconcile's read, lets change edit a copy, and patches.
func PatchStatus[T client.Object](ctx context.Context, c client.StatusClient, read T, change func(T)) (PatchResult, error) {
	p := newStatusPatch(read)
	change(read)
	return p.apply(ctx, c, read)
}

// Cache-side helpers the reconcilers' setup uses.
var (
	IndexInNamespace = indexInNamespace
	SkipInitialList  = skipInitialList
)
