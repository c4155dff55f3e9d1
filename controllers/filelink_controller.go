package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/internal/stripeid"
)

// FileLinkFileIndex indexes FileLinks by spec.file, so a File's change finds its links.
// It has the same name as the CRD's selectable field for the same reason.
const FileLinkFileIndex = "spec.file"

// FileLinkReconciler issues each FileLink's URL, tracks its File, and marks it expired at
// the exact instant spec.expiresAt is reached.
type FileLinkReconciler struct {
	client.Client
	// Clock is the reconciler's notion of now; tests move a fake one.
	Clock    clock.PassiveClock
	Recorder events.EventRecorder
	Signer   *signing.Signer
	// BaseURL is --link-base-url; URLs are BaseURL + "/links/" + token.
	BaseURL                 string
	MaxConcurrentReconciles int
}

// +kubebuilder:rbac:groups=filelink.dev,resources=filelinks,verbs=get;list;watch
// +kubebuilder:rbac:groups=filelink.dev,resources=filelinks/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=filelink.dev,resources=files,verbs=get;list;watch

// Reconcile runs the rows of SPEC §3 for one link. It returns RequeueAfter set to the
// exact time left until expiresAt, so expiry is one timer per link, never a poll.
func (r *FileLinkReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	link := &filelinkv1.FileLink{}
	if err := r.Get(ctx, req.NamespacedName, link); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := link.DeepCopy()
	now := r.Clock.Now()

	link.Status.ID = stripeid.Link(link.UID)
	link.Status.URL = r.Signer.URL(r.BaseURL, link.UID)

	var verdict readiness
	if link.ExpiredAt(now) {
		verdict = r.expire(link)
	} else {
		var err error
		if verdict, err = r.checkFile(ctx, link); err != nil {
			return ctrl.Result{}, err
		}
	}
	if !verdict.undecided {
		verdict.apply(&link.Status.Conditions, link.Generation, metav1.NewTime(now))
		link.Status.ObservedGeneration = link.Generation
		written, err := patchStatus(ctx, r.Client, before, link, before.Status, link.Status)
		if err != nil {
			return ctrl.Result{}, err
		}
		if written {
			r.recordTransition(link, readyReason(before.Status.Conditions), verdict)
		}
	}
	return requeueAtExpiry(link, now), nil
}

// requeueAtExpiry schedules the next reconcile for the exact instant the link expires.
// It never returns a negative or zero wait: UntilExpiry is false once expired.
func requeueAtExpiry(link *filelinkv1.FileLink, now time.Time) ctrl.Result {
	if wait, pending := link.UntilExpiry(now); pending {
		return ctrl.Result{RequeueAfter: wait}
	}
	return ctrl.Result{}
}

// expire marks the link expired for good. An expired link has reached the state it
// declared, so it is Ready with reason Expired and neither Reconciling nor Stalled.
func (r *FileLinkReconciler) expire(link *filelinkv1.FileLink) readiness {
	link.Status.Expired = true
	msg := "the link has expired"
	if link.Spec.ExpiresAt != nil {
		msg = "the link expired at " + link.Spec.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	return readiness{ready: true, reason: filelinkv1.ReasonExpired, message: msg}
}

// checkFile decides readiness from the link's File: missing or not yet read means
// waiting; a purpose Stripe does not link is stalled; otherwise the link is active and
// mirrors the File's size and digest. It errs only when the cache read fails.
func (r *FileLinkReconciler) checkFile(ctx context.Context, link *filelinkv1.FileLink) (readiness, error) {
	file := &filelinkv1.File{}
	err := r.Get(ctx, types.NamespacedName{Namespace: link.Namespace, Name: link.Spec.File}, file)
	if apierrors.IsNotFound(err) {
		link.Status.Size, link.Status.SHA256 = 0, ""
		return readiness{reason: filelinkv1.ReasonFileNotFound, waiting: true,
			message: fmt.Sprintf("File %q not found in namespace %q", link.Spec.File, link.Namespace)}, nil
	}
	if err != nil {
		return readiness{}, err
	}
	if !file.Spec.Purpose.Linkable() {
		link.Status.Size, link.Status.SHA256 = 0, ""
		return readiness{reason: filelinkv1.ReasonPurposeNotLinkable, stalled: true,
			message: fmt.Sprintf("File %q has purpose %q, which cannot be linked; linkable purposes are: %s",
				file.Name, file.Spec.Purpose, filelinkv1.LinkablePurposeList())}, nil
	}
	if file.Status.ObservedGeneration != file.Generation {
		// The File controller has not read this File yet: whether it will be ready is
		// unknown for a few milliseconds. Publishing FileNotReady now would cost a
		// write and a warning for every link applied together with its File; the
		// File's status update wakes this link through the watch instead.
		return readiness{undecided: true}, nil
	}
	if !file.ContentReady() {
		link.Status.Size, link.Status.SHA256 = 0, ""
		return readiness{reason: filelinkv1.ReasonFileNotReady, waiting: true,
			message: fmt.Sprintf("File %q is not ready", file.Name)}, nil
	}
	link.Status.Size, link.Status.SHA256 = file.Status.Size, file.Status.SHA256
	return readiness{ready: true, reason: filelinkv1.ReasonActive, message: filelinkv1.ActiveMessage(file.Name)}, nil
}

// recordTransition emits one event per change of the Ready reason: Issued when the link
// becomes active, Expired when it expires, a warning for each problem as it appears.
func (r *FileLinkReconciler) recordTransition(link *filelinkv1.FileLink, previous string, v readiness) {
	if r.Recorder == nil || previous == v.reason {
		return
	}
	switch v.reason {
	case filelinkv1.ReasonActive:
		r.Recorder.Eventf(link, nil, corev1.EventTypeNormal, "Issued", "Issue", "%s", v.message)
	case filelinkv1.ReasonExpired:
		r.Recorder.Eventf(link, nil, corev1.EventTypeNormal, "Expired", "Expire", "%s", v.message)
	default:
		r.Recorder.Eventf(link, nil, corev1.EventTypeWarning, v.reason, "Issue", "%s", v.message)
	}
}

// SetupWithManager indexes links by File and watches Files, so a link reacts as soon
// as its File appears, changes or goes, without polling.
func (r *FileLinkReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &filelinkv1.FileLink{}, FileLinkFileIndex, func(o client.Object) []string {
		return []string{o.(*filelinkv1.FileLink).Spec.File}
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&filelinkv1.FileLink{}).
		Watches(&filelinkv1.File{}, handler.EnqueueRequestsFromMapFunc(r.linksTo)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Named("filelink").
		Complete(r)
}

// linksTo maps a File to the links in its namespace that name it.
func (r *FileLinkReconciler) linksTo(ctx context.Context, o client.Object) []reconcile.Request {
	return requestsFor(ctx, r.Client, &filelinkv1.FileLinkList{}, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{FileLinkFileIndex: o.GetName()})
}
