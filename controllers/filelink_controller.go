package controllers

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/cacheindex"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// FileLinkFileIndex indexes FileLinks by spec.file, so a File's change finds its links.
// It has the same name as the CRD's selectable field for the same reason.
const FileLinkFileIndex = "spec.file"

// FileLinkReconciler issues each FileLink's URL, tracks its File, and marks it expired at
// the exact instant spec.expiresAt is reached.
type FileLinkReconciler struct {
	client.Client
	ReconcilerOptions
	// Keys issue the URL: the live key Secret in the manager. Every link is reconciled
	// again when they change, so status.url follows a rotation.
	Keys signing.Keys
	// BaseURL is --link-base-url; URLs are BaseURL + "/links/" + token.
	BaseURL string
	// URLsInSecretsOnly is --url-in-status=false: every link publishes its URL in the
	// Secret spec.urlSecretName names, and status shows it redacted (filelink_url.go).
	URLsInSecretsOnly bool
}

// +kubebuilder:rbac:groups=filelink.dev,resources=filelinks,verbs=get;list;watch
// +kubebuilder:rbac:groups=filelink.dev,resources=filelinks/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=filelink.dev,resources=files,verbs=get;list;watch

// Reconcile reads the link and its File, decides their row of SPEC §3 (decideLink),
// and patches the link's status. It returns RequeueAfter set to the exact time left
// until expiresAt, so expiry is one timer per link, never a poll.
func (r *FileLinkReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	link := &filelinkv1.FileLink{}
	if err := r.Get(ctx, req.NamespacedName, link); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	file, err := r.fileOf(ctx, link)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.Clock.Now()
	verdict, decided := decideLink(link, file, now)
	if !decided {
		return requeueAtExpiry(link, now), nil
	}
	signer := r.Keys.Current()
	if signer == nil {
		// The key Secret is being recreated or holds no usable key: write nothing
		// rather than a URL nobody can verify. The key's return reconciles every link.
		return requeueAtExpiry(link, now), nil
	}

	s := newStatusScope(r.Client, r.Recorder, link, &link.Status.Conditions, &link.Status.ObservedGeneration, linkTransition)
	fillLinkStatus(link, verdict)
	unpublished, err := r.publishURL(ctx, link, signer.URL(r.BaseURL, link.UID))
	if err != nil {
		return ctrl.Result{}, err
	}
	if unpublished != nil && !verdict.expired {
		// An expired link stays Expired: its end state needs no URL.
		verdict.readiness = *unpublished
	}
	res, err := s.write(ctx, verdict.readiness, now)
	switch {
	case err != nil:
		return ctrl.Result{}, err
	case res == statusGone:
		return ctrl.Result{}, nil
	}
	// statusStale needs nothing more: the newer version's event is already queued.
	return requeueAtExpiry(link, now), nil
}

// fileOf returns the link's File from the cache, or nil when there is none.
func (r *FileLinkReconciler) fileOf(ctx context.Context, link *filelinkv1.FileLink) (*filelinkv1.File, error) {
	file := &filelinkv1.File{}
	err := r.Get(ctx, types.NamespacedName{Namespace: link.Namespace, Name: link.Spec.File}, file)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return file, nil
}

// requeueAtExpiry schedules the next reconcile for the exact instant the link expires.
// It never returns a negative or zero wait: UntilExpiry is false once expired.
func requeueAtExpiry(link *filelinkv1.FileLink, now time.Time) ctrl.Result {
	if wait, pending := link.UntilExpiry(now); pending {
		return ctrl.Result{RequeueAfter: wait}
	}
	return ctrl.Result{}
}

// SetupWithManager indexes links by File and watches Files, so a link reacts as soon
// as its File appears, changes or goes, without polling; and it reconciles every link
// when the signing keys change, so each URL is reissued under the new active key.
func (r *FileLinkReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if r.Keys == nil {
		return errors.New("FileLink controller: no signing keys (Keys)")
	}
	if err := cacheindex.InNamespace(ctx, mgr.GetCache(), &filelinkv1.FileLink{}, FileLinkFileIndex, func(o client.Object) []string {
		return []string{o.(*filelinkv1.FileLink).Spec.File}
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&filelinkv1.FileLink{}).
		Watches(&filelinkv1.File{}, handler.EnqueueRequestsFromMapFunc(r.linksTo), afterInitialList).
		WatchesRawSource(source.Channel(keyChanges(ctx, r.Keys), handler.EnqueueRequestsFromMapFunc(r.allLinks))).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Named("filelink").
		Complete(r)
}

// keyChanges turns key changes into events. One pending event stands for any number of
// changes: it reconciles every link, and each reconcile reads the key current then.
// Sends never block, so a replica that is not the leader (whose controller does not
// read the channel) holds at most one. The subscription ends with ctx, which must end
// with the manager: one is built per lease term.
func keyChanges(ctx context.Context, keys signing.Keys) <-chan event.GenericEvent {
	ch := make(chan event.GenericEvent, 1)
	keys.Notify(ctx, func(*signing.Signer) {
		select {
		case ch <- event.GenericEvent{Object: &metav1.PartialObjectMetadata{}}:
		default:
		}
	})
	return ch
}

// allLinks maps a key change to every link the cache holds.
func (r *FileLinkReconciler) allLinks(ctx context.Context, _ client.Object) []reconcile.Request {
	return requestsFor(ctx, r.Client, &filelinkv1.FileLinkList{}, client.UnsafeDisableDeepCopy)
}

// linksTo maps a File to the links in its namespace that name it.
func (r *FileLinkReconciler) linksTo(ctx context.Context, o client.Object) []reconcile.Request {
	return requestsFor(ctx, r.Client, &filelinkv1.FileLinkList{}, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{FileLinkFileIndex: o.GetName()})
}
