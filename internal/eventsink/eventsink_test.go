package eventsink_test

import (
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/eventsink"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

var k8s client.Client

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithControlPlane(m, func(_ *rest.Config, c client.WithWatch) error {
		k8s = c
		return nil
	}))
}

func namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "events-"}}
	if err := k8s.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// TestEventsArePostedWithTheirReference: an event reaches the API server as
// events.k8s.io/v1 about the right object, from the right controller, with a note the
// API server accepts even when the message is longer than its limit.
func TestEventsArePostedWithTheirReference(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "regarding"}}
	if err := k8s.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	sink := eventsink.New(k8s, logr.Discard(), 0)
	go func() { _ = sink.Start(ctx) }()
	long := strings.Repeat("é", 700) // 1400 bytes, cut inside a character at 1024
	sink.Recorder("filelink-test").Eventf(cm, nil, corev1.EventTypeWarning, "Checked", "Check", "%s", long)

	var got eventsv1.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		list := &eventsv1.EventList{}
		if err := k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 1 {
			got = list.Items[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events after 10s, want 1", len(list.Items))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.Regarding.Kind != "ConfigMap" || got.Regarding.Name != "regarding" || got.Regarding.UID != cm.UID {
		t.Errorf("regarding = %+v", got.Regarding)
	}
	if got.ReportingController != "filelink-test" || got.Reason != "Checked" || got.Action != "Check" || got.Type != corev1.EventTypeWarning {
		t.Errorf("event = controller %q reason %q action %q type %q", got.ReportingController, got.Reason, got.Action, got.Type)
	}
	if len(got.Note) > 1024 || !utf8.ValidString(got.Note) || !strings.HasPrefix(long, got.Note) {
		t.Errorf("note of %d bytes (valid UTF-8: %v) is not the message cut to the limit", len(got.Note), utf8.ValidString(got.Note))
	}
}

// TestAFullQueueDropsInsteadOfBlocking: a reconcile never waits on the API server for
// an event; what the queue cannot hold is dropped and counted.
func TestAFullQueueDropsInsteadOfBlocking(t *testing.T) {
	sink := eventsink.New(k8s, logr.Discard(), 0) // not started: nothing drains the queue
	rec := sink.Recorder("filelink-test")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "x"}}
	before := testutil.ToFloat64(eventsink.Dropped)
	done := make(chan struct{})
	go func() {
		for range 1010 {
			rec.Eventf(cm, nil, corev1.EventTypeNormal, "Issued", "Issue", "n")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Eventf blocked on a full queue")
	}
	if got := testutil.ToFloat64(eventsink.Dropped) - before; got != 10 {
		t.Errorf("%v events counted as dropped, want 10", got)
	}
}
