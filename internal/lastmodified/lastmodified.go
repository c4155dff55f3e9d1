// Package lastmodified tells when an object last changed, as every replica sees it, from
// the timestamps the API server records in managedFields, and keeps that fact in the
// informer cache for a fraction of what managedFields cost.
package lastmodified

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Of returns when obj last changed: the newest managed-fields timestamp, else its
// creation. Kubernetes keeps no modification time of its own; this one is the same on
// every replica, so HTTP validators built on it agree across a Service.
func Of(obj metav1.Object) time.Time {
	t := obj.GetCreationTimestamp().Time
	for _, mf := range obj.GetManagedFields() {
		if mf.Time != nil && mf.Time.After(t) {
			t = mf.Time.Time
		}
	}
	return t
}

// Transform is a cache transform that replaces an object's managed fields with a single
// entry carrying only the newest timestamp, or with none when that is no later than the
// creation (an object never changed since, as most file sources are). Nothing in the
// manager reads the field sets, which are often the largest part of a cached object;
// Of still answers the same.
func Transform(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil || len(obj.GetManagedFields()) == 0 {
		return in, nil
	}
	var newest *metav1.Time
	for _, mf := range obj.GetManagedFields() {
		if mf.Time != nil && (newest == nil || mf.Time.After(newest.Time)) {
			newest = mf.Time
		}
	}
	if newest == nil || !newest.After(obj.GetCreationTimestamp().Time) {
		obj.SetManagedFields(nil)
		return in, nil
	}
	obj.SetManagedFields([]metav1.ManagedFieldsEntry{{Time: newest}})
	return in, nil
}
