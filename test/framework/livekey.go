package framework

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// StartLiveKey runs a signing.LiveKey on the key Secret ref until the test ends, as
// another replica of the manager would, and fails the test if it stops with an error.
func StartLiveKey(t testing.TB, cfg *rest.Config, ref types.NamespacedName) *signing.LiveKey {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	keys, err := signing.NewLiveKey(ctx, cfg, ref)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	RunUntilCleanup(ctx, cancel, t, keys.Start)
	return keys
}
