package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LastCheck returns the FileStore's Ready condition as its controller last wrote it,
// whatever generation it describes; nil before the first check.
//
// Files and the link server go by this verdict rather than by Ready for the current
// generation. A spec change (delivery, interval, even the bucket) leaves Ready
// describing the older generation until the FileStore controller has checked again; a
// File that waited for that check would drop to StoreNotReady and its links to 404 on
// every edit. The older verdict is only a starting point: each File HEADs its object
// with the current spec, so a change that breaks the bucket still shows, at once on
// the File and, after the store's own check, as Ready=False on the store.
func (s *FileStore) LastCheck() *metav1.Condition {
	return meta.FindStatusCondition(s.Status.Conditions, ConditionReady)
}

// LastCheckFailed reports whether the FileStore controller's latest check found the
// bucket unusable (Ready=False, for the current spec or, until it has been checked, an
// earlier one). Its objects are then served by no link.
func (s *FileStore) LastCheckFailed() bool {
	c := s.LastCheck()
	return c != nil && c.Status == metav1.ConditionFalse
}
