package content

import (
	"context"
	"io"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/cacheindex"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// informer hands its one handler to the test, which plays the events.
type informer struct {
	handler chan toolscache.ResourceEventHandler
}

func (i informer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	i.handler <- h
	return nil, nil
}

func (informer) RemoveEventHandler(toolscache.ResourceEventHandlerRegistration) error { return nil }

// TestPrefetcherFollowsFilesAndTheirSources: a Ready File's body is held without a
// download, again in its new version when its source changes, and not at all for a File
// not Ready or one whose recorded size exceeds the cache; Held counts what is wanted.
func TestPrefetcherFollowsFilesAndTheirSources(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, filelinkv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "docs", UID: "s-uid",
		Labels: map[string]string{filelinkv1.ShareableLabel: filelinkv1.ShareableValue}},
		Data: map[string][]byte{"a": []byte("first"), "big": make([]byte, 200)}}
	file := func(name, key string, ready bool, size int64) *filelinkv1.File {
		f := &filelinkv1.File{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec: filelinkv1.FileSpec{Purpose: filelinkv1.PurposeDisputeEvidence,
				Source: filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: "docs", Key: key}}},
			Status: filelinkv1.FileStatus{Size: size}}
		status := metav1.ConditionFalse
		if ready {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&f.Status.Conditions, metav1.Condition{Type: filelinkv1.ConditionReady, Status: status, Reason: "Test"})
		return f
	}
	ready, notReady, tooLarge := file("ready", "a", true, 0), file("not-ready", "a", false, 0), file("too-large", "big", true, 200)
	bySource := func(o client.Object) []string {
		return []string{filesource.Of(o.(*filelinkv1.File)).IndexKey()}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret, ready, notReady, tooLarge).
		WithIndex(&filelinkv1.File{}, cacheindex.FilesBySource, bySource).Build()
	// The decision's rule, reduced to what the test needs: the source's current version.
	version := func(ctx context.Context, f *filelinkv1.File) (filesource.Ref, Key, error) {
		ref := filesource.RefOf(f.Namespace, f.Spec.Source)
		s := &corev1.Secret{}
		err := c.Get(ctx, ref.NamespacedName, s)
		return ref, KeyOf(s, ref.Key), err
	}
	bodies := NewBodies(NewCache(100), c, time.Second)
	p := NewPrefetcher(bodies, c, version, ctrl.Log)
	files, sources := informer{make(chan toolscache.ResourceEventHandler, 1)}, informer{make(chan toolscache.ResourceEventHandler, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, files, map[filesource.Kind]Informer{filesource.KindSecret: sources}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	fileEvents, sourceEvents := <-files.handler, <-sources.handler

	holds := func(f *filelinkv1.File) bool {
		_, k, err := version(ctx, f)
		return err == nil && bodies.Holds(k)
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
		}
	}
	for _, f := range []*filelinkv1.File{notReady, tooLarge, ready} {
		fileEvents.OnAdd(f, true)
	}
	eventually("the Ready File's body was not fetched ahead", func() bool { return holds(ready) })
	eventually("fetching ahead did not settle", p.Idle)
	if _, items := bodies.cache.usage(); items != 1 {
		t.Errorf("%d bodies held, want the Ready File's alone", items)
	}
	if held, notHeld := p.Held(); held != 1 || notHeld != 1 {
		t.Errorf("Held = %d, %d; want 1 held (the Ready File's) and 1 not (the one beyond the cache)", held, notHeld)
	}

	old := secret.DeepCopy()
	secret.Data["a"] = []byte("second")
	if err := c.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	sourceEvents.OnUpdate(old, secret)
	eventually("the new version was not fetched ahead", func() bool { return holds(ready) })
	b, ok := bodies.Cached(KeyOf(secret, "a"), time.Time{})
	if !ok {
		t.Fatal("the new version is not held")
	}
	got, err := io.ReadAll(b.Content)
	b.Done()
	if err != nil || string(got) != "second" {
		t.Errorf("held %q (%v), want the new version", got, err)
	}

	fileEvents.OnDelete(ready)
	if held, notHeld := p.Held(); held != 0 || notHeld != 1 {
		t.Errorf("after the File's deletion Held = %d, %d; want 0, 1", held, notHeld)
	}
}
