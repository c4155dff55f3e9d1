package lastmodified

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTransformKeepsOnlyTheNewestTime(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	older, newer := metav1.NewTime(created.Add(time.Hour)), metav1.NewTime(created.Add(2*time.Hour))
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		CreationTimestamp: metav1.NewTime(created),
		ManagedFields: []metav1.ManagedFieldsEntry{
			{Manager: "kubectl", Time: &newer, FieldsV1: metav1.NewFieldsV1(`{"f:data":{}}`)},
			{Manager: "other", Time: &older, FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{}}`)},
		},
	}}
	if got := Of(obj); !got.Equal(newer.Time) {
		t.Fatalf("Of before transform = %v, want %v", got, newer)
	}
	if _, err := Transform(obj); err != nil {
		t.Fatal(err)
	}
	if len(obj.ManagedFields) != 1 || obj.ManagedFields[0].FieldsV1 != nil || obj.ManagedFields[0].Manager != "" {
		t.Fatalf("managed fields not compacted: %+v", obj.ManagedFields)
	}
	if got := Of(obj); !got.Equal(newer.Time) {
		t.Fatalf("Of after transform = %v, want %v", got, newer)
	}
}

func TestOfFallsBackToCreation(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: created,
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "no-time"}}}}
	if _, err := Transform(obj); err != nil {
		t.Fatal(err)
	}
	if obj.ManagedFields != nil {
		t.Errorf("entries without time kept: %+v", obj.ManagedFields)
	}
	if got := Of(obj); !got.Equal(created.Time) {
		t.Errorf("Of = %v, want creation %v", got, created)
	}
	if _, err := Transform("not an object"); err != nil {
		t.Errorf("non-object: %v", err)
	}
}

// A source written once keeps no managed fields in the cache: its creation says the same.
func TestTransformDropsWhatCreationSays(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: created,
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Time: &created, FieldsV1: metav1.NewFieldsV1(`{"f:data":{}}`)}}}}
	if _, err := Transform(obj); err != nil {
		t.Fatal(err)
	}
	if obj.ManagedFields != nil {
		t.Errorf("managed fields kept although they add nothing to the creation time: %+v", obj.ManagedFields)
	}
	if got := Of(obj); !got.Equal(created.Time) {
		t.Errorf("Of = %v, want creation %v", got, created)
	}
}
