package cachetrim

import (
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// fresh returns a copy of s in memory of its own, as a decoder would produce.
func fresh(s string) string { return string([]byte(s)) }

func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func link(ns string) *filelinkv1.FileLink {
	now := metav1.NewTime(time.Now())
	return &filelinkv1.FileLink{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: fresh(ns), Name: "l", UID: "u", ResourceVersion: "7", Generation: 2,
			Labels:        map[string]string{"team": "a"},
			Annotations:   map[string]string{corev1.LastAppliedConfigAnnotation: `{"spec":{"file":"f"}}`},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Time: &now, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)}},
		},
		Spec: filelinkv1.FileLinkSpec{File: "f"},
		Status: filelinkv1.FileLinkStatus{URL: "http://x/links/t", Conditions: []metav1.Condition{{
			Type: fresh("Ready"), Status: metav1.ConditionStatus(fresh("True")), Reason: fresh("Active"), Message: fresh("the link is active"), LastTransitionTime: now,
		}}},
	}
}

func TestObjectKeepsWhatIsReadAndSharesRepeatedStrings(t *testing.T) {
	a, b := link("ns"), link("ns")
	want := a.DeepCopy()
	for _, l := range []*filelinkv1.FileLink{a, b} {
		if _, err := Object(l); err != nil {
			t.Fatal(err)
		}
	}
	if a.Labels != nil || a.Annotations != nil || a.ManagedFields != nil {
		t.Errorf("metadata nothing reads was kept: labels %v, annotations %v, managed fields %v", a.Labels, a.Annotations, a.ManagedFields)
	}
	// Everything the reconcilers and the link server read is as decoded.
	want.Labels, want.Annotations, want.ManagedFields = nil, nil, nil
	if !equality.Semantic.DeepEqual(a, want) {
		t.Errorf("transform changed what is read:\n got %+v\nwant %+v", a, want)
	}
	ca, cb := a.Status.Conditions[0], b.Status.Conditions[0]
	for what, pair := range map[string][2]string{
		"namespace": {a.Namespace, b.Namespace}, "type": {ca.Type, cb.Type}, "status": {string(ca.Status), string(cb.Status)},
		"reason": {ca.Reason, cb.Reason},
	} {
		if !sameString(pair[0], pair[1]) {
			t.Errorf("%s: two cached objects hold two copies of %q", what, pair[0])
		}
	}
}

func TestObjectSharesTheStringsOfFiles(t *testing.T) {
	file := func() *filelinkv1.File {
		return &filelinkv1.File{
			ObjectMeta: metav1.ObjectMeta{Namespace: fresh("ns"), Name: "f"},
			Spec: filelinkv1.FileSpec{Purpose: filelinkv1.Purpose(fresh(string(filelinkv1.PurposeDisputeEvidence))),
				Source: filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: "s", Key: fresh("file.txt")}}},
			Status: filelinkv1.FileStatus{Type: fresh("pdf"), ContentType: fresh("application/pdf")},
		}
	}
	a, b := file(), file()
	for _, f := range []*filelinkv1.File{a, b} {
		if _, err := Object(f); err != nil {
			t.Fatal(err)
		}
	}

	for what, pair := range map[string][2]string{
		"purpose": {string(a.Spec.Purpose), string(b.Spec.Purpose)}, "key": {a.Spec.Source.Secret.Key, b.Spec.Source.Secret.Key},
		"type": {a.Status.Type, b.Status.Type}, "content type": {a.Status.ContentType, b.Status.ContentType},
	} {
		if pair[0] != pair[1] || !sameString(pair[0], pair[1]) {
			t.Errorf("%s: two cached Files hold two copies of %q", what, pair[0])
		}
	}
}

func TestSourceMetadataKeepsOnlyTheConsentLabel(t *testing.T) {
	meta := func(labels map[string]string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Namespace: fresh("ns"), Name: "s", Labels: labels}}
	}
	a := meta(map[string]string{filelinkv1.ShareableLabel: filelinkv1.ShareableValue, "app": "billing"})
	b := meta(map[string]string{filelinkv1.ShareableLabel: filelinkv1.ShareableValue})
	other := meta(map[string]string{filelinkv1.ShareableLabel: "false", "app": "billing"})
	for _, m := range []*metav1.PartialObjectMetadata{a, b, other} {
		if _, err := SourceMetadata(m); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.Labels) != 1 || a.Labels[filelinkv1.ShareableLabel] != filelinkv1.ShareableValue {
		t.Errorf("labels of a consenting source = %v, want the consent label alone", a.Labels)
	}
	if !sameMap(a.Labels, b.Labels) {
		t.Error("two consenting sources hold a label map each")
	}
	if other.Labels != nil {
		t.Errorf("labels of a source without consent = %v, want none: it must not read as shareable", other.Labels)
	}
	if !sameString(a.Namespace, b.Namespace) {
		t.Error("two sources hold two copies of their namespace")
	}
}

func sameMap(a, b map[string]string) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}

// TestObjectKeepsAFilesRecheckRequest: the File controller answers the re-check
// annotation from its cache, so that one annotation of a File survives; the others, and
// the same annotation on another kind, do not.
func TestObjectKeepsAFilesRecheckRequest(t *testing.T) {
	annotations := func() map[string]string {
		return map[string]string{filelinkv1.RecheckRequestedAtAnnotation: "2026-11-28T01:00:00Z", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
	}
	f := &filelinkv1.File{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "f", Annotations: annotations()}}
	if _, err := Object(f); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{filelinkv1.RecheckRequestedAtAnnotation: "2026-11-28T01:00:00Z"}; !equality.Semantic.DeepEqual(f.Annotations, want) {
		t.Errorf("File annotations = %v, want %v", f.Annotations, want)
	}
	l := link("ns")
	l.Annotations = annotations()
	if _, err := Object(l); err != nil {
		t.Fatal(err)
	}
	if l.Annotations != nil {
		t.Errorf("FileLink annotations = %v, want none", l.Annotations)
	}
}
