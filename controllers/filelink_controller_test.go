package controllers_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// The tests below follow the rows of SPEC §3, in order.

var (
	urlShape = regexp.MustCompile(`^http://links\.test/links/[A-Za-z0-9_-]{43}$`)
	idShape  = regexp.MustCompile(`^link_[0-9A-Za-z]{24}$`)
	pdf      = []byte("%PDF-1.7 evidence")
)

// readyFileAndSecret creates a linkable File named "evidence" backed by a Secret.
func readyFileAndSecret(t *testing.T, ns string) *filelinkv1.File {
	t.Helper()
	f := fileFromSecret(ns, "evidence", filelinkv1.PurposeDisputeEvidence, "docs", "evidence.pdf")
	create(t, secret(ns, "docs", map[string][]byte{"evidence.pdf": pdf}), f)
	return f
}

// activeLink creates a ready File and the link "share" to it, expiring at expires
// (nil: never), and waits until the link is active.
func activeLink(t *testing.T, ns string, expires *time.Time) (*filelinkv1.File, *filelinkv1.FileLink) {
	t.Helper()
	f := readyFileAndSecret(t, ns)
	l := link(ns, "share", "evidence", expires)
	create(t, l)
	eventuallyLink(t, l, beActive)
	return f, l
}

func beActive(g Gomega, l *filelinkv1.FileLink) {
	haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionTrue, filelinkv1.ReasonActive)
}

func TestActiveLinkIsIssuedOnce(t *testing.T) {
	ns := newNamespace(t)
	readyFileAndSecret(t, ns)
	l := link(ns, "share", "evidence", nil)
	create(t, l)

	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		beActive(g, l)
		g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
	})
	if !urlShape.MatchString(l.Status.URL) || !idShape.MatchString(l.Status.ID) {
		t.Fatalf("url %q or id %q has the wrong shape", l.Status.URL, l.Status.ID)
	}
	if l.Status.Size != int64(len(pdf)) || l.Status.SHA256 != sha(pdf) || l.Status.Expired {
		t.Fatalf("status %+v does not describe the file", l.Status)
	}
	for _, typ := range []string{filelinkv1.ConditionReconciling, filelinkv1.ConditionStalled} {
		if s := conditionStatus(l.Status.Conditions, typ); s != "absent" {
			t.Errorf("%s is %s on an active link", typ, s)
		}
	}
	wantGitOpsHealth(t, l, kstatus.CurrentStatus)

	// More reconciles of an unchanged link issue nothing new.
	touch(t, l)
	touch(t, l)
	wantOneEvent(t, ns, "share", "Normal/Issued")
}

func TestLinkWaitsForItsFileAndPicksItUpByWatch(t *testing.T) {
	ns := newNamespace(t)
	l := link(ns, "early", "evidence", nil)
	create(t, l)

	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonFileNotFound)
		g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
		g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("absent"))
	})
	wantGitOpsHealth(t, l, kstatus.InProgressStatus)
	// The URL is derived, not granted, so it is known before the File exists.
	if !urlShape.MatchString(l.Status.URL) {
		t.Errorf("url %q has the wrong shape", l.Status.URL)
	}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(eventReasons(g, ns, "early")).To(ContainElement("Warning/FileNotFound"))
	}).WithTimeout(wait).Should(Succeed())

	// Nothing touches the link: only the File watch can wake it.
	readyFileAndSecret(t, ns)
	eventuallyLink(t, l, beActive)
}

func TestLinkToFileThatIsNotReady(t *testing.T) {
	ns := newNamespace(t)
	f := fileFromSecret(ns, "evidence", filelinkv1.PurposeDisputeEvidence, "docs", "evidence.pdf")
	l := link(ns, "share", "evidence", nil)
	create(t, f, l)

	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonFileNotReady)
		g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
	})
	wantGitOpsHealth(t, l, kstatus.InProgressStatus)
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(eventReasons(g, ns, "share")).To(ContainElement("Warning/FileNotReady"))
	}).WithTimeout(wait).Should(Succeed())

	// The Secret arrives with the wrong key: still not ready.
	s := secret(ns, "docs", map[string][]byte{"other.pdf": pdf})
	create(t, s)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonKeyNotFound)
	})
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonFileNotReady)
	})

	// The key appears: File, then link, become ready without any touch.
	s.Data["evidence.pdf"] = pdf
	if err := k8s.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	eventuallyLink(t, l, beActive)
}

func TestLinkToUnlinkablePurposeIsStalled(t *testing.T) {
	ns := newNamespace(t)
	f := fileFromSecret(ns, "passport", filelinkv1.PurposeIdentityDocument, "docs", "passport.png")
	l := link(ns, "share", "passport", nil)
	create(t, secret(ns, "docs", map[string][]byte{"passport.png": []byte("png")}), f, l)

	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonPurposeNotLinkable)
		g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("True"))
		g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("absent"))
	})
	wantGitOpsHealth(t, l, kstatus.FailedStatus)
	c := l.Status.Conditions[0]
	for _, c2 := range l.Status.Conditions {
		if c2.Type == filelinkv1.ConditionReady {
			c = c2
		}
	}
	NewWithT(t).Expect(c.Message).To(ContainSubstring("dispute_evidence"), "the message lists the linkable purposes")
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(eventReasons(g, ns, "share")).To(ContainElement("Warning/PurposeNotLinkable"))
	}).WithTimeout(wait).Should(Succeed())
}

// beExpired is the terminal state: expired, Ready=True Expired, nothing in progress.
func beExpired(g Gomega, l *filelinkv1.FileLink) {
	g.Expect(l.Status.Expired).To(BeTrue())
	haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionTrue, filelinkv1.ReasonExpired)
	g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("absent"))
	g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("absent"))
}

func TestLinkExpiresWhenTheClockReachesExpiresAt(t *testing.T) {
	ns := newNamespace(t)
	expires := clk.Now().Add(time.Hour).Truncate(time.Second)
	_, l := activeLink(t, ns, &expires)
	url := l.Status.URL

	clk.Step(time.Hour)
	// The hour-long requeue would fire in real time; a touch stands in for it.
	touch(t, l)
	eventuallyLink(t, l, beExpired)
	if l.Status.URL != url {
		t.Errorf("url changed on expiry: %q -> %q", url, l.Status.URL)
	}
	wantGitOpsHealth(t, l, kstatus.CurrentStatus)
	touch(t, l)
	wantOneEvent(t, ns, "share", "Normal/Expired")
}

// TestExpiryIsScheduledNotPolled lets a real requeue fire: nothing touches the link, so
// only RequeueAfter to the instant of expiry can flip it.
func TestExpiryIsScheduledNotPolled(t *testing.T) {
	ns := newNamespace(t)
	readyFileAndSecret(t, ns)
	expires := clk.Now().Add(2 * time.Second).Truncate(time.Second)
	l := link(ns, "soon", "evidence", &expires)
	create(t, l)
	eventuallyLink(t, l, beActive)

	w, err := k8s.Watch(context.Background(), &filelinkv1.FileLinkList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	deadline := time.After(wait)
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != watch.Modified {
				continue
			}
			if got := ev.Object.(*filelinkv1.FileLink); got.Status.Expired {
				lag := clk.Now().Sub(expires)
				if lag < 0 || lag > time.Second {
					t.Fatalf("expired observed %v after expiresAt; want within [0, 1s]", lag)
				}
				return
			}
		case <-deadline:
			t.Fatal("the link did not expire")
		}
	}
}

func TestExpiresAtUpdates(t *testing.T) {
	ns := newNamespace(t)
	soon := clk.Now().Add(time.Hour).Truncate(time.Second)
	_, l := activeLink(t, ns, &soon)

	// Removing expiresAt makes the link non-expiring: an hour later it still serves.
	l.Spec.ExpiresAt = nil
	if err := k8s.Update(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	eventuallyLink(t, l, beActive)

	// A past expiresAt on update is Stripe's expires_at=now: expired at once.
	past := metav1.NewTime(clk.Now().Add(-time.Minute))
	l.Spec.ExpiresAt = &past
	if err := k8s.Update(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	eventuallyLink(t, l, beExpired)
}

func TestLinksFollowTheirFile(t *testing.T) {
	ns := newNamespace(t)
	f, l := activeLink(t, ns, nil)

	// New content: the link reports the new size and digest.
	s := secret(ns, "docs", nil)
	get(NewWithT(t), s)
	v2 := []byte("%PDF-1.7 evidence, second version, longer")
	s.Data["evidence.pdf"] = v2
	if err := k8s.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		beActive(g, l)
		g.Expect(l.Status.SHA256).To(Equal(sha(v2)))
		g.Expect(l.Status.Size).To(BeEquivalentTo(len(v2)))
	})

	// The File goes: the link waits for it again.
	if err := k8s.Delete(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonFileNotFound)
		g.Expect(l.Status.SHA256).To(BeEmpty())
	})
}

func TestURLSurvivesStatusLossAndRestart(t *testing.T) {
	ns := newNamespace(t)
	_, l := activeLink(t, ns, nil)
	url, id := l.Status.URL, l.Status.ID

	// Wipe status: the controller derives the same URL again.
	if err := k8s.Status().Patch(context.Background(), l, client.RawPatch("application/merge-patch+json", []byte(`{"status":null}`))); err != nil {
		t.Fatal(err)
	}
	if l.Status.URL != "" {
		t.Fatalf("status not wiped: %+v", l.Status)
	}
	touch(t, l)
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		beActive(g, l)
		g.Expect(l.Status.URL).To(Equal(url))
		g.Expect(l.Status.ID).To(Equal(id))
	})

	// Restart the manager: it reloads the key from its Secret, and the link's status
	// is already right, so it is not written again.
	rv := l.ResourceVersion
	if err := running.stop(); err != nil {
		t.Fatal(err)
	}
	var err error
	if running, err = startManager(); err != nil {
		t.Fatal(err)
	}
	touch(t, l)
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		g.Expect(l.Status.URL).To(Equal(url))
		g.Expect(l.ResourceVersion).NotTo(Equal(rv), "the touch is seen")
	})
	afterTouch := l.ResourceVersion
	NewWithT(t).Consistently(func(g Gomega) {
		g.Expect(get(g, l).ResourceVersion).To(Equal(afterTouch), "restarted manager rewrote an unchanged status")
	}).WithTimeout(2 * time.Second).Should(Succeed())
}

func beLimitReached(g Gomega, l *filelinkv1.FileLink) {
	haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionTrue, filelinkv1.ReasonDownloadLimitReached)
	g.Expect(l.Status.Expired).To(BeFalse())
	g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("absent"))
	g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("absent"))
}

// The link server counts downloads into status (internal/linkserver/ledger); the
// reconciler sees the count reach the limit and marks the end the link declared, once,
// keeping its URL on record.
func TestLinkEndsWhenItsDownloadsReachTheLimit(t *testing.T) {
	ns := newNamespace(t)
	readyFileAndSecret(t, ns)
	l := link(ns, "share", "evidence", nil)
	l.Spec.MaxDownloads = ptr.To[int32](2)
	create(t, l)
	eventuallyLink(t, l, beActive)
	url := l.Status.URL

	countDownloads(t, l, 1)
	touch(t, l)
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		beActive(g, l)
		g.Expect(l.Status.Downloads).To(BeEquivalentTo(1))
	})
	countDownloads(t, l, 2)
	eventuallyLink(t, l, beLimitReached)
	if l.Status.URL != url || l.Status.Downloads != 2 || l.Status.LastDownloadedAt == nil {
		t.Errorf("status after the last download: %+v", l.Status)
	}
	wantGitOpsHealth(t, l, kstatus.CurrentStatus)
	touch(t, l)
	wantOneEvent(t, ns, "share", "Normal/DownloadLimitReached")
}

// A limit lowered below the count reached ends the link at once.
func TestLoweredLimitEndsTheLink(t *testing.T) {
	ns := newNamespace(t)
	_, l := activeLink(t, ns, nil)
	countDownloads(t, l, 5)
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) { g.Expect(l.Status.Downloads).To(BeEquivalentTo(5)) })
	l.Spec.MaxDownloads = ptr.To[int32](3)
	if err := k8s.Update(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	eventuallyLink(t, l, beLimitReached)
}

// countDownloads writes downloads into l's status as the link server's ledger does: a
// compare-and-swap of the count and the time of the latest.
func countDownloads(t *testing.T, l *filelinkv1.FileLink, downloads int64) {
	t.Helper()
	ctx := context.Background()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(l), l)).To(Succeed())
		base := l.DeepCopy()
		now := metav1.NewTime(clk.Now())
		l.Status.Downloads, l.Status.LastDownloadedAt = downloads, &now
		g.Expect(k8s.Status().Patch(ctx, l, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))).To(Succeed())
	}).Should(Succeed())
}
