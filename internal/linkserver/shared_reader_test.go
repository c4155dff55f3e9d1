package linkserver_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
)

// TestSharedReaderReadsTheInformersObjects: the link server's reads follow the cache
// (create, change, delete; labelled sources only) and hand out the informer's own
// object, not a copy per request, which is what takes them off the per-request cost.
func TestSharedReaderReadsTheInformersObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, nil)
	key := types.NamespacedName{Namespace: f.ns, Name: f.file.Name}

	var first *filelinkv1.File
	g.Eventually(func() error {
		var err error
		first, err = linkserver.SharedGet(ctx, server, key, linkserver.FileKind())
		return err
	}).WithTimeout(5 * time.Second).Should(Succeed())
	again, err := linkserver.SharedGet(ctx, server, key, linkserver.FileKind())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(BeIdenticalTo(first), "each read copied the File")
	g.Expect(first.Spec.Filename).To(Equal("evidence.pdf"))

	f.file.Spec.Filename = "renamed.pdf"
	g.Expect(k8s.Update(ctx, f.file)).To(Succeed())
	g.Eventually(func() string {
		got, err := linkserver.SharedGet(ctx, server, key, linkserver.FileKind())
		if err != nil {
			return err.Error()
		}
		return got.Spec.Filename
	}).WithTimeout(5 * time.Second).Should(Equal("renamed.pdf"))

	source := filesource.RefOf(f.ns, f.file.Spec.Source)
	g.Eventually(func() error {
		_, err := linkserver.SharedGet(ctx, server, source.NamespacedName, source.Metadata())
		return err
	}).WithTimeout(5 * time.Second).Should(Succeed())
	setLabel(t, f.secret, false)
	g.Eventually(func() bool {
		_, err := linkserver.SharedGet(ctx, server, source.NamespacedName, source.Metadata())
		return apierrors.IsNotFound(err)
	}).WithTimeout(5*time.Second).Should(BeTrue(), "an unlabelled source is still read")

	g.Expect(k8s.Delete(ctx, f.file)).To(Succeed())
	g.Eventually(func() bool {
		_, err := linkserver.SharedGet(ctx, server, key, linkserver.FileKind())
		return apierrors.IsNotFound(err)
	}).WithTimeout(5*time.Second).Should(BeTrue(), "a deleted File is still read")
}
