package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// A replica that loses its lease over and over (an API server that keeps dropping
// renewals) builds a manager per term. Each term must leave nothing behind when it ends:
// no goroutine and no subscription to key changes. Here the lease is taken away from
// the running term again and again, through the API server as another replica would;
// goroutines must stay flat (an event handler left on a running informer would be two
// of client-go's), so must metric series, and on a key rotation only the current term's
// subscription may still be told.
func TestLostLeasesLeaveNothingBehind(t *testing.T) {
	const warmUp, flaps = 2, 12
	cfg, k8s, ctx, cancel := startAPIServer(t)

	o := parsed(t, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--link-bind-address=127.0.0.1:0",
		"--signing-key-secret=default/filelink-signing-key")
	o.Webhooks = false
	s, keyRef := startServing(ctx, t, cfg, o)
	keys := &countingKeys{Keys: s.keys}
	lease := &LeaderElection{Namespace: "default", LeaseDuration: 2 * time.Second, RenewDeadline: 500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond}
	part := newElected(cfg, s.mgr, lease, controllers.Config{Clock: clock.RealClock{}, Keys: keys, BaseURL: "http://links.test"})
	part.restartDelay = 10 * time.Millisecond
	terms := make(chan struct{}, 1)
	newManager := part.newManager
	part.newManager = func(ctx context.Context) (manager.Manager, error) {
		select {
		case terms <- struct{}{}:
		case <-ctx.Done():
		}
		return newManager(ctx)
	}
	if err := s.mgr.Add(part); err != nil {
		t.Fatal(err)
	}
	runServing(ctx, cancel, t, s)

	leaseKey := types.NamespacedName{Namespace: lease.Namespace, Name: leaderElectionID}
	holder := func() string {
		var l coordinationv1.Lease
		if err := k8s.Get(ctx, leaseKey, &l); err != nil {
			return ""
		}
		return ptr.Deref(l.Spec.HolderIdentity, "")
	}
	setHolder := func(identity string) {
		t.Helper()
		setLeaseHolder(ctx, t, k8s, leaseKey, identity)
	}
	await := func(what string, done func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !done(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	newTerm := func() {
		t.Helper()
		select {
		case <-terms:
		case <-time.After(30 * time.Second):
			t.Fatal("no new term was built")
		}
	}

	newTerm()
	var baseline, series int
	for i := range warmUp + flaps {
		await("a term to lead", func() bool { h := holder(); return h != "" && h != "another-replica" })
		if i == warmUp {
			baseline, series = settledGoroutines(), metricSeries(t)
		}
		setHolder("another-replica")
		newTerm() // the lost term stopped and the next one campaigns
		setHolder("")
	}
	await("the last term to lead", func() bool { h := holder(); return h != "" && h != "another-replica" })

	if got := keys.subscribed.Load(); got < warmUp+flaps+1 {
		t.Fatalf("%d key subscriptions over %d terms: the test did not exercise what it checks", got, warmUp+flaps+1)
	}
	// A leak per term would be one goroutine or more per lost lease; allow for a few
	// that come and go with the API connections.
	const slack = 4
	if now := settledGoroutines(); now > baseline+slack {
		var dump bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("goroutines grew from %d to %d over %d lost leases:\n%s", baseline, now, flaps, dump.String())
	} else {
		t.Logf("goroutines: %d after %d lost leases, %d before; metric series: %d before", now, flaps, baseline, series)
	}

	// The same controllers under the same names report into the same series; one more
	// per term would be a registration that outlived it.
	if now := metricSeries(t); now != series {
		t.Errorf("metric series went from %d to %d over %d lost leases", series, now, flaps)
	}

	// Rotate the key: every subscription still registered is told.
	before, told := s.keys.Current().KeyID(), keys.told.Load()
	rotateKey(ctx, t, k8s, keyRef)
	await("the key rotation", func() bool { c := s.keys.Current(); return c != nil && c.KeyID() != before })
	// LiveKey tells its subscribers under the lock Notify takes: once Notify returns,
	// every subscriber has been told of the rotation.
	s.keys.Notify(ctx, func(*signing.Signer) {})
	if told = keys.told.Load() - told; told != 1 {
		t.Errorf("a key rotation was delivered to %d subscriptions of the elected part after %d terms, want 1 (the current term's)", told, warmUp+flaps+1)
	}
}

// settledGoroutines is the fewest goroutines seen over a second: a stopped term's
// goroutines end shortly after its manager returns (a manager that lost its lease does
// not wait for its runnables), and requests to the API server come and go.
func settledGoroutines() int {
	fewest := runtime.NumGoroutine()
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		fewest = min(fewest, runtime.NumGoroutine())
	}
	return fewest
}

// metricSeries counts the series of the registry every manager of the process reports
// to, but for client-go's request metrics, whose series follow the answers (a first
// conflict on the Lease adds one).
func metricSeries(t *testing.T) int {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "rest_client_") {
			n += len(f.GetMetric())
		}
	}
	return n
}

// countingKeys counts the subscriptions made to Keys and the deliveries to them.
type countingKeys struct {
	signing.Keys
	subscribed, told atomic.Int64
}

func (k *countingKeys) Notify(ctx context.Context, f func(*signing.Signer)) {
	k.subscribed.Add(1)
	k.Keys.Notify(ctx, func(s *signing.Signer) {
		k.told.Add(1)
		f(s)
	})
}

func rotateKey(ctx context.Context, t *testing.T, k8s client.Client, ref types.NamespacedName) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var secret corev1.Secret
		if err := k8s.Get(ctx, ref, &secret); err != nil {
			return err
		}
		secret.Data["key"] = []byte(rand.Text() + rand.Text())
		return k8s.Update(ctx, &secret)
	}); err != nil {
		t.Fatal(err)
	}
}
