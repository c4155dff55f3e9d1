package linkserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// setLabel adds (true) or removes the shareable label, as the source's owner would.
func setLabel(t testing.TB, obj client.Object, on bool) { framework.SetShareable(t, k8s, obj, on) }

func consistentlyNotFound(t testing.TB, url string) {
	t.Helper()
	NewWithT(t).Consistently(func() int {
		resp, _ := request(t, http.MethodGet, url, nil)
		return resp.StatusCode
	}).WithTimeout(500 * time.Millisecond).WithPolling(20 * time.Millisecond).Should(Equal(http.StatusNotFound))
}

// eventuallyNotFoundWithin: revocation by the label is measured in seconds at most.
func eventuallyNotFoundWithin(t testing.TB, url string, d time.Duration) {
	t.Helper()
	NewWithT(t).Eventually(func() int {
		resp, _ := request(t, http.MethodGet, url, nil)
		return resp.StatusCode
	}).WithTimeout(d).WithPolling(20 * time.Millisecond).Should(Equal(http.StatusNotFound))
}

// TestOnlyLabelledSourcesAreServed: the File's status says Ready (as it would, stale, on a
// replica whose File informer lags), yet the link server serves the source only while
// its owner's label is on it, and stops within seconds of its removal, cached body or not.
func TestOnlyLabelledSourcesAreServed(t *testing.T) {
	t.Run("Secret", func(t *testing.T) {
		f := newFixture(t, func(f *fixture) { f.secret.Labels = nil })
		consistentlyNotFound(t, f.url())
		revokeAndRestore(t, f.url(), f.secret)
	})
	t.Run("ConfigMap", func(t *testing.T) {
		var cm *corev1.ConfigMap
		f := newFixture(t, func(f *fixture) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "assets"}, Data: map[string]string{"evidence": string(content)}}
			f.secret.Name = ""
			f.file.Spec.Source = filelinkv1.FileSource{ConfigMap: &filelinkv1.KeySelector{Name: "assets", Key: "evidence"}}
			if err := k8s.Create(context.Background(), cm); err != nil {
				t.Fatal(err)
			}
		})
		consistentlyNotFound(t, f.url())
		revokeAndRestore(t, f.url(), cm)
	})
}

// revokeAndRestore labels an unlabelled source, sees the link serve (and its body
// cached), removes the label and sees 404 within seconds, then labels it again.
func revokeAndRestore(t *testing.T, url string, source client.Object) {
	t.Helper()
	setLabel(t, source, true)
	eventuallyStatus(t, url, http.StatusOK)
	if _, body := request(t, http.MethodGet, url, nil); string(body) != string(content) {
		t.Fatalf("body %q", body)
	}
	setLabel(t, source, false)
	eventuallyNotFoundWithin(t, url, 3*time.Second)
	consistentlyNotFound(t, url)
	setLabel(t, source, true)
	eventuallyStatus(t, url, http.StatusOK)
}

// TestFileNotReadyIsNotServed: a File the File controller refused (SourceNotShareable
// here) serves nothing, even while this replica's cache still holds its source labelled.
func TestFileNotReadyIsNotServed(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	setReady(t, f.file, metav1.ConditionFalse, filelinkv1.ReasonSourceNotShareable)
	eventuallyNotFoundWithin(t, f.url(), 3*time.Second)
	consistentlyNotFound(t, f.url())
	markReady(t, f.file)
	eventuallyStatus(t, f.url(), http.StatusOK)
}

// TestSourceCacheHoldsLabelledMetadataOnly: the manager's metadata caches of Secrets and
// ConfigMaps (built with the binary's options) never hold an unlabelled object, and hold
// a labelled one without annotations or managed field sets: kubectl's client-side apply
// copies a Secret's whole data into last-applied-configuration.
func TestSourceCacheHoldsLabelledMetadataOnly(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	lastApplied := map[string]string{"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 200<<10)}
	for _, kind := range []string{"Secret", "ConfigMap"} {
		t.Run(kind, func(t *testing.T) {
			objs := map[bool]client.Object{}
			for _, labelled := range []bool{false, true} {
				om := metav1.ObjectMeta{Namespace: ns, Name: strings.ToLower(kind) + "-unlabelled", Annotations: lastApplied}
				if labelled {
					om.Name, om.Labels = strings.ToLower(kind)+"-labelled", shareable()
				}
				var obj client.Object = &corev1.Secret{ObjectMeta: om, Data: map[string][]byte{"k": []byte("v")}}
				if kind == "ConfigMap" {
					obj = &corev1.ConfigMap{ObjectMeta: om, Data: map[string]string{"k": "v"}}
				}
				if err := k8s.Create(ctx, obj); err != nil {
					t.Fatal(err)
				}
				if len(obj.GetManagedFields()) == 0 {
					t.Fatal("the API server recorded no managed fields; the test would prove nothing")
				}
				objs[labelled] = obj
			}
			cached := &metav1.PartialObjectMetadata{}
			cached.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
			// The labelled object was created last: once it is cached, the unlabelled
			// one would be too, were the cache not restricted.
			NewWithT(t).Eventually(func() error {
				return mgr.GetCache().Get(ctx, client.ObjectKeyFromObject(objs[true]), cached)
			}).WithTimeout(10 * time.Second).Should(Succeed())
			if len(cached.Annotations) != 0 {
				t.Errorf("cached annotations of %d keys", len(cached.Annotations))
			}
			for _, mf := range cached.ManagedFields {
				if mf.Manager != "" || mf.FieldsV1 != nil || mf.Time == nil {
					t.Errorf("cached managed fields entry %+v; want only a timestamp", mf)
				}
			}

			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind + "List"))
			if err := mgr.GetCache().List(ctx, list, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range list.Items {
				names = append(names, o.Name)
			}
			if len(names) != 1 || names[0] != objs[true].GetName() {
				t.Errorf("cache lists %v; want only %s", names, objs[true].GetName())
			}
		})
	}
}
