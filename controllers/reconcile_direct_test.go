package controllers_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// These tests call Reconcile themselves, with a fake clock that only they move, on objects
// in a namespace the manager does not watch, to pin down exact results: the requeue
// delay, and that a reconcile with nothing to change writes nothing.

// sourceReads counts the Secret and ConfigMap reads of the direct File reconciler.
var sourceReads countingReader

type countingReader struct {
	client.Reader
	n atomic.Int64
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.n.Add(1)
	return c.Reader.Get(ctx, key, obj, opts...)
}

func directReconcilers(t *testing.T, now time.Time) (*controllers.FileReconciler, *controllers.FileLinkReconciler, *clocktesting.FakeClock) {
	t.Helper()
	fake := clocktesting.NewFakeClock(now)
	signer, err := signing.LoadOrCreate(context.Background(), k8s, k8s, keyRef)
	if err != nil {
		t.Fatal(err)
	}
	sourceReads.Reader = k8s
	opts := controllers.ReconcilerOptions{SourceReader: &sourceReads, SourceMetadata: k8s, Clock: fake}
	return &controllers.FileReconciler{Client: k8s, ReconcilerOptions: opts},
		&controllers.FileLinkReconciler{Client: k8s, ReconcilerOptions: opts, Keys: signing.Fixed(signer), BaseURL: baseURL},
		fake
}

func reconcile(t *testing.T, r interface {
	Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
}, obj client.Object) ctrl.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
	if err != nil {
		t.Fatalf("reconcile %s: %v", obj.GetName(), err)
	}
	return res
}

func TestRequeueIsTheExactTimeToExpiry(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 11, 27, 12, 0, 0, 250_000_000, time.UTC)
	files, links, fake := directReconcilers(t, now)
	f := fileFromSecret(directNS, "requeue-file", filelinkv1.PurposeBusinessLogo, "requeue-docs", "logo.png")
	expires := time.Date(2026, 11, 27, 13, 30, 0, 0, time.UTC)
	l := link(directNS, "requeue-link", "requeue-file", &expires)
	create(t, secret(directNS, "requeue-docs", map[string][]byte{"logo.png": []byte("png")}), f, l)

	g.Expect(reconcile(t, files, f)).To(Equal(ctrl.Result{}))
	res := reconcile(t, links, l)
	g.Expect(res.RequeueAfter).To(Equal(expires.Sub(now)), "requeue lands exactly on expiresAt")
	beActive(g, get(g, l))

	// A reconcile that finds nothing to change writes nothing, and a File whose source
	// has not changed is not read again.
	fileRV, linkRV := get(g, f).ResourceVersion, l.ResourceVersion
	reads := sourceReads.n.Load()
	reconcile(t, files, f)
	res = reconcile(t, links, l)
	g.Expect(get(g, f).ResourceVersion).To(Equal(fileRV), "second File reconcile wrote")
	g.Expect(get(g, l).ResourceVersion).To(Equal(linkRV), "second FileLink reconcile wrote")
	g.Expect(sourceReads.n.Load()).To(Equal(reads), "second File reconcile read the unchanged source")

	// Halfway there, the requeue asks for the rest.
	fake.Step(45 * time.Minute)
	res = reconcile(t, links, l)
	g.Expect(res.RequeueAfter).To(Equal(expires.Sub(now) - 45*time.Minute))
	g.Expect(get(g, l).ResourceVersion).To(Equal(linkRV), "reconcile before expiry wrote")

	// One nanosecond before: still active, requeue in 1ns (never zero or negative).
	fake.SetTime(expires.Add(-time.Nanosecond))
	g.Expect(reconcile(t, links, l).RequeueAfter).To(Equal(time.Nanosecond))
	beActive(g, get(g, l))

	// At the instant: expired, and no more requeues.
	fake.SetTime(expires)
	g.Expect(reconcile(t, links, l)).To(Equal(ctrl.Result{}))
	beExpired(g, get(g, l))
	expiredRV := l.ResourceVersion
	// Expiry is terminal: a later reconcile, even with the clock turned back, changes nothing.
	fake.SetTime(now)
	g.Expect(reconcile(t, links, l)).To(Equal(ctrl.Result{}))
	g.Expect(get(g, l).ResourceVersion).To(Equal(expiredRV))
}

func TestReconcileOfMissingObjectsIsQuiet(t *testing.T) {
	files, links, _ := directReconcilers(t, time.Now())
	ghostFile := fileFromSecret(directNS, "ghost", filelinkv1.PurposeSelfie, "none", "none")
	ghostLink := link(directNS, "ghost", "ghost", nil)
	if res := reconcile(t, files, ghostFile); res != (ctrl.Result{}) {
		t.Errorf("File: %+v", res)
	}
	if res := reconcile(t, links, ghostLink); res != (ctrl.Result{}) {
		t.Errorf("FileLink: %+v", res)
	}
}

func TestNonExpiringLinkIsNotRequeued(t *testing.T) {
	g := NewWithT(t)
	files, links, _ := directReconcilers(t, time.Now())
	f := fileFromSecret(directNS, "forever-file", filelinkv1.PurposeBusinessLogo, "forever-docs", "logo.png")
	l := link(directNS, "forever-link", "forever-file", nil)
	create(t, secret(directNS, "forever-docs", map[string][]byte{"logo.png": []byte("png")}), f, l)
	reconcile(t, files, f)
	g.Expect(reconcile(t, links, l)).To(Equal(ctrl.Result{}))
	beActive(g, get(g, l))
	g.Expect(l.Status.Conditions).To(HaveLen(1), "only Ready")
	g.Expect(l.Status.Conditions[0].LastTransitionTime).NotTo(Equal(metav1.Time{}))
}

// TestNeverReconciledObjectsAreInProgress: status.observedGeneration defaults to -1, so
// before the first reconcile no GitOps tool reads a File or link as current.
func TestNeverReconciledObjectsAreInProgress(t *testing.T) {
	f := fileFromSecret(directNS, "fresh-file", filelinkv1.PurposeBusinessLogo, "fresh-docs", "logo.png")
	l := link(directNS, "fresh-link", "fresh-file", nil)
	create(t, f, l)
	wantGitOpsHealth(t, f, kstatus.InProgressStatus)
	wantGitOpsHealth(t, l, kstatus.InProgressStatus)
}

// TestLinkWaitsSilentlyForAFileNotYetRead: a File the File controller has not read yet
// is neither ready nor broken. The link publishes nothing (no write, no warning) and is
// woken by the File's status update; it still keeps its expiry timer.
func TestLinkWaitsSilentlyForAFileNotYetRead(t *testing.T) {
	g := NewWithT(t)
	now := time.Now()
	files, links, _ := directReconcilers(t, now)
	f := fileFromSecret(directNS, "unread-file", filelinkv1.PurposeBusinessLogo, "unread-docs", "logo.png")
	expires := now.Add(time.Hour).Truncate(time.Second)
	l := link(directNS, "unread-link", "unread-file", &expires)
	create(t, secret(directNS, "unread-docs", map[string][]byte{"logo.png": []byte("png")}), f, l)
	rv := l.ResourceVersion

	res := reconcile(t, links, l)
	g.Expect(res.RequeueAfter).To(Equal(expires.Sub(now)), "the expiry timer is kept")
	g.Expect(get(g, l).ResourceVersion).To(Equal(rv), "a link to an unread File wrote status")
	g.Expect(l.Status.ObservedGeneration).To(BeEquivalentTo(-1))

	reconcile(t, files, f)
	reconcile(t, links, l)
	beActive(g, get(g, l))
}
