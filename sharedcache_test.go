package main

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// With --leader-elect, the reconcilers' manager reads through the serving manager's
// cache: one set of informers per replica, not two. Each time the lease is lost a new
// manager is built on the same cache; it must set up its controllers again, and the
// handlers of the one that stopped must not stay on the informers.
func TestElectedManagersShareTheServingCache(t *testing.T) {
	env, err := framework.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg, k8s, err := framework.Start(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	clientOpts := func() client.Options {
		return client.Options{Cache: &client.CacheOptions{DisableFor: controllers.UncachedObjects()}}
	}
	serving, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Client:                 clientOpts(),
		Cache:                  cache.Options{DefaultTransform: linkserver.CacheTransform(), ByObject: filesource.CacheByObject()},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The link server's informer, as on every replica.
	servingLinks, err := serving.GetCache().GetInformer(ctx, &filelinkv1.FileLink{})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = serving.Start(ctx) }()

	keyRef := types.NamespacedName{Namespace: "default", Name: "filelink-signing-key"}
	keys := framework.StartLiveKey(t, cfg, keyRef)
	le := leaderElection{namespace: "default", leaseDuration: 3 * time.Second, renewDeadline: 2 * time.Second, retryPeriod: 200 * time.Millisecond}
	build := func() manager.Manager {
		t.Helper()
		elected, err := ctrl.NewManager(cfg, electedOptions(le, serving.GetCache(), clientOpts()))
		if err != nil {
			t.Fatal(err)
		}
		if err := controllers.Setup(ctx, elected, controllers.Config{Clock: clock.RealClock{}, Keys: keys, BaseURL: "http://links.test"}); err != nil {
			t.Fatalf("setting the reconcilers up on the shared cache: %v", err)
		}
		return elected
	}
	ns := framework.NewNamespace(t, k8s, "shared-")
	linkReady := func(name string) {
		t.Helper()
		l := framework.Link(ns, name, "evidence", nil)
		if err := k8s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !meta.IsStatusConditionTrue(l.Status.Conditions, filelinkv1.ConditionReady) {
			if time.Now().After(deadline) {
				t.Fatalf("link %s not Ready: %+v", name, l.Status)
			}
			time.Sleep(50 * time.Millisecond)
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(l), l); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, obj := range []client.Object{
		framework.Secret(ns, "docs", map[string][]byte{"evidence.pdf": []byte("%PDF")}),
		framework.FileFromSecret(ns, "evidence", filelinkv1.PurposeDisputeEvidence, "docs", "evidence.pdf"),
	} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	first := build()
	firstCtx, stopFirst := context.WithCancel(ctx)
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.Start(firstCtx) }()
	linkReady("first")

	links, err := first.GetCache().GetInformer(ctx, &filelinkv1.FileLink{})
	if err != nil {
		t.Fatal(err)
	}
	tracked, ok := links.(*trackedInformer)
	if !ok || tracked.SharedIndexInformer != servingLinks.(toolscache.SharedIndexInformer) {
		t.Fatalf("the elected manager's FileLink informer is %T, not the serving manager's", links)
	}
	shared := first.GetCache().(*sharedCache)
	if shared.handlerCount() == 0 {
		t.Fatal("the elected manager's controllers added no handlers through the shared cache")
	}

	// The lease is lost (here: the manager is stopped); its handlers leave with it.
	stopFirst()
	select {
	case err := <-firstDone:
		if err != nil {
			t.Fatalf("first elected manager: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("first elected manager did not stop")
	}
	if n := shared.handlerCount(); n != 0 {
		t.Errorf("%d handlers of the stopped manager remain on the shared informers", n)
	}

	second := build()
	go func() { _ = second.Start(ctx) }()
	linkReady("second")
}
