// Package cachetrim holds the cache transforms that decide what the manager's informer
// caches keep of each object. With tens of thousands of Files, FileLinks and source
// Secrets cached, every byte kept per object is tens of kilobytes of heap, and about
// twice that in resident memory once the Go collector's headroom is counted.
//
// Objects in an informer cache are shared and read only: controller-runtime's reader
// hands out deep copies and event handlers must not modify what they are given. That is
// what makes sharing one string or one label map between many cached objects safe.
package cachetrim

import (
	"unique"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// Object is the transform for the kinds the manager caches whole (Files, FileLinks,
// FileStores). It drops the metadata nothing in the manager reads: labels, annotations
// (kubectl's last-applied copy of the whole object above all) except a File's re-check
// request (filelinkv1.RecheckRequestedAtAnnotation, which the File controller answers),
// and managed fields (no Last-Modified is derived from these kinds). Status is written as a merge patch against
// the cached copy, so metadata missing from that copy is never written back. Strings
// that most objects repeat (namespace, condition type, status and reason, purpose) are
// shared. Strings of one or two objects are not: messages name their object, and a
// digest is a File's and its links'. A shared value costs an entry in unique's table
// and its creation costs a weak pointer, more than a copy or two of the string.
func Object(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil
	}
	var recheck map[string]string
	if v, ok := obj.GetAnnotations()[filelinkv1.RecheckRequestedAtAnnotation]; ok {
		if _, isFile := in.(*filelinkv1.File); isFile {
			recheck = map[string]string{filelinkv1.RecheckRequestedAtAnnotation: v}
		}
	}
	obj.SetLabels(nil)
	obj.SetAnnotations(recheck)
	obj.SetManagedFields(nil)
	obj.SetNamespace(share(obj.GetNamespace()))
	switch o := in.(type) {
	case *filelinkv1.FileLink:
		shareConditions(o.Status.Conditions)
	case *filelinkv1.File:
		o.Spec.Purpose = filelinkv1.Purpose(share(string(o.Spec.Purpose)))
		if s := o.Spec.Source.Secret; s != nil {
			s.Key = share(s.Key)
		}
		if s := o.Spec.Source.ConfigMap; s != nil {
			s.Key = share(s.Key)
		}
		o.Status.Type = share(o.Status.Type)
		o.Status.ContentType = share(o.Status.ContentType)
		shareConditions(o.Status.Conditions)
	case *filelinkv1.FileStore:
		shareConditions(o.Status.Conditions)
	}
	return in, nil
}

// SourceMetadata trims the metadata of a Secret or ConfigMap after the caller's own
// trimming: of its labels only the consent label matters (filesource.Shareable), kept
// as one map shared by every consenting source instead of a map per object.
func SourceMetadata(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil
	}
	if obj.GetLabels()[filelinkv1.ShareableLabel] == filelinkv1.ShareableValue {
		obj.SetLabels(shareableLabels)
	} else {
		obj.SetLabels(nil)
	}
	obj.SetNamespace(share(obj.GetNamespace()))
	if p, ok := in.(*metav1.PartialObjectMetadata); ok {
		p.APIVersion, p.Kind = share(p.APIVersion), share(p.Kind)
	}
	return in, nil
}

// shareableLabels is the one label map of every cached consenting source. Nothing may
// write to it (see the package comment).
var shareableLabels = map[string]string{filelinkv1.ShareableLabel: filelinkv1.ShareableValue}

func shareConditions(cs []metav1.Condition) {
	for i := range cs {
		c := &cs[i]
		c.Type, c.Reason = share(c.Type), share(c.Reason)
		c.Status = metav1.ConditionStatus(share(string(c.Status)))
	}
}

// share returns the canonical copy of s. unique drops a value once no cached object
// holds it any more, so the table cannot grow with messages that name objects.
func share(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}
