package framework

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// SetShareable adds (on) or removes the consent label on obj, as the source's owner
// would with `kubectl label secret NAME filelink.dev/shareable=true` (or
// `filelink.dev/shareable-`). A merge patch touches that label alone.
func SetShareable(t testing.TB, c client.Client, obj client.Object, on bool) {
	t.Helper()
	value := `"` + filelinkv1.ShareableValue + `"`
	if !on {
		value = "null"
	}
	patch := []byte(`{"metadata":{"labels":{"` + filelinkv1.ShareableLabel + `":` + value + `}}}`)
	if err := c.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
}
