package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/procfs"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// memorySettle is how long the manager idles before its RSS is read: long enough for
// the bulk reconcile's garbage to be collected and for the Go runtime to start handing
// freed pages back, as it would in steady state.
const memorySettle = 10 * time.Second

// measureMemory reads the manager's resident memory with every File and FileLink of the
// earlier rows Ready (--memory-n of each by default).
func (b *bench) measureMemory(ctx context.Context) error {
	pid := b.mgr.PID()
	if pid == 0 {
		return errors.New("manager not running")
	}
	b.logf("memory: creating %d unrelated Secrets of 10 KiB, applied client-side", b.cfg.unrelated)
	if err := createUnrelatedSecrets(ctx, b, b.cfg.unrelated); err != nil {
		return err
	}
	if _, err := b.mgr.WaitQuiet(ctx, 3*time.Minute); err != nil {
		return err
	}
	b.logf("memory: letting the manager idle for %s", memorySettle)
	var peakSample int64
	deadline := time.Now().Add(memorySettle)
	for time.Now().Before(deadline) {
		if rss, _, err := memoryBytes(pid); err == nil {
			peakSample = max(peakSample, rss)
		}
		if err := framework.Sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	rss, hwm, err := memoryBytes(pid)
	if err != nil {
		return err
	}
	count := b.readyPairs()
	b.measured.rss, b.measured.pairs = rss, count
	b.logf("memory: VmRSS %.1f MiB (peak %.1f MiB)", mib(rss), mib(hwm))
	b.rep.note(fmt.Sprintf("memory: VmRSS %.1f MiB after the manager went quiet and idled %s (highest sample while idle %.1f MiB); VmHWM, the peak since this manager process started, %.1f MiB; %s; %s",
		mib(rss), memorySettle, mib(peakSample), mib(hwm), rssParts(pid), memfdBodies(pid)))
	// Only after RSS was read: the profile forces a collection.
	if b.profiling() {
		stats, err := b.captureHeap(ctx, "memory")
		if err != nil {
			return err
		}
		b.logf("memory: %s", stats)
		b.rep.note("memory: " + stats.String())
	}
	b.rep.set(row{
		id: "4",
		what: fmt.Sprintf("Manager memory: %d Files + %d FileLinks, all Ready, plus %d unrelated 10 KiB Secrets applied client-side",
			count, count, b.cfg.unrelated),
		result: fmt.Sprintf("VmRSS **%.1f MiB** (peak VmHWM %.1f MiB)", mib(rss), mib(hwm)),
		target: "≤ 150 MiB RSS",
		status: verdict(true, mib(rss) <= 150),
	})
	return nil
}

// rssParts splits resident memory into anonymous pages (the Go heap, stacks, runtime
// metadata) and pages mapped from files (the binary's code and read-only data, counted
// in VmRSS although the kernel can drop them at any time).
func rssParts(pid int) string {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return "no RssAnon/RssFile"
	}
	st, err := p.NewStatus()
	if err != nil {
		return "no RssAnon/RssFile"
	}
	return fmt.Sprintf("of VmRSS, anonymous memory (RssAnon) %.1f MiB, file-backed pages (RssFile, mostly the binary) %.1f MiB",
		mib(int64(st.RssAnon)), mib(int64(st.RssFile)))
}

// memfdBodies counts the cached bodies the manager keeps in memory files (content's
// memfd blobs). Their pages are shared memory that VmRSS leaves out, since the process
// maps none of them, yet a container's memory cgroup charges them: at least one 4 KiB
// page per body, whatever its size.
func memfdBodies(pid int) string {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return "memory files not counted"
	}
	targets, err := p.FileDescriptorTargets()
	if err != nil {
		return "memory files not counted"
	}
	n := 0
	for _, t := range targets {
		if strings.HasPrefix(t, "/memfd:filelink-body") {
			n++
		}
	}
	return fmt.Sprintf("outside VmRSS, %d bodies in memory files (memfd, at least %.1f MiB of pages a memory cgroup charges) among %d open descriptors",
		n, mib(int64(n)*4096), len(targets))
}
