package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// measureManagerRequests times, with a bare client, the requests the manager makes per
// File and link besides the two status patches: one read of the File's Secret and one
// event (Issued) for the link. Added to the patches, that is exactly the manager's API
// work in the reconcile-only row, so comparing the two rates separates what the
// requests cost the server from what the controller itself adds.
func (b *bench) measureManagerRequests(ctx context.Context, res *baselineResult, when string) error {
	c, ns, n := b.clients.ctrl, nsBaseline, b.cfg.n
	if err := createSecrets(ctx, c, b.cfg.workers, ns, n); err != nil {
		return err
	}
	b.logf("baseline %s: one Secret read per File and one event per link, as the manager makes them", when)
	ph := b.beginPhase(ctx, "baseline "+when+" (bare client: the manager's reads and events)")
	t0 := time.Now()
	// The manager reads sources through controller-runtime's uncached reader, which
	// speaks protobuf to the API server for built-in kinds; c is the same kind of client.
	err := parallel(ctx, b.cfg.workers, n, func(ctx context.Context, i int) error {
		return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: secretName(i)}, &corev1.Secret{})
	})
	if err != nil {
		return err
	}
	readTime := time.Since(t0)
	t1 := time.Now()
	// The manager's event recorder posts events.k8s.io/v1 Events through client-go, in
	// JSON, as the kubernetes clientset here does.
	events := b.clients.kube.EventsV1().Events(ns)
	err = parallel(ctx, b.cfg.workers, n, func(ctx context.Context, i int) error {
		_, err := events.Create(ctx, issuedEvent(ns, i), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	eventTime := time.Since(t1)
	ph.end(ctx)

	res.readRate, res.eventRate = rate(n, readTime), rate(n, eventTime)
	b.rep.note(fmt.Sprintf("baseline %s: the same bare client read %d Secrets in %.1f s (%.0f/s) and posted %d events in %.1f s (%.0f/s); with the status patches, a bare client making exactly the manager's requests per File+link pair (2 status patches, 1 Secret read, 1 event) reaches %.0f objects/s, and creating the objects first %.0f objects/s",
		when, n, readTime.Seconds(), res.readRate, n, eventTime.Seconds(), res.eventRate, res.sameRequestsRate(), res.endToEndRate()))
	return nil
}

// issuedEvent is the event the manager posts when link i becomes active.
func issuedEvent(ns string, i int) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%x", linkName(i), time.Now().UnixNano())},
		EventTime:           metav1.NewMicroTime(time.Now()),
		ReportingController: "filelink-filelink",
		ReportingInstance:   "filelink-filelink-bench",
		Action:              "Issue",
		Reason:              "Issued",
		Type:                corev1.EventTypeNormal,
		Note:                "the link serves File " + fileName(i),
		Regarding:           corev1.ObjectReference{APIVersion: "filelink.dev/v1alpha1", Kind: "FileLink", Namespace: ns, Name: linkName(i)},
	}
}
