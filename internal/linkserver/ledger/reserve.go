package ledger

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// Reserve counts one download of link before it is served, link being the version the
// request was decided on (the informer's; it is only read). nil means the download is
// this caller's to serve; ErrLimitReached and ErrGone that it must not be served;
// ErrUnavailable that it could not be reserved in time and may be retried.
//
// The reservations of one link on one replica queue behind each other, so they do not
// race among themselves; the race with other replicas is settled by the API server,
// each write landing only on the version it read.
func (l *Ledger) Reserve(ctx context.Context, link *filelinkv1.FileLink) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.ReserveTimeout)
	defer cancel()
	from := countOf(link)
	unlock, err := l.locks.lock(ctx, from.UID)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer unlock()
	// This replica's own last write is newer than the informer's copy until the watch
	// brings it; starting from it saves a lost race per download.
	if mine, ok := l.recent.get(from.key); ok {
		from = newer(from, mine)
	}
	for {
		if from.limitReached() {
			return ErrLimitReached
		}
		now := l.cfg.Clock.Now()
		stored, err := l.write(ctx, from, 1, now)
		switch {
		case err == nil:
			l.recent.put(stored)
			l.metrics.downloaded(stored.Namespace, stored.limitReached())
			return nil
		case apierrors.IsNotFound(err):
			return ErrGone
		case !apierrors.IsConflict(err):
			return unavailable(err)
		}
		// Another replica (or the reconciler, or a spec change) wrote first: decide
		// again on what is stored now.
		if from, err = l.live(ctx, from.key); err != nil {
			if apierrors.IsNotFound(err) {
				return ErrGone
			}
			return unavailable(err)
		}
	}
}

func unavailable(err error) error {
	if errors.Is(err, ErrGone) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// stripedLock queues the reservations of one link: a fixed set of one-slot channels,
// which, unlike mutexes, a waiter leaves when its request's time is up.
type stripedLock struct {
	seed    maphash.Seed
	stripes [256]chan struct{}
}

func (s *stripedLock) init() {
	s.seed = maphash.MakeSeed()
	for i := range s.stripes {
		s.stripes[i] = make(chan struct{}, 1)
	}
}

func (s *stripedLock) lock(ctx context.Context, uid types.UID) (func(), error) {
	ch := s.stripes[maphash.String(s.seed, string(uid))%uint64(len(s.stripes))]
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// recentWrites remembers the count each reservation stored, until the informer has it.
// It is bounded: past maxRecent links it starts again empty, which costs at most one
// lost race per link.
type recentWrites struct {
	mu     sync.Mutex
	counts map[key]count
}

const maxRecent = 4096

func (r *recentWrites) init() { r.counts = map[key]count{} }

func (r *recentWrites) get(k key) (count, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.counts[k]
	return c, ok
}

func (r *recentWrites) put(c count) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.counts) >= maxRecent {
		clear(r.counts)
	}
	r.counts[c.key] = c
}
