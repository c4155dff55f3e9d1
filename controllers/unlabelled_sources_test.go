package controllers_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
)

// promptly bounds how long a File may take to follow its source's creation or deletion:
// a watch event, not a resync (hours) nor a poll.
const promptly = 5 * time.Second

func beSourceNotFound(g Gomega, f *filelinkv1.File) {
	haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonSourceNotFound)
	g.Expect(conditionStatus(f.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
}

// unlabelledSource is a Secret or ConfigMap (in its binary data) named name in ns
// holding body under key, without its owner's consent label, and a File "evidence"
// that reads it.
func unlabelledSource(kind, ns, name, key, body string) (client.Object, *filelinkv1.File) {
	f := fileFromSecret(ns, "evidence", filelinkv1.PurposeDisputeEvidence, name, key)
	meta := metav1.ObjectMeta{Namespace: ns, Name: name}
	data := map[string][]byte{key: []byte(body)}
	if kind == "ConfigMap" {
		f.Spec.Source = filelinkv1.FileSource{ConfigMap: &filelinkv1.KeySelector{Name: name, Key: key}}
		return &corev1.ConfigMap{ObjectMeta: meta, BinaryData: data}, f
	}
	return &corev1.Secret{ObjectMeta: meta, Data: data}, f
}

// TestUnlabelledSourceWakesItsFiles is defect 6 of issue 17: the manager's caches hold
// labelled sources only, so the creation or deletion of an unlabelled one used to wake
// no File, and a File stayed SourceNotFound while its source existed. The File must
// follow both at once, and the manager must still not cache the unlabelled object.
func TestUnlabelledSourceWakesItsFiles(t *testing.T) {
	for _, kind := range []string{"Secret", "ConfigMap"} {
		t.Run(kind, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t)
			source, f := unlabelledSource(kind, ns, "docs", "evidence.pdf", "unshared")
			create(t, f)
			eventuallyFile(t, f, beSourceNotFound)

			create(t, source)
			g.Eventually(func(g Gomega) { beNotShareable(g, get(g, f)) }).WithTimeout(promptly).Should(Succeed())
			wantNotCached(t, source)

			g.Expect(k8s.Delete(context.Background(), source)).To(Succeed())
			g.Eventually(func(g Gomega) { beSourceNotFound(g, get(g, f)) }).WithTimeout(promptly).Should(Succeed())
		})
	}
}

// wantNotCached asserts that the suite manager's cache holds not even the metadata of
// obj, a Secret or ConfigMap without its owner's consent label.
func wantNotCached(t *testing.T, obj client.Object) {
	t.Helper()
	kind := "Secret"
	if _, ok := obj.(*corev1.ConfigMap); ok {
		kind = "ConfigMap"
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	if err := running.cache.Get(context.Background(), client.ObjectKeyFromObject(obj), m); !apierrors.IsNotFound(err) {
		t.Errorf("the manager's cache holds unlabelled %s %s (err %v)", kind, obj.GetName(), err)
	}
}

// TestUnlabelledSourcesAreFollowedWithoutBeingKept measures how the watch behind
// defect 6's fix is bounded: it hands on every creation of an unlabelled source and
// none of a labelled one (those come through the cache), and keeps nothing of what it
// saw. Sources with 32 KiB of annotations each, which an informer of their metadata
// would hold (about 9 MiB here), leave the heap within a fraction of that.
func TestUnlabelledSourcesAreFollowedWithoutBeingKept(t *testing.T) {
	const sources, annotation = 300, 32 << 10
	g := NewWithT(t)
	ctx := t.Context()
	ns := newNamespace(t)
	var created atomic.Int64
	var labelledSeen atomic.Bool
	started := make(chan string, 2)
	err := controllers.FollowUnlabelled(ctx, restCfg, func(kind string, key types.NamespacedName) {
		switch {
		case key.Namespace != ns || kind != "ConfigMap":
		case key.Name == "consented":
			labelledSeen.Store(true)
		default:
			created.Add(1)
		}
	}, func(kind string) { started <- kind })
	g.Expect(err).NotTo(HaveOccurred())
	for range 2 {
		select {
		case <-started:
		case <-time.After(wait):
			t.Fatal("the watches of unlabelled sources did not start")
		}
	}

	before := heapInUse()
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "consented", Labels: shareable()}})
	fat := strings.Repeat("x", annotation)
	for i := range sources {
		create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("unshared-%d", i),
			Annotations: map[string]string{"test.filelink.dev/bulk": fat}}})
	}
	g.Eventually(created.Load).WithTimeout(wait).Should(BeEquivalentTo(sources))
	grown := int64(heapInUse()) - int64(before)
	t.Logf("heap after following %d unlabelled sources of %d KiB: %+d KiB", sources, annotation>>10, grown>>10)
	g.Expect(grown).To(BeNumerically("<", sources*annotation/4), "the watch keeps what it saw")
	g.Expect(labelledSeen.Load()).To(BeFalse(), "a labelled source was handed on")
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// restartAround stops the suite's manager, runs change while none runs, and starts it
// again: no watch can see change's events.
func restartAround(t *testing.T, change func()) {
	t.Helper()
	if err := running.stop(); err != nil {
		t.Fatal(err)
	}
	change()
	var err error
	if running, err = startManager(); err != nil {
		t.Fatal(err)
	}
}

// TestUnlabelledSourceChangedWhileNoManagerRan: events missed while no manager ran (or
// while the watch was cut) are made up for at start. A File whose status says its
// source is missing asks the API server again rather than trusting that status.
func TestUnlabelledSourceChangedWhileNoManagerRan(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	source, f := unlabelledSource("Secret", ns, "docs", "evidence.pdf", "unshared")
	create(t, f)
	eventuallyFile(t, f, beSourceNotFound)

	restartAround(t, func() { create(t, source) })
	g.Eventually(func(g Gomega) { beNotShareable(g, get(g, f)) }).WithTimeout(promptly).Should(Succeed())

	restartAround(t, func() { g.Expect(k8s.Delete(context.Background(), source)).To(Succeed()) })
	g.Eventually(func(g Gomega) { beSourceNotFound(g, get(g, f)) }).WithTimeout(promptly).Should(Succeed())
}
