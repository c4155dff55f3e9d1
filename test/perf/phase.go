package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// phase records where a measurement's time went: the CPU each process used and the
// requests the API server answered. On two cores the control plane, the manager and the
// harness compete, so this is what explains a rate.
type phase struct {
	b           *bench
	name        string
	start       time.Time
	cpu         map[string]time.Duration
	busy, steal time.Duration
	api         metricSnapshot
	managerPID  int
	// requests is what the API server counted during the phase, once it ended.
	requests metricSnapshot
}

func (b *bench) beginPhase(ctx context.Context, name string) *phase {
	p := &phase{b: b, name: name, start: time.Now(), cpu: b.cpuTimes(), managerPID: b.mgr.PID()}
	p.busy, p.steal = machineCPU()
	p.api, _ = scrapeAPIServer(ctx, b.clients.kube)
	return p
}

// end adds the phase's summary to the report's notes.
func (p *phase) end(ctx context.Context) {
	wall := time.Since(p.start)
	after := p.b.cpuTimes()
	if p.b.mgr.PID() != p.managerPID {
		// Restarted during the phase: the old process's time is gone with it.
		delete(p.cpu, "manager")
	}
	busy, steal := machineCPU()
	var procs []string
	others := busy - p.busy
	for name, t := range after {
		procs = append(procs, fmt.Sprintf("%s %.1f", name, (t-p.cpu[name]).Seconds()))
		others -= t - p.cpu[name]
	}
	sort.Strings(procs)
	// Other work on the machine (another test suite, the kernel's own threads) takes
	// CPU from the measurement; steal is CPU the hypervisor gave to other machines.
	procs = append(procs, fmt.Sprintf("everything else %.1f", max(0, others.Seconds())), fmt.Sprintf("steal %.1f", (steal-p.steal).Seconds()))
	s := fmt.Sprintf("%s: wall %.1f s; CPU seconds (of %.1f available): %s", p.name, wall.Seconds(),
		wall.Seconds()*float64(nproc()), strings.Join(procs, ", "))
	if now, err := scrapeAPIServer(ctx, p.b.clients.kube); err == nil && p.api != nil {
		d := now.since(p.api)
		p.requests = d
		s += fmt.Sprintf("; API requests: %s; APF %s", describeRequests(d, 50), describeAPF(d))
	}
	p.b.rep.note(s)
}

// cpuTimes reads the CPU time of every process taking part. A process that was not
// running at the start of a phase counts from zero.
func (b *bench) cpuTimes() map[string]time.Duration {
	pids := map[string]int{"bench": os.Getpid(), "kube-apiserver": b.apiserverPID, "etcd": b.etcdPID}
	if pid := b.mgr.PID(); pid != 0 {
		pids["manager"] = pid
	}
	out := map[string]time.Duration{}
	for name, pid := range pids {
		if pid == 0 {
			continue
		}
		if t, err := framework.CPUTime(pid); err == nil {
			out[name] = t
		}
	}
	for name, pid := range b.serverPIDs {
		out[name] = treeCPUTime(pid)
	}
	return out
}
