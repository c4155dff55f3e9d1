package filesource_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/lastmodified"
)

// labelSets are the ways an owner can have labelled a source.
var labelSets = map[string]labels.Set{
	"consented":       {filelinkv1.ShareableLabel: filelinkv1.ShareableValue},
	"refused":         {filelinkv1.ShareableLabel: "false"},
	"capitalised":     {filelinkv1.ShareableLabel: "True"},
	"other labels":    {"team": "billing"},
	"no label at all": {},
}

// TestSelectorsPartitionSources: the caches hold exactly the consented sources, and the
// watch of unlabelled ones sees exactly the others, so no source is seen by neither.
func TestSelectorsPartitionSources(t *testing.T) {
	for name, set := range labelSets {
		shareable := filesource.ShareableSelector().Matches(set)
		if shareable != (name == "consented") {
			t.Errorf("%s: shareable %v", name, shareable)
		}
		if filesource.NotShareableSelector().Matches(set) == shareable {
			t.Errorf("%s: selected by both or by neither", name)
		}
	}
}

// TestCacheByObjectHoldsConsentedMetadataOnly: both kinds of source are cached only when
// consented, and of each the cache keeps no annotations (a Secret's last-applied
// configuration holds its data), no labels but the consent label, and one timestamp
// of its managed fields, the one Last-Modified is built from.
func TestCacheByObjectHoldsConsentedMetadataOnly(t *testing.T) {
	by := filesource.CacheByObject()
	if len(by) != 2 {
		t.Fatalf("options for %d kinds, want Secret and ConfigMap", len(by))
	}
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	changed := metav1.NewTime(created.Add(time.Hour))
	for obj, opts := range by {
		switch obj.(type) {
		case *corev1.Secret, *corev1.ConfigMap:
		default:
			t.Errorf("cache options for %T", obj)
		}
		for name, set := range labelSets {
			if opts.Label.Matches(set) != (name == "consented") {
				t.Errorf("%T %s: cached %v", obj, name, opts.Label.Matches(set))
			}
		}
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "docs", CreationTimestamp: metav1.NewTime(created),
			Labels:      map[string]string{filelinkv1.ShareableLabel: filelinkv1.ShareableValue, "team": "billing"},
			Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: `{"data":{"password":"aHVudGVyMg=="}}`},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kubectl", Time: &changed, FieldsV1: metav1.NewFieldsV1(`{"f:data":{}}`)},
				{Manager: "kubectl-label", Time: &metav1.Time{Time: created}},
			},
		}}
		want := lastmodified.Of(m)
		out, err := opts.Transform(m)
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*metav1.PartialObjectMetadata)
		if len(got.Annotations) != 0 {
			t.Errorf("%T: annotations kept: %v", obj, got.Annotations)
		}
		if len(got.Labels) != 1 || !filesource.Shareable(got) {
			t.Errorf("%T: labels kept: %v", obj, got.Labels)
		}
		if len(got.ManagedFields) != 1 || got.ManagedFields[0].FieldsV1 != nil || got.ManagedFields[0].Manager != "" {
			t.Errorf("%T: managed fields kept: %+v", obj, got.ManagedFields)
		}
		if !lastmodified.Of(got).Equal(want) {
			t.Errorf("%T: last modified %v, want %v", obj, lastmodified.Of(got), want)
		}
	}
}
