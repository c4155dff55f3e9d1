package controllers

import (
	"context"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/filesource"
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

// FollowUnlabelled runs the File controller's watch of unlabelled sources against cfg
// until ctx ends: changed is called for each creation or deletion of an unlabelled
// Secret or ConfigMap, resynced each time a kind's watch starts from a fresh version.
func FollowUnlabelled(ctx context.Context, cfg *rest.Config, changed func(kind string, key types.NamespacedName), resynced func(kind string)) error {
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return err
	}
	unlabelledSources{
		metadata: meta,
		log:      logr.Discard(),
		changed: func(_ context.Context, kind filesource.Kind, key types.NamespacedName) {
			changed(string(kind), key)
		},
		resynced: func(_ context.Context, kind filesource.Kind) { resynced(string(kind)) },
	}.start(ctx)
	return nil
}
