package app

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// startAPIServer starts an API server of the test's own (framework.StartForTest) and
// returns its config, a client of it, and a context that cancel, or the test's end,
// cancels.
func startAPIServer(t *testing.T) (*rest.Config, client.WithWatch, context.Context, context.CancelFunc) {
	t.Helper()
	cfg, k8s := framework.StartForTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return cfg, k8s, ctx, cancel
}

// startServing builds the serving manager for o as Run does, with its signing key
// Secret's name, and returns it unstarted so that a test can add its parts first.
func startServing(ctx context.Context, t *testing.T, cfg *rest.Config, o Options) (*serving, types.NamespacedName) {
	t.Helper()
	keyRef, err := o.signingKeyRef()
	if err != nil {
		t.Fatal(err)
	}
	networks, err := o.storeNetworks()
	if err != nil {
		t.Fatal(err)
	}
	// No audit log: these tests read the manager, not who downloaded what.
	s, err := newServing(ctx, cfg, o, keyRef, networks, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, keyRef
}

// runServing starts s's manager and, when the test ends, cancels ctx and reports an
// error the manager stopped with.
func runServing(ctx context.Context, cancel context.CancelFunc, t *testing.T, s *serving) {
	t.Helper()
	stopped := make(chan error, 1)
	go func() { stopped <- s.mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// setLeaseHolder makes identity ("" for none) the holder of the leader election Lease
// at key, through the API server as another replica would. The lease it writes lasts
// long enough that a term's next manager waits for the release a test makes rather
// than for the expiry.
func setLeaseHolder(ctx context.Context, t *testing.T, k8s client.Client, key types.NamespacedName, identity string) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var l coordinationv1.Lease
		if err := k8s.Get(ctx, key, &l); err != nil {
			return err
		}
		now := metav1.NewMicroTime(time.Now())
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds = &identity, ptr.To[int32](60)
		l.Spec.AcquireTime, l.Spec.RenewTime = &now, &now
		return k8s.Update(ctx, &l)
	}); err != nil {
		t.Fatalf("the leader election Lease %s: %v", key, err)
	}
}
