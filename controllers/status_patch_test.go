package controllers_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"

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
