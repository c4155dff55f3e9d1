package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// restartPollers bounds the harness's polling, which shares the CPUs with the manager
// it is timing.
const restartPollers = 16

// restartProfileSeconds covers, with --profile-dir, the start, the first answers and
// the re-reconciling after them.
const restartProfileSeconds = 10

// measureRestart stops the manager and starts it again, then polls a random sample of
// the existing links until every one has answered 200: the time until a restarted
// replica serves what it served before.
func (b *bench) measureRestart(ctx context.Context) error {
	urls := b.tracker.urls(nsReconcile, nsEndToEnd, nsExtra)
	if len(urls) == 0 {
		return fmt.Errorf("no Ready links to sample")
	}
	rand.Shuffle(len(urls), func(i, j int) { urls[i], urls[j] = urls[j], urls[i] })
	sample := urls[:min(b.cfg.restartSample, len(urls))]

	ph := b.beginPhase(ctx, "restart (stop, start, serve the sample, go quiet)")
	b.logf("restart: stopping the manager")
	stopStart := time.Now()
	if err := b.mgr.Stop(30 * time.Second); err != nil {
		return err
	}
	stopped := time.Since(stopStart)

	b.logf("restart: starting it and polling %d links until each answers 200", len(sample))
	start := time.Now()
	if err := b.mgr.Launch(); err != nil {
		return err
	}
	profiled := b.captureCPU(ctx, "restart", restartProfileSeconds)
	p := newPoller(sample)
	if err := p.run(ctx, 2*time.Minute, b.mgr.Exited); err != nil {
		return err
	}
	elapsed := p.last.Sub(start)
	b.logf("restart: all %d answered 200 after %.2f s; waiting for the manager to go quiet", len(sample), elapsed.Seconds())
	if _, err := b.mgr.WaitQuiet(ctx, 3*time.Minute); err != nil {
		return err
	}
	busyFor := time.Since(start) - time.Second // less the quiet second that ended the wait
	// What the start's burst (the informers' initial lists, a reconcile of everything)
	// leaves resident, against the memory row's figure for a manager that grew slowly.
	rss, hwm, rssErr := memoryBytes(b.mgr.PID())
	ph.end(ctx)
	if err := profiled(); err != nil {
		return err
	}
	b.rep.note(fmt.Sprintf("restart: the manager stopped in %.2f s after SIGTERM; after the new start its link server accepted connections at %.2f s, answered its first 200 at %.2f s and the last of %d sampled links at %.2f s; the manager stayed busy (re-reconciling what it found) until about %.0f s after the start",
		stopped.Seconds(), p.listening().Sub(start).Seconds(), p.first.Sub(start).Seconds(), len(sample), elapsed.Seconds(), busyFor.Seconds()))
	if rssErr == nil {
		b.rep.note(fmt.Sprintf("restart: once quiet, the restarted manager's VmRSS was %.1f MiB, its peak (VmHWM) %.1f MiB", mib(rss), mib(hwm)))
	}
	b.measured.restart, b.measured.pairs = elapsed, len(urls)
	b.rep.set(row{
		id:     "5",
		what:   fmt.Sprintf("Restart: manager start → %d random links of %d all answer 200", len(sample), len(urls)),
		result: fmt.Sprintf("**%.2f s**", elapsed.Seconds()),
		target: "≤ 5 s",
		status: verdict(true, elapsed <= 5*time.Second),
	})
	return nil
}

// poller requests each URL until it has answered 200 once, and records when the
// server first answered anything, when it first answered 200, and when the last URL
// did.
type poller struct {
	urls   []string
	client *http.Client

	mu          sync.Mutex
	answeredAt  time.Time
	first, last time.Time
	pending     atomic.Int64
}

func newPoller(urls []string) *poller {
	tr := &http.Transport{MaxIdleConnsPerHost: restartPollers, DisableCompression: true}
	p := &poller{urls: urls, client: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
	p.pending.Store(int64(len(urls)))
	return p
}

func (p *poller) run(ctx context.Context, timeout time.Duration, alive func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer p.client.CloseIdleConnections()
	var wg sync.WaitGroup
	for w := range restartPollers {
		wg.Go(func() {
			var mine []string
			for i := w; i < len(p.urls); i += restartPollers {
				mine = append(mine, p.urls[i])
			}
			p.pollAll(ctx, mine, alive)
		})
	}
	wg.Wait()
	if n := p.pending.Load(); n > 0 {
		return fmt.Errorf("%d of %d links had not answered 200 after %s", n, len(p.urls), timeout)
	}
	return nil
}

// pollAll goes over urls in rounds, dropping each once it answers 200, with a short
// pause between rounds so a server still starting is not flooded. A round ends at the
// first connection that fails: until the server listens, trying the rest of the round
// would only spin on refused connections, taking CPU from the manager being timed.
func (p *poller) pollAll(ctx context.Context, urls []string, alive func() error) {
	for len(urls) > 0 && ctx.Err() == nil {
		var left []string
		for i, u := range urls {
			ok, answered := p.get(ctx, u)
			if !answered {
				left = append(left, urls[i:]...)
				break
			}
			if !ok {
				left = append(left, u)
			}
		}
		urls = left
		if len(urls) > 0 {
			if alive() != nil || framework.Sleep(ctx, 10*time.Millisecond) != nil {
				return
			}
		}
	}
}

// get requests url once and reports whether it answered 200, and whether the server
// answered at all.
func (p *poller) get(ctx context.Context, url string) (ok, answered bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, false
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return false, false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.answeredAt.IsZero() {
		p.answeredAt = now
	}
	if resp.StatusCode != http.StatusOK {
		return false, true
	}
	if p.first.IsZero() {
		p.first = now
	}
	p.last = now
	p.pending.Add(-1)
	return true, true
}

func (p *poller) listening() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.answeredAt
}
