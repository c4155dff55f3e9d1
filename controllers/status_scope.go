package controllers

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// statusScope is one reconcile of one object (Cluster API's scope structs are the
// model): the object as the reconcile read it, the Ready reason it had then, and where
// to write. The reconcile edits obj's status fields freely, then calls write once. It
// is made right after the read, before anything changes obj.
type statusScope[T client.Object] struct {
	client   client.StatusClient
	recorder events.EventRecorder
	obj      T
	// read is obj as read, the base of the one status patch.
	read statusPatch[T]
	// conditions and observedGeneration point into obj's status: the fields every
	// verdict writes, whatever the kind.
	conditions         *[]metav1.Condition
	observedGeneration *int64
	// previous is the Ready reason obj had as read, "" when it had none.
	previous string
	// announce says which event marks a change of the Ready reason; see transition.
	announce transition
}

// transition is a kind's rule for events: the event, if any, that marks the Ready
// reason going from previous to v. It is a pure function so each kind's rule is tested
// in a table; the scope decides whether it is posted.
type transition func(previous string, v readiness) (readyEvent, bool)

// readyEvent is one event a reconcile posts about its object.
type readyEvent struct {
	eventtype, reason, action, note string
}

// newStatusScope starts a reconcile of obj, just read, whose status keeps its
// conditions and observedGeneration at the given fields. A nil recorder posts nothing.
func newStatusScope[T client.Object](c client.StatusClient, recorder events.EventRecorder, obj T,
	conditions *[]metav1.Condition, observedGeneration *int64, announce transition) *statusScope[T] {
	return &statusScope[T]{
		client: c, recorder: recorder, obj: obj, read: newStatusPatch(obj),
		conditions: conditions, observedGeneration: observedGeneration,
		previous: readyReason(*conditions), announce: announce,
	}
}

// write records v in obj's conditions for its generation, marks that generation
// observed, and patches status once, against obj as read and only if anything differs
// (statusPatch.apply). Transition times are now for conditions whose status changes.
// The transition's event is posted only when the patch was written, so an event
// follows a transition this reconcile made and no other: not one a stale read (the
// patch refused) or a second pass (nothing to write) would repeat.
func (s *statusScope[T]) write(ctx context.Context, v readiness, now time.Time) (patchResult, error) {
	v.apply(s.conditions, s.obj.GetGeneration(), metav1.NewTime(now))
	*s.observedGeneration = s.obj.GetGeneration()
	res, err := s.read.apply(ctx, s.client, s.obj)
	if res != statusWritten || s.recorder == nil {
		return res, err
	}
	if e, ok := s.announce(s.previous, v); ok {
		s.recorder.Eventf(s.obj, nil, e.eventtype, e.reason, e.action, "%s", e.note)
	}
	return res, err
}
