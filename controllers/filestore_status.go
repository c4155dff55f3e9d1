package controllers

import (
	corev1 "k8s.io/api/core/v1"
)

// storeTransition is an event for each change of a FileStore's Ready reason: a warning
// when the check fails, a normal event when it passes.
func storeTransition(previous string, v readiness) (readyEvent, bool) {
	if previous == v.reason {
		return readyEvent{}, false
	}
	if !v.ready {
		return readyEvent{corev1.EventTypeWarning, v.reason, "Check", v.message}, true
	}
	return readyEvent{corev1.EventTypeNormal, v.reason, "Check", v.message}, true
}
