package v1alpha1_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// One FileLink whose expiresAt the API server stores but Go cannot parse would fail every
// LIST of the kind, and with it every informer: no link would become Active and a
// restarted manager would serve nothing. So whatever the schema admits must read back
// through the typed client. The candidates are the spellings the API server's date-time
// format alone would accept, and near misses of RFC 3339.
func TestExpiresAtSchemaAdmitsOnlyWhatGoReads(t *testing.T) {
	ctx := context.Background()
	candidates := []struct {
		value string
		// admit is what the schema must decide. Everything admitted must parse as
		// time.RFC3339. Go also reads a comma before the fraction; the schema refuses
		// it, as no client writes it.
		admit bool
	}{
		{"2035-01-01T00:00:00Z", true},
		{"2035-01-01T00:00:00.5Z", true},
		{"2035-01-01T00:00:00.123456789+01:00", true},
		{"2035-01-01T00:00:00-05:30", true},
		{"2035-01-01t00:00:00z", false},
		{"2035-01-01T00:00:00z", false},
		{"2035-01-01t00:00:00Z", false},
		{"2035-01-01 00:00:00Z", false},
		{"2035-01-01T00:00Z", false},
		{"2035-01-01T00:00:00", false},
		{"2035-01-01", false},
		{"2035-01-01T00:00:00,5Z", false},
		{"2035-01-01T00:00:00.Z", false},
		{"2035-01-01T24:00:00Z", false},
		{"2035-01-01T23:59:60Z", false},
		{"2035-02-30T00:00:00Z", false},
		{"2035-13-01T00:00:00Z", false},
		{"20350101T000000Z", false},
		{"2035-01-01T00:00:00+0100", false},
	}
	for i, c := range candidates {
		t.Run(c.value, func(t *testing.T) {
			_, goErr := time.Parse(time.RFC3339, c.value)
			if c.admit && goErr != nil {
				t.Fatalf("test table is wrong: time.Parse(RFC3339, %q) = %v", c.value, goErr)
			}
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": filelinkv1.GroupVersion.String(),
				"kind":       "FileLink",
				"metadata":   map[string]any{"namespace": ns, "name": fmt.Sprintf("expires-%d", i)},
				"spec":       map[string]any{"file": "evidence", "expiresAt": c.value},
			}}
			err := k8s.Create(ctx, u)
			if !c.admit {
				framework.WantInvalid(t, err, "spec.expiresAt")
				return
			}
			if err != nil {
				t.Fatalf("valid expiresAt %q refused: %v", c.value, err)
			}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(u), &filelinkv1.FileLink{}); err != nil {
				t.Fatalf("admitted expiresAt %q does not read back: %v", c.value, err)
			}
		})
	}
	// What an informer does: list the kind. It fails if any stored object is unreadable.
	if err := k8s.List(ctx, &filelinkv1.FileLinkList{}, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing FileLinks after the candidates: %v", err)
	}
}
