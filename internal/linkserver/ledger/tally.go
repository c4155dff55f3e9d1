package ledger

import (
	"context"
	"errors"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// pending is what one replica has served of one link and not yet written.
type pending struct {
	downloads int64
	last      time.Time
}

// tally holds the pending counts of links without a limit.
type tally struct {
	mu      sync.Mutex
	pending map[key]*pending
}

// Count records one download of the link namespace/name with uid, begun at at, for the
// next flush. It never waits on the API server.
func (l *Ledger) Count(namespace, name string, uid types.UID, at time.Time) {
	// The metric counts with the ledger off too: it costs no API call.
	l.metrics.downloaded(namespace, false)
	if l.cfg.Uncounted {
		return
	}
	k := key{types.NamespacedName{Namespace: namespace, Name: name}, uid}
	l.tally.mu.Lock()
	p := l.tally.pending[k]
	if p == nil {
		p = &pending{}
		l.tally.pending[k] = p
	}
	p.downloads++
	if at.After(p.last) {
		p.last = at
	}
	l.tally.mu.Unlock()
	l.metrics.pendingAdd(1)
}

// take empties the tally and returns what it held.
func (t *tally) take() map[key]*pending {
	t.mu.Lock()
	defer t.mu.Unlock()
	taken := t.pending
	t.pending = make(map[key]*pending, len(taken))
	return taken
}

// giveBack returns counts a flush could not write to the tally, for the next flush.
func (t *tally) giveBack(k key, p *pending) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.pending[k]
	if q == nil {
		t.pending[k] = p
		return
	}
	q.downloads += p.downloads
	if p.last.After(q.last) {
		q.last = p.last
	}
}

// flushWorkers write the counts of different links at once: one link's write waits on
// the API server, not on the links before it.
const flushWorkers = 8

// maxAttempts bounds the races one flush of one link may lose before leaving its count
// for the next flush.
const maxAttempts = 5

// Run writes pending counts every FlushInterval until ctx ends, then once more within
// a few seconds, so a replica that stops (a rolling update) loses nothing it counted.
func (l *Ledger) Run(ctx context.Context) {
	t := l.cfg.Clock.NewTicker(l.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			l.Flush(final)
			return
		case <-t.C():
			l.Flush(ctx)
		}
	}
}

// Flush writes every pending count now; what cannot be written stays pending.
func (l *Ledger) Flush(ctx context.Context) {
	taken := l.tally.take()
	if len(taken) == 0 {
		return
	}
	work := make(chan key)
	var wg sync.WaitGroup
	for range min(flushWorkers, len(taken)) {
		wg.Go(func() {
			for k := range work {
				l.flushOne(ctx, k, taken[k])
			}
		})
	}
	for k := range taken {
		work <- k
	}
	close(work)
	wg.Wait()
}

// flushOne adds p to k's stored count, or gives it back when the API server cannot be
// reached; a link that is gone takes its count with it.
func (l *Ledger) flushOne(ctx context.Context, k key, p *pending) {
	from, err := l.cached(ctx, k)
	for attempt := 0; err == nil && attempt < maxAttempts; attempt++ {
		if _, err = l.write(ctx, from, p.downloads, p.last); err == nil {
			l.metrics.pendingAdd(-p.downloads)
			return
		}
		if !apierrors.IsConflict(err) {
			break
		}
		from, err = l.live(ctx, k)
	}
	if apierrors.IsNotFound(err) || errors.Is(err, ErrGone) {
		l.metrics.pendingAdd(-p.downloads)
		return
	}
	if err != nil {
		l.cfg.Log.V(1).Info("download count not written; kept for the next flush", "fileLink", k.NamespacedName, "downloads", p.downloads, "error", err.Error())
		l.metrics.writeFailed()
	}
	l.tally.giveBack(k, p)
}
