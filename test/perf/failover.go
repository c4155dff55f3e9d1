package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// leaseFlags are the manager's leader election flags for a lease of d, with the renew
// deadline and retry period in the manager's default proportions (15 s, 10 s, 0.5 s).
func leaseFlags(d time.Duration) []string {
	return []string{
		"--leader-elect",
		"--leader-election-lease-duration=" + d.String(),
		"--leader-election-renew-deadline=" + (d * 2 / 3).String(),
		"--leader-election-retry-period=" + (d / 30).String(),
	}
}

// measureFailover runs two leader-electing replicas, SIGKILLs the leader and times
// until the other has made a link created right after the kill Ready, while a client
// downloads from the surviving replica the whole time (SPEC §9, §11).
func (b *bench) measureFailover(ctx context.Context) error {
	// The bench's own manager does not campaign; running, it would reconcile too.
	if err := b.mgr.Stop(30 * time.Second); err != nil {
		return err
	}
	lease := b.cfg.failoverLease
	replicas := make([]*framework.Manager, 2)
	for i := range replicas {
		mcfg, err := b.cluster.ManagerConfig(b.cfg.manager, filepath.Join(b.tmp, fmt.Sprintf("replica-%d.log", i)))
		if err != nil {
			return err
		}
		mcfg.MetricsAddr = "0"
		// Replicas behind one Service issue URLs under one public base. Another base
		// would rewrite every existing link's status.url when a replica takes the lease,
		// and the new link would wait behind thousands of such writes.
		mcfg.LinkBaseURL = b.mgr.LinkBaseURL
		if mcfg.LinkBaseURL == "" {
			mcfg.LinkBaseURL = "http://" + b.mgr.LinkAddr
		}
		mcfg.Args = append(splitArgs(b.cfg.managerArgs), leaseFlags(lease)...)
		mcfg.Env = splitArgs(b.cfg.managerEnv)
		replicas[i] = framework.NewManager(mcfg)
		defer func(m *framework.Manager) { _ = m.Stop(30 * time.Second) }(replicas[i])
	}
	leader, survivor := replicas[0], replicas[1]
	// The first replica takes the lease before the second starts, so which one to
	// kill is known.
	if err := leader.Start(ctx); err != nil {
		return err
	}
	if err := framework.Poll(ctx, 50*time.Millisecond, leader.Exited, func(context.Context) (bool, error) {
		return leader.LogContains("Successfully acquired lease"), nil
	}); err != nil {
		return fmt.Errorf("first replica never led: %w", err)
	}
	if err := survivor.Start(ctx); err != nil {
		return err
	}

	c := b.clients.ctrl
	if err := create(ctx, c, newSecret(nsFailover, 0, smallContent(nsFailover, 0))); err != nil {
		return err
	}
	if err := createFilesAndLinks(ctx, c, 1, nsFailover, 1); err != nil {
		return err
	}
	if _, err := b.tracker.waitReady(ctx, nsFailover, 1, time.Minute, leader.Exited); err != nil {
		return err
	}
	urls := b.tracker.urls(nsFailover)
	url := "http://" + survivor.LinkAddr + urls[0][strings.Index(urls[0], "/links/"):]

	ph := b.beginPhase(ctx, "failover (SIGKILL the leader, the other reconciles a new link)")
	dl := startDownloads(ctx, url)
	b.logf("failover: SIGKILL to the leader, then one new link")
	leader.Kill()
	killed := time.Now()
	if err := create(ctx, c, newLink(nsFailover, 1, 0, nil)); err != nil {
		_, _, _ = dl.stop()
		return err
	}
	readyAt, err := b.tracker.waitReady(ctx, nsFailover, 2, lease+time.Minute, survivor.Exited)
	// A second more of downloads after the take-over, so its aftermath counts too.
	_ = framework.Sleep(ctx, time.Second)
	ok, failed, firstErr := dl.stop()
	ph.end(ctx)
	if err != nil {
		return err
	}
	took := readyAt.Sub(killed)
	target := lease + time.Second
	b.logf("failover: new link Ready %.2f s after the SIGKILL; %d downloads from the survivor, %d failed", took.Seconds(), ok, failed)
	note := fmt.Sprintf("failover: two replicas with --leader-election-lease-duration=%s; the new link was Ready %.2f s after SIGKILL of the leader; the surviving replica answered %d downloads meanwhile, %d failed", lease, took.Seconds(), ok+failed, failed)
	if firstErr != nil {
		note += fmt.Sprintf(" (first: %v)", firstErr)
	}
	b.rep.note(note)
	b.rep.set(row{
		id:     "6",
		what:   fmt.Sprintf("Failover: leader SIGKILLed → new link Ready (lease %s); failed downloads on the survivor", lease),
		result: fmt.Sprintf("**%.2f s**, %d of %d failed", took.Seconds(), failed, ok+failed),
		target: fmt.Sprintf("≤ lease + 1 s (%s); 0 failed", target),
		status: verdict(true, took <= target && failed == 0 && ok > 0),
	})
	return nil
}

// downloads fetches one URL in a loop, counting answers that are not 200.
type downloads struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   error
	done       chan struct{}
	wg         sync.WaitGroup
}

func startDownloads(ctx context.Context, url string) *downloads {
	d := &downloads{done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	d.wg.Go(func() {
		for {
			select {
			case <-d.done:
				return
			case <-ctx.Done():
				return
			default:
			}
			if err := getOK(ctx, client, url); err != nil {
				d.failed.Add(1)
				d.mu.Lock()
				if d.firstErr == nil {
					d.firstErr = err
				}
				d.mu.Unlock()
				continue
			}
			d.ok.Add(1)
		}
	})
	return d
}

// getOK fetches url whole and fails unless it answers 200.
func getOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (d *downloads) stop() (ok, failed int64, firstErr error) {
	close(d.done)
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ok.Load(), d.failed.Load(), d.firstErr
}
