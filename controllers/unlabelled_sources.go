package controllers

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// unlabelledSources follows the creation and deletion of Secrets and ConfigMaps that
// lack their owner's consent label, which the manager's caches never hold, so that a
// File reading one learns at once that its source exists (SourceNotShareable) or is
// gone (SourceNotFound) (issue 17, defect 6).
//
// Why a watch without a cache: the caches hold labelled sources only (SPEC §2), so that
// the manager's memory does not grow with the cluster's Secrets. A second informer over
// unlabelled ones would hold the metadata of every Secret in the cluster (annotations
// included, unless trimmed, and kubectl's last-applied annotation of a Secret holds its
// data); an informer per referenced name is one watch per File; polling Files that wait
// for a source costs API reads for ever and answers late. Instead, one metadata-only
// watch per kind, selecting exactly the objects the caches do not hold
// (filesource.NotShareableSelector), hands each creation and deletion to changed and
// keeps nothing: memory is constant whatever the number of Secrets
// (TestUnlabelledSourcesAreFollowedWithoutBeingKept measures it). The cost is network
// and CPU in proportion to the churn of unlabelled Secrets and ConfigMaps, each change's
// metadata streamed, decoded and dropped; like the metadata-only GET of CheckConsent,
// that metadata passes through the process and is neither stored nor published.
// Updates are handed on to nobody: they change neither whether the object exists nor,
// within this selector, its consent.
//
// The watch starts from the current resourceVersion, never from a list, so it replays
// nothing. Whenever it must start again from a new version (at start, and when the
// API server no longer has the last version seen), events in between may be lost, and
// resynced is called: the caller wakes the Files such an event could concern.
type unlabelledSources struct {
	metadata metadata.Interface
	log      logr.Logger
	// changed is called for each creation or deletion of an unlabelled object of kind.
	changed func(ctx context.Context, kind filesource.Kind, key types.NamespacedName)
	// resynced is called when events of kind before the watch's start may have been missed.
	resynced func(ctx context.Context, kind filesource.Kind)
}

// unlabelledSources is the source of requests for Files whose Secret or ConfigMap is
// created or deleted without the consent label. It runs with the controller, so it
// ends with the controller's context, and with it every lost lease's.
func (r *FileReconciler) unlabelledSources(meta metadata.Interface, log logr.Logger) source.Source {
	return source.Func(func(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		enqueue := func(reqs []reconcile.Request) {
			for _, req := range reqs {
				queue.Add(req)
			}
		}
		unlabelledSources{
			metadata: meta,
			log:      log,
			changed: func(ctx context.Context, kind filesource.Kind, key types.NamespacedName) {
				enqueue(r.readers(ctx, kind, key))
			},
			resynced: func(ctx context.Context, kind filesource.Kind) { enqueue(r.filesAwaiting(ctx, kind)) },
		}.start(ctx)
		return nil
	})
}

// filesAwaiting lists the Files reading a source of kind that an unlabelled object's
// creation or deletion could change: those that say their source is missing or not
// shareable, and those whose verdict the cache does not show yet. Only these are woken
// after events may have been missed; every other File's source is labelled, and its
// changes come through the cache.
func (r *FileReconciler) filesAwaiting(ctx context.Context, kind filesource.Kind) []reconcile.Request {
	files := &filelinkv1.FileList{}
	if err := r.List(ctx, files, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Files waiting for their source")
		return nil
	}
	var reqs []reconcile.Request
	for i := range files.Items {
		f := &files.Items[i]
		switch readyReason(f.Status.Conditions) {
		case "", filelinkv1.ReasonSourceNotFound, filelinkv1.ReasonSourceNotShareable:
			if filesource.Of(f).Kind == kind {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(f)})
			}
		}
	}
	return reqs
}

// start follows every kind of in-cluster source until ctx ends. It returns at once.
func (u unlabelledSources) start(ctx context.Context) {
	for _, kind := range filesource.InClusterKinds() {
		go u.follow(ctx, kind)
	}
}

// restartBackoff spaces attempts while the API server refuses or fails: from 1 s up to
// 30 s, the informers' own ceiling. A watch that ran and ended normally (the server's
// timeout) restarts at once from where it was.
func restartBackoff() wait.Backoff {
	return wait.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.2, Steps: 64, Cap: 30 * time.Second}
}

// follow watches the unlabelled objects of kind until ctx ends.
func (u unlabelledSources) follow(ctx context.Context, kind filesource.Kind) {
	resource := u.metadata.Resource(kind.Resource())
	selector := filesource.NotShareableSelector().String()
	log := u.log.WithValues("kind", kind)
	backoff := restartBackoff()
	var version string
	var delay time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if version == "" {
			// One object at most: the list is read for its resourceVersion alone.
			list, err := resource.List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 1})
			if err != nil {
				if ctx.Err() == nil {
					log.Error(err, "reading the current version of unlabelled sources")
				}
				delay = backoff.Step()
				continue
			}
			version = list.ResourceVersion
			u.resynced(ctx, kind)
		}
		w, err := resource.Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: version, AllowWatchBookmarks: true})
		if err != nil {
			switch {
			case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
				version = ""
			case ctx.Err() == nil:
				log.Error(err, "watching unlabelled sources")
			}
			delay = backoff.Step()
			continue
		}
		began := time.Now()
		version = u.drain(ctx, kind, w, version)
		w.Stop()
		delay = 0
		if version == "" || time.Since(began) < time.Second {
			// Expired, or a watch the server ends as soon as it starts: not at once again.
			delay = backoff.Step()
		} else {
			backoff = restartBackoff()
		}
	}
}

// drain hands w's creations and deletions to changed until w ends, and returns the
// version to watch from next: the last one seen, or "" when the API server no longer
// has it.
func (u unlabelledSources) drain(ctx context.Context, kind filesource.Kind, w watch.Interface, version string) string {
	for {
		var e watch.Event
		var open bool
		select {
		case <-ctx.Done():
			return version
		case e, open = <-w.ResultChan():
		}
		if !open {
			return version
		}
		if e.Type == watch.Error {
			if status := apierrors.FromObject(e.Object); apierrors.IsResourceExpired(status) || apierrors.IsGone(status) {
				return ""
			}
			return version
		}
		obj, ok := e.Object.(*metav1.PartialObjectMetadata)
		if !ok {
			continue
		}
		if e.Type == watch.Added || e.Type == watch.Deleted {
			u.changed(ctx, kind, types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name})
		}
		if obj.ResourceVersion != "" {
			version = obj.ResourceVersion
		}
	}
}
