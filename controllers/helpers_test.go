package controllers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

const wait = 15 * time.Second

func newNamespace(t *testing.T) string { return framework.NewNamespace(t, k8s, "t-") }

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// The object builders are the framework's, shared with the other suites.
var (
	secret         = framework.Secret
	fileFromSecret = framework.FileFromSecret
	link           = framework.Link
	shareable      = framework.Shareable
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func get[T client.Object](g Gomega, obj T) T {
	g.ExpectWithOffset(1, k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	return obj
}

// eventuallyLink waits until the link, read from the API server, passes check.
func eventuallyLink(t *testing.T, l *filelinkv1.FileLink, check func(g Gomega, l *filelinkv1.FileLink)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) { check(g, get(g, l)) }).WithTimeout(wait).Should(Succeed())
}

func eventuallyFile(t *testing.T, f *filelinkv1.File, check func(g Gomega, f *filelinkv1.File)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) { check(g, get(g, f)) }).WithTimeout(wait).Should(Succeed())
}

// haveReady asserts the Ready condition's status and reason, for the current generation.
func haveReady(g Gomega, conds []metav1.Condition, gen int64, status metav1.ConditionStatus, reason string) {
	c := meta.FindStatusCondition(conds, filelinkv1.ConditionReady)
	g.ExpectWithOffset(1, c).NotTo(BeNil(), "no Ready condition")
	g.ExpectWithOffset(1, c.Status).To(Equal(status), "Ready status")
	g.ExpectWithOffset(1, c.Reason).To(Equal(reason), "Ready reason")
	g.ExpectWithOffset(1, c.ObservedGeneration).To(Equal(gen), "Ready observedGeneration")
}

func conditionStatus(conds []metav1.Condition, typ string) metav1.ConditionStatus {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return c.Status
	}
	return "absent"
}

// kstatusOf is what Flux, Argo CD and `kubectl wait` tooling built on kstatus see.
func kstatusOf(t *testing.T, obj client.Object) kstatus.Status {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(framework.GVK(obj))
	res, err := kstatus.Compute(u)
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

// eventReasons lists the reasons of the events about the named object, as type/reason.
func eventReasons(g Gomega, ns, name string) []string {
	list := &eventsv1.EventList{}
	g.ExpectWithOffset(1, k8s.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Type+"/"+e.Reason)
		}
	}
	return out
}

// wantOneEvent waits for an event of reason ("Type/Reason") about the object named
// name, then asserts for two seconds that no second one follows.
func wantOneEvent(t *testing.T, ns, name, reason string) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func(g Gomega) { g.Expect(eventReasons(g, ns, name)).To(ContainElement(reason)) }).WithTimeout(wait).Should(Succeed())
	g.Consistently(func(g Gomega) { g.Expect(count(eventReasons(g, ns, name), reason)).To(Equal(1)) }).
		WithTimeout(2 * time.Second).Should(Succeed())
}

func count(items []string, want string) int {
	n := 0
	for _, s := range items {
		if s == want {
			n++
		}
	}
	return n
}

// touch changes an annotation, which makes the manager reconcile the object now.
func touch(t *testing.T, obj client.Object) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"test.filelink.dev/touched":"` + time.Now().Format(time.RFC3339Nano) + `"}}}`)
	if err := k8s.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
}
