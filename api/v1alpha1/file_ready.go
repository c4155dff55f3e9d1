package v1alpha1

import "k8s.io/apimachinery/pkg/api/meta"

// ContentReady reports whether the controller has read the File's current spec and found
// its content: Ready=True for the current generation.
func (f *File) ContentReady() bool {
	c := meta.FindStatusCondition(f.Status.Conditions, ConditionReady)
	return c != nil && c.Status == "True" && c.ObservedGeneration == f.Generation && f.Status.ObservedGeneration == f.Generation
}
