package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/cacheindex"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The manager's cache keeps less of each object than the API server holds (see
// internal/cachetrim); what it drops must never be lost on the server.
func TestStatusWritesKeepTheMetadataTheCacheDrops(t *testing.T) {
	ns := newNamespace(t)
	applied := `{"spec":{"file":"evidence"}}`
	f := fileFromSecret(ns, "evidence", filelinkv1.PurposeDisputeEvidence, "docs", "evidence.pdf")
	l := link(ns, "share", "evidence", nil)
	for _, o := range []client.Object{f, l} {
		o.SetLabels(map[string]string{"team": "billing"})
		o.SetAnnotations(map[string]string{corev1.LastAppliedConfigAnnotation: applied})
	}
	create(t, secret(ns, "docs", map[string][]byte{"evidence.pdf": pdf}), f, l)
	eventuallyLink(t, l, beActive)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
	})
	for _, o := range []client.Object{&filelinkv1.File{}, &filelinkv1.FileLink{}} {
		key := client.ObjectKeyFromObject(f)
		if _, isLink := o.(*filelinkv1.FileLink); isLink {
			key = client.ObjectKeyFromObject(l)
		}
		if err := k8s.Get(context.Background(), key, o); err != nil {
			t.Fatal(err)
		}
		if o.GetLabels()["team"] != "billing" || o.GetAnnotations()[corev1.LastAppliedConfigAnnotation] != applied || len(o.GetManagedFields()) == 0 {
			t.Errorf("%T after its status writes: labels %v, annotations %v, %d managed fields; want what it was created with",
				o, o.GetLabels(), o.GetAnnotations(), len(o.GetManagedFields()))
		}
	}
}

// The reconcilers' watches look dependents up within one namespace only; the index
// holds nothing for lookups across namespaces, and registering it twice (a new
// leader-elected manager on the same cache) is harmless.
func TestIndexesHoldNamespacedKeysOnly(t *testing.T) {
	ctx := t.Context()
	c, err := cache.New(restCfg, cache.Options{Scheme: framework.Scheme, DefaultTransform: suiteCacheOptions().DefaultTransform})
	if err != nil {
		t.Fatal(err)
	}
	byFile := func(o client.Object) []string { return []string{o.(*filelinkv1.FileLink).Spec.File} }
	for range 2 {
		if err := cacheindex.InNamespace(ctx, c, &filelinkv1.FileLink{}, controllers.FileLinkFileIndex, byFile); err != nil {
			t.Fatal(err)
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}

	ns, other := newNamespace(t), newNamespace(t)
	create(t, link(ns, "a", "evidence", nil), link(other, "b", "evidence", nil))
	NewWithT(t).Eventually(func(g Gomega) {
		var links filelinkv1.FileLinkList
		g.Expect(c.List(ctx, &links, client.InNamespace(ns), client.MatchingFields{controllers.FileLinkFileIndex: "evidence"})).To(Succeed())
		g.Expect(links.Items).To(HaveLen(1))
		g.Expect(links.Items[0].Name).To(Equal("a"))
	}).WithTimeout(wait).Should(Succeed())

	inf, err := c.GetInformer(ctx, &filelinkv1.FileLink{})
	if err != nil {
		t.Fatal(err)
	}
	keys := inf.(toolscache.SharedIndexInformer).GetIndexer().ListIndexFuncValues("field:" + controllers.FileLinkFileIndex)
	if !slices.Contains(keys, ns+"/evidence") {
		t.Errorf("index keys %v: no %s/evidence", keys, ns)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "__all_namespaces/") {
			t.Errorf("index key %q: want only namespace/file keys", k)
		}
	}
}

// The initial list of a dependency's informer maps to nothing: the reconciled kind's own
// initial list queues every object already. Later creations do map.
func TestInitialListOfDependenciesIsNotMapped(t *testing.T) {
	if controllers.SkipInitialList.Create(event.CreateEvent{Object: &filelinkv1.File{}, IsInInitialList: true}) {
		t.Error("a create from the initial list passes")
	}
	if !controllers.SkipInitialList.Create(event.CreateEvent{Object: &filelinkv1.File{}}) {
		t.Error("a create after the initial list is dropped")
	}
	if !controllers.SkipInitialList.Update(event.UpdateEvent{ObjectOld: &filelinkv1.File{}, ObjectNew: &filelinkv1.File{}}) ||
		!controllers.SkipInitialList.Delete(event.DeleteEvent{Object: &filelinkv1.File{}}) {
		t.Error("updates or deletes are dropped")
	}
}
