package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// readiness is one reconcile's verdict on an object, in the terms of the kstatus
// conditions (see api/v1alpha1/conditions.go). Reconcilers decide a readiness; only
// apply writes conditions, so no code path can leave them half-updated.
type readiness struct {
	ready   bool
	reason  string
	message string
	// waiting: something that will arrive by itself is missing (Reconciling=True).
	waiting bool
	// stalled: only a spec change can help (Stalled=True).
	stalled bool
}

// apply writes the verdict into conds for generation gen. Reconciling and Stalled are
// removed when they do not hold, as kstatus expects. now is the transition time for
// conditions whose status changes; meta.SetStatusCondition keeps the old time otherwise.
func (v readiness) apply(conds *[]metav1.Condition, gen int64, now metav1.Time) {
	status := metav1.ConditionFalse
	if v.ready {
		status = metav1.ConditionTrue
	}
	set := func(typ string, s metav1.ConditionStatus) {
		meta.SetStatusCondition(conds, metav1.Condition{
			Type: typ, Status: s, Reason: v.reason, Message: v.message,
			ObservedGeneration: gen, LastTransitionTime: now,
		})
	}
	set(filelinkv1.ConditionReady, status)
	if v.waiting {
		set(filelinkv1.ConditionReconciling, metav1.ConditionTrue)
	} else {
		meta.RemoveStatusCondition(conds, filelinkv1.ConditionReconciling)
	}
	if v.stalled {
		set(filelinkv1.ConditionStalled, metav1.ConditionTrue)
	} else {
		meta.RemoveStatusCondition(conds, filelinkv1.ConditionStalled)
	}
}

// readyReason is the reason of the Ready condition, or "" when there is none.
func readyReason(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, filelinkv1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}
