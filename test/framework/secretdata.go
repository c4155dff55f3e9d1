package framework

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SetSecretData replaces the data of Secret ref, as an operator editing it would (a key
// rotation, a revocation); the update carries the resourceVersion read, so it fails
// rather than overwrite a concurrent change.
func SetSecretData(t testing.TB, c client.Client, ref types.NamespacedName, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{}
	if err := c.Get(context.Background(), ref, s); err != nil {
		t.Fatal(err)
	}
	s.Data = data
	if err := c.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}
