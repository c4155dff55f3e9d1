package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/filelink-dev/filelink-operator/controllers"
)

// leaderElectionID names the Lease the replicas campaign for.
const leaderElectionID = "filelink-operator.filelink.dev"

// elected is the part of the process that reconciles: with leader election on the
// replica holding the lease alone, without it at once. It is a runnable of the serving
// manager, started once that manager's cache has synced and stopped before it.
//
// controller-runtime's manager returns for good when it loses its lease (its controllers
// cannot be started twice), and exiting the process with it would take down the link
// server, which must keep serving from its caches through an API outage (SPEC §5, §11).
// So the reconcilers run in managers of their own, one per term: each is built, runs
// until its lease is lost, and is replaced by a new one that campaigns again and catches
// up once it leads. A term ends with everything its build subscribed to: handlers on
// the shared informers (sharedCache) and whatever took the term's context (the key
// subscription of the FileLink controller), so terms leave nothing behind.
type elected struct {
	log logr.Logger
	// newManager builds the manager of one term with the reconcilers set up; ctx is the
	// term's, done when that manager has stopped.
	newManager func(ctx context.Context) (manager.Manager, error)
	// restartDelay is how long a lost term waits before the next is built, so that a
	// manager failing at once does not spin.
	restartDelay time.Duration
}

// newElected returns the elected part, reading through serving's cache and campaigning
// for the lease when lease is not nil.
func newElected(cfg *rest.Config, serving manager.Manager, lease *LeaderElection, reconcilers controllers.Config) *elected {
	newCache := newCacheSharing(serving.GetCache())
	return &elected{
		log:          ctrl.Log.WithName("reconcilers"),
		restartDelay: time.Second,
		newManager: func(ctx context.Context) (manager.Manager, error) {
			mgr, err := ctrl.NewManager(cfg, electedOptions(serving, newCache, lease))
			if err != nil {
				return nil, err
			}
			if err := controllers.Setup(ctx, mgr, reconcilers); err != nil {
				return nil, err
			}
			return mgr, nil
		},
	}
}

// NeedLeaderElection is false: the serving manager never campaigns; the elected part
// campaigns itself, term by term.
func (e *elected) NeedLeaderElection() bool { return false }

// Start runs terms until ctx ends. An error building a term's manager is a
// configuration error and ends the process; a term that stops (a lost lease, a
// controller that failed) is followed by another.
func (e *elected) Start(ctx context.Context) error {
	for {
		term, end := context.WithCancel(ctx)
		mgr, err := e.newManager(term)
		if err != nil {
			end()
			return fmt.Errorf("creating the reconcilers' manager: %w", err)
		}
		err = mgr.Start(term)
		end()
		if ctx.Err() != nil {
			return nil
		}
		e.log.Error(err, "reconcilers stopped; starting them again (campaigning for the lease with leader election)", "after", e.restartDelay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(e.restartDelay):
		}
	}
}

// electedOptions are the options of a term's manager. It reads through the serving
// manager's cache (sharedCache) and REST mapper rather than its own, which would hold
// every cached object a second time and discover the API anew on every term. newCache
// is newCacheSharing of serving's cache, made once for every term.
func electedOptions(serving manager.Manager, newCache cache.NewCacheFunc, lease *LeaderElection) ctrl.Options {
	o := ctrl.Options{
		Scheme: scheme,
		// Probes, metrics and webhooks are served by the serving manager; controller
		// metrics land in the same process-wide registry.
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Client:                 clientOptions(),
		NewCache:               newCache,
		MapperProvider: func(*rest.Config, *http.Client) (meta.RESTMapper, error) {
			return serving.GetRESTMapper(), nil
		},
		// The controllers are registered anew each term; their names are unique within
		// each of these managers.
		Controller: config.Controller{SkipNameValidation: new(true)},
	}
	if lease != nil {
		o.LeaderElection = true
		o.LeaderElectionID = leaderElectionID
		o.LeaderElectionNamespace = lease.Namespace
		o.LeaseDuration = &lease.LeaseDuration
		o.RenewDeadline = &lease.RenewDeadline
		o.RetryPeriod = &lease.RetryPeriod
		// A replica stopping gracefully hands over at once, so a rolling update leaves
		// no gap without a reconciler (SPEC §6).
		o.LeaderElectionReleaseOnCancel = true
	}
	return o
}
