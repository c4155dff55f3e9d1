package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// leaderElection are the lease timings (flags; by default 15 s, 10 s and 0.5 s).
type leaderElection struct {
	namespace                                 string
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

// checkLeaderElection refuses timings the leader elector would reject only at start, or
// with which a leader could never keep its lease.
func checkLeaderElection(le leaderElection) error {
	switch {
	case le.leaseDuration <= 0 || le.renewDeadline <= 0 || le.retryPeriod <= 0:
		return fmt.Errorf("--leader-election-lease-duration=%s, --leader-election-renew-deadline=%s, --leader-election-retry-period=%s: each must be positive", le.leaseDuration, le.renewDeadline, le.retryPeriod)
	case le.renewDeadline >= le.leaseDuration:
		return fmt.Errorf("--leader-election-renew-deadline=%s: must be shorter than --leader-election-lease-duration=%s", le.renewDeadline, le.leaseDuration)
	case le.retryPeriod >= le.renewDeadline:
		return fmt.Errorf("--leader-election-retry-period=%s: must be shorter than --leader-election-renew-deadline=%s", le.retryPeriod, le.renewDeadline)
	}
	return nil
}

// restartDelay is how long runElected waits before it builds the reconcilers again, so
// that a manager failing at once does not spin.
const restartDelay = time.Second

// runElected runs the leader-elected reconcilers until ctx ends. controller-runtime's
// manager returns for good when it loses its lease (its controllers cannot be started
// twice), and exiting the process with it would take down the link server, which must
// keep serving from its caches through an API outage (SPEC §5, §11). So only this part
// stops: a new manager is built and campaigns again, and catches up once it leads.
// An error building the manager is a configuration error and ends the loop.
func runElected(ctx context.Context, log logr.Logger, build func() (manager.Manager, error)) error {
	for {
		mgr, err := build()
		if err != nil {
			return fmt.Errorf("creating the reconcilers' manager: %w", err)
		}
		err = mgr.Start(ctx)
		if ctx.Err() != nil {
			return nil
		}
		log.Error(err, "reconcilers stopped; campaigning for the lease again", "after", restartDelay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(restartDelay):
		}
	}
}

// runTogether runs each function until ctx ends or one of them fails, then stops the
// others and waits for them, so the process exits only with everything stopped.
func runTogether(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() {
			err := fn(ctx)
			cancel()
			errs <- err
		}()
	}
	var all []error
	for range fns {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}
