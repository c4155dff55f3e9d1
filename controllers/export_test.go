package controllers

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
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

// SkipInitialList is the cache-side predicate the reconcilers' setup uses.
var SkipInitialList = skipInitialList

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

// WriteLinkVerdict writes a verdict on link, as read, through the FileLink
// reconciler's status scope: ready with reason, events to recorder.
func WriteLinkVerdict(ctx context.Context, c client.StatusClient, recorder events.EventRecorder, link *filelinkv1.FileLink,
	ready bool, reason string, now time.Time) (PatchResult, error) {
	s := newStatusScope(c, recorder, link, &link.Status.Conditions, &link.Status.ObservedGeneration, linkTransition)
	return s.write(ctx, readiness{ready: ready, reason: reason, message: reason}, now)
}
