package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The soak's report: the checks, each replica's trends and minutes, the lease moves.

func (s *soak) markdown(ran time.Duration, final linkCheck) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d strings.Builder
	m := describeMachine()
	fmt.Fprintf(&d, "# Soak\n\n")
	fmt.Fprintf(&d, "Measured %s by `make soak` (`go run ./test/perf --soak-minutes ...`): load for %s.\n\n",
		s.start.UTC().Format("2006-01-02 15:04 MST"), ran.Round(time.Second))
	fmt.Fprintf(&d, "- machine: nproc %d (%s), memory %.1f GiB, Linux %s\n", m.cpus, m.cpuModel, mib(m.memTotal)/1024, m.kernel)
	fmt.Fprintf(&d, "- %s; kube-apiserver and etcd of Kubernetes %s (envtest)\n", runtime.Version(), framework.KubernetesVersion)
	fmt.Fprintf(&d, "- flags: %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&d, "- two manager processes with `--leader-elect` and otherwise default flags%s%s (lease 15 s, renew deadline 10 s, retry 0.5 s), webhooks off, metrics on plain HTTP on loopback, the audit log (when the manager has one) in a file per replica\n\n",
		extraNote(" plus ", s.b.cfg.managerArgs), extraNote(" and environment ", s.b.cfg.managerEnv))
	fmt.Fprintf(&d, "**Workload.** %d Files of 4 KiB; %d links created at the start live to the end; then %.3g links a second, "+
		"half expiring 20–80 s after creation and deleted 10–40 s after their expiry, half deleted while live 20–100 s after creation. "+
		"%d downloads a second alternate between the replicas: 8 in 10 of a live link (must answer 200 with the File's bytes), "+
		"1 in 10 of an expired link (410), 1 in 10 of a deleted one (404). A link counts as live, expired or deleted only %s after "+
		"the harness's own watch saw it Ready (or deleted it), and not within %s of its expiry or planned deletion.\n\n",
		s.cfg.files, s.cfg.initialLinks, s.cfg.linksPerSecond, s.cfg.downloadRate, soakGrace, soakGrace)
	fmt.Fprintf(&d, "**Lease moves.** Every %s the harness writes itself into the Lease as holder for %s, longer than the renew deadline "+
		"plus a retry period, without stopping any process. The leader's renewals then fail; at its renew deadline its reconcilers stop "+
		"(the process keeps serving and campaigns again, as after any lost lease), and the standby, which saw the harness's record first, "+
		"takes the lease when the hold ends: the lease changes hands, never two leaders at once, and both processes live through the whole "+
		"run, so their resources can be followed. (SIGTERM and a restart would also move the lease, but would start a new process each time, "+
		"and a leak could not build up.)\n\n", s.cfg.handoverEvery, s.cfg.leaseHold)
	fmt.Fprintf(&d, "**Trend test.** Each replica is sampled every %s: VmRSS and open descriptors (`/proc/PID/status`, `/proc/PID/fd`), "+
		"Go heap (`go_memstats_heap_alloc_bytes`) and goroutines (`go_goroutines`) from its metrics endpoint. The first %s are left out "+
		"(warm-up). A least-squares line is fitted through the rest, with a step for the samples taken while the replica led (a leader "+
		"runs the reconcilers: more goroutines and memory, and the lease moves every few samples, so without it leadership would be most of the noise); "+
		"a series trends upward beyond noise when its slope is positive "+
		"with 95%% confidence (slope − 2 standard errors > 0) **and** the line rises over the window by more than twice the standard "+
		"deviation of the samples around it and more than a floor (2 MiB for VmRSS and heap, 10 goroutines, 5 descriptors: smaller rises over a "+
		"run are within what one more keep-alive connection or a lease term's build leaves). A run shorter than about 10 minutes has too short a "+
		"window after the warm-up for the test to say much.\n\n", s.cfg.sampleEvery, s.cfg.warmupFor())

	d.WriteString("| check | result | target | met |\n|---|---|---|---|\n")
	var liveOK, liveWrong, otherOK, otherWrong int64
	var perReplica []string
	for _, r := range s.replicas {
		lo, lw := r.answers["live"].ok.Load(), r.answers["live"].wrong.Load()
		eo, ew := r.answers["expired"].ok.Load(), r.answers["expired"].wrong.Load()
		do, dw := r.answers["deleted"].ok.Load(), r.answers["deleted"].wrong.Load()
		liveOK, liveWrong = liveOK+lo, liveWrong+lw
		otherOK, otherWrong = otherOK+eo+do, otherWrong+ew+dw
		perReplica = append(perReplica, fmt.Sprintf("%s: live %d (%d failed), expired %d (%d wrong), deleted %d (%d wrong)", r.name, lo+lw, lw, eo+ew, ew, do+dw, dw))
	}
	fmt.Fprintf(&d, "| downloads of live links | %d, **%d failed**; %s | 0 failed | %s |\n", liveOK+liveWrong, liveWrong,
		strings.Join(perReplica, "; "), verdict(liveOK > 0, liveWrong == 0))
	fmt.Fprintf(&d, "| expired links answer 410, deleted ones 404 | %d of %d right | every one | %s |\n", otherOK, otherOK+otherWrong,
		verdict(otherOK+otherWrong > 0, otherWrong == 0))
	ledgerNote := "; the manager has no download ledger (no --download-ledger flag), so status.downloads was not checked"
	if s.ledger {
		ledgerNote = "; status.downloads of every present link equals the 200s the harness got from both replicas"
	}
	fmt.Fprintf(&d, "| final status of every link | %s%s | every one right | %s |\n", final.describe(), ledgerNote, verdict(final.created > 0, len(final.wrong) == 0 && final.neverReady == 0))
	fmt.Fprintf(&d, "| lease moves | %s | the lease changes hands every %s | %s |\n", describeHandovers(s.handovers), s.cfg.handoverEvery,
		verdict(len(s.handovers) > 0, handoversOK(s.handovers)))
	for _, r := range s.replicas {
		for _, t := range s.trends(r) {
			fmt.Fprintf(&d, "| %s %s | %s | no upward trend beyond noise | %s |\n", r.name, t.what, t.tr.describe(t.unit, t.scale),
				verdict(t.tr.n >= 3, !t.tr.rising(t.floor*t.scale)))
		}
	}
	if len(s.wrongs) > 0 {
		d.WriteString("\nFirst wrong answers:\n\n")
		for _, w := range s.wrongs {
			fmt.Fprintf(&d, "- %s\n", w)
		}
	}
	if len(final.wrong) > 0 {
		d.WriteString("\nLinks whose final status is wrong (first 20):\n\n")
		for _, w := range final.wrong[:min(20, len(final.wrong))] {
			fmt.Fprintf(&d, "- %s\n", w)
		}
	}

	d.WriteString("\n## Per minute\n\nMeans of each minute's samples; \"leader\" is the share of them taken while the replica held the lease.\n")
	for _, r := range s.replicas {
		fmt.Fprintf(&d, "\n### %s\n\n| minute | VmRSS MiB | Go heap MiB | goroutines | open fds | leader |\n|---|---|---|---|---|---|\n", r.name)
		for _, row := range perMinute(r.samples, s.start) {
			fmt.Fprintf(&d, "| %d | %.1f | %.1f | %.0f | %.0f | %.0f%% |\n", row.minute, row.rss, row.heap, row.goroutines, row.fds, 100*row.leader)
		}
	}
	d.WriteString("\n## Lease moves\n\n")
	for _, h := range s.handovers {
		if h.err != nil {
			fmt.Fprintf(&d, "- +%.0f s: %s\n", h.at.Sub(s.start).Seconds(), oneLine(h.err.Error()))
			continue
		}
		fmt.Fprintf(&d, "- +%.0f s: %s → %s, new holder %.1f s after the harness took the lease\n", h.at.Sub(s.start).Seconds(), h.from, h.to, h.took.Seconds())
	}
	return d.String()
}

func (c linkCheck) describe() string {
	slices.Sort(c.readyLatencies)
	s := fmt.Sprintf("%d links created: %d deleted (gone), %d expired (Ready reason Expired), %d live (Ready reason Active)", c.created, c.deleted, c.expired, c.kept)
	if len(c.readyLatencies) > 0 {
		s += fmt.Sprintf("; created → seen Ready p50 %s, p99 %s, max %s (lease moves leave seconds without a reconciler)",
			fmtDur(percentile(c.readyLatencies, 50)), fmtDur(percentile(c.readyLatencies, 99)), fmtDur(c.readyLatencies[len(c.readyLatencies)-1]))
	}
	if c.neverReady > 0 {
		s += fmt.Sprintf("; **%d never seen Ready**", c.neverReady)
	}
	return s + fmt.Sprintf("; **%d wrong**", len(c.wrong))
}

func describeHandovers(hs []handover) string {
	var took []time.Duration
	var failed, same int
	for _, h := range hs {
		switch {
		case h.err != nil:
			failed++
		case h.to == h.from:
			same++
		default:
			took = append(took, h.took)
		}
	}
	slices.Sort(took)
	s := fmt.Sprintf("%d moves: %d changed hands", len(hs), len(took))
	if len(took) > 0 {
		s += fmt.Sprintf(" (new holder p50 %s, max %s after the harness took the lease)", fmtDur(percentile(took, 50)), fmtDur(took[len(took)-1]))
	}
	if same > 0 {
		s += fmt.Sprintf(", %d went back to the same replica", same)
	}
	if failed > 0 {
		s += fmt.Sprintf(", %d failed", failed)
	}
	return s
}

func handoversOK(hs []handover) bool {
	for _, h := range hs {
		if h.err != nil || h.to == h.from {
			return false
		}
	}
	return true
}

type seriesTrend struct {
	what, unit   string
	scale, floor float64 // floor in unit
	tr           trend
}

// trends fits a line through each resource of r after the warm-up.
func (s *soak) trends(r *soakReplica) []seriesTrend {
	from := s.start.Add(s.cfg.warmupFor())
	var x, lead, rss, heap, gor, fds []float64
	for _, p := range r.samples {
		if p.at.Before(from) {
			continue
		}
		x = append(x, p.at.Sub(s.start).Minutes())
		l := 0.0
		if p.leader {
			l = 1
		}
		lead = append(lead, l)
		rss = append(rss, float64(p.rss))
		heap = append(heap, p.heap)
		gor = append(gor, p.goroutines)
		fds = append(fds, float64(p.fds))
	}
	return []seriesTrend{
		{"VmRSS", "MiB", 1 << 20, 2, fitTrendLeading(x, rss, lead)},
		{"Go heap", "MiB", 1 << 20, 2, fitTrendLeading(x, heap, lead)},
		{"goroutines", "goroutines", 1, 10, fitTrendLeading(x, gor, lead)},
		{"open descriptors", "fds", 1, 5, fitTrendLeading(x, fds, lead)},
	}
}

type minuteRow struct {
	minute                             int
	rss, heap, goroutines, fds, leader float64
}

func perMinute(samples []resourceSample, start time.Time) []minuteRow {
	var out []minuteRow
	var n float64
	flush := func() {
		if n > 0 {
			r := &out[len(out)-1]
			r.rss, r.heap, r.goroutines, r.fds, r.leader = r.rss/n, r.heap/n, r.goroutines/n, r.fds/n, r.leader/n
		}
		n = 0
	}
	for _, p := range samples {
		m := int(p.at.Sub(start) / time.Minute)
		if p.at.Before(start) {
			m = -1
		}
		if len(out) == 0 || out[len(out)-1].minute != m {
			flush()
			out = append(out, minuteRow{minute: m})
		}
		r := &out[len(out)-1]
		r.rss += mib(p.rss)
		r.heap += p.heap / (1 << 20)
		r.goroutines += p.goroutines
		r.fds += float64(p.fds)
		if p.leader {
			r.leader++
		}
		n++
	}
	flush()
	return out
}
