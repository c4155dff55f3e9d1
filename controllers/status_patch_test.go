package controllers_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
)

// A status decided from a stale read must not overwrite what a newer writer stored: the
// patch carries the resourceVersion read and the API server refuses it.
func TestStatusPatchFromAStaleReadIsRefused(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	l := link(directNS, "stale-read", "some-file", nil)
	create(t, l)
	stale := get(g, l.DeepCopy())

	// Someone else writes first.
	newer := stale.DeepCopy()
	res, err := controllers.PatchStatus(ctx, k8s, newer, func(l *filelinkv1.FileLink) { l.Status.ID = "link_newer" })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(controllers.StatusWritten))

	res, err = controllers.PatchStatus(ctx, k8s, stale, func(l *filelinkv1.FileLink) { l.Status.URL = "http://stale" })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(controllers.StatusStale))
	stored := get(g, l)
	g.Expect(stored.Status.ID).To(Equal("link_newer"))
	g.Expect(stored.Status.URL).To(BeEmpty(), "a stale read overwrote newer status")

	// Re-read, it goes through.
	res, err = controllers.PatchStatus(ctx, k8s, stored, func(l *filelinkv1.FileLink) { l.Status.URL = "http://fresh" })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(controllers.StatusWritten))
	g.Expect(get(g, l).Status.URL).To(Equal("http://fresh"))
}

func TestStatusPatchWithNothingChangedWritesNothing(t *testing.T) {
	g := NewWithT(t)
	l := link(directNS, "unchanged", "some-file", nil)
	create(t, l)
	rv := l.ResourceVersion
	res, err := controllers.PatchStatus(context.Background(), k8s, l, func(*filelinkv1.FileLink) {})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(controllers.StatusUnchanged))
	g.Expect(get(g, l).ResourceVersion).To(Equal(rv))
}

func TestStatusPatchOfADeletedObjectReportsItGone(t *testing.T) {
	g := NewWithT(t)
	l := link(directNS, "deleted", "some-file", nil)
	create(t, l)
	g.Expect(k8s.Delete(context.Background(), l.DeepCopy())).To(Succeed())
	res, err := controllers.PatchStatus(context.Background(), k8s, l, func(l *filelinkv1.FileLink) { l.Status.ID = "link_gone" })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(controllers.StatusGone))
}

// A status scope posts its transition's event only when its patch wrote: not for a
// second pass that finds nothing to change, and not for a decision taken on a stale
// read, which another writer's newer status refuses.
func TestStatusScopeAnnouncesOnlyWhatItWrote(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	now := time.Now()
	l := link(directNS, "scoped", "some-file", nil)
	create(t, l)
	rec := events.NewFakeRecorder(10)
	posted := func() []string {
		var got []string
		for {
			select {
			case e := <-rec.Events:
				got = append(got, e)
			default:
				return got
			}
		}
	}

	stale := get(g, l.DeepCopy())
	res, err := controllers.WriteLinkVerdict(ctx, k8s, rec, get(g, l), true, filelinkv1.ReasonActive, now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(controllers.StatusWritten))
	g.Expect(posted()).To(ConsistOf(HavePrefix("Normal Issued")))

	res, err = controllers.WriteLinkVerdict(ctx, k8s, rec, get(g, l), true, filelinkv1.ReasonActive, now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(controllers.StatusUnchanged))
	g.Expect(posted()).To(BeEmpty(), "a second pass announced again")

	res, err = controllers.WriteLinkVerdict(ctx, k8s, rec, stale, false, filelinkv1.ReasonFileNotFound, now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(controllers.StatusStale))
	g.Expect(posted()).To(BeEmpty(), "a refused patch announced its transition")
	haveReady(g, get(g, l).Status.Conditions, l.Generation, metav1.ConditionTrue, filelinkv1.ReasonActive)
}
