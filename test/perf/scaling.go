package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The scaling curve (SPEC §9, `make bench-scale`): rows 1a, 2, 4 and 5 measured at
// several sizes, each on a control plane and a manager of its own, so that no size
// inherits another's objects, events or caches. At size N:
//
//   - 1a: N Files + N FileLinks exist before the manager starts; its reconcile rate
//     against a bare client making the same requests on N objects, same control plane;
//   - 4: the manager's RSS with those N pairs Ready plus N unrelated 10 KiB Secrets
//     applied client-side;
//   - 5: restart until a sample of the N links all answer 200;
//   - 2: with the N pairs in place (never expiring), --scale-expiry-n more links (5,000
//     by default, SPEC's burst) to 10 Files expire within one minute; what grows is the
//     population around the burst, not the burst.
//
// Costs per 1,000 pairs are taken between consecutive sizes and above the smallest
// size (SPEC: the 1,000-pair figure).

// scalePoint is one size's numbers.
type scalePoint struct {
	pairs   int
	m       measurements
	rows    map[string]row
	notes   []string
	err     error
	elapsed time.Duration
	profile string // the size's profile directory, if any
}

// parseSizes reads --scale-sizes: ascending positive counts.
func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--scale-sizes: %q is not a positive count", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("--scale-sizes: sizes must ascend (%d after %d)", n, out[len(out)-1])
		}
		out = append(out, n)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("--scale-sizes: at least two sizes, to have a cost between them")
	}
	return out, nil
}

// runScaling measures every size in turn and writes the curve to --scale-results,
// again after each size, so a run stopped during its largest size (the 50,000 pairs
// take most of an hour) keeps what the smaller ones measured.
func runScaling(ctx context.Context, cfg config) error {
	start := time.Now()
	var points []scalePoint
	for _, n := range cfg.scaleSizes {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "=== scaling curve: %d File+FileLink pairs\n", n)
		p := runScalePoint(ctx, cfg, n)
		if p.err != nil {
			fmt.Fprintf(os.Stderr, "=== %d pairs: %v\n", n, p.err)
		}
		if ctx.Err() != nil {
			break // a size cut short is no measurement
		}
		points = append(points, p)
		if err := writeScaling(cfg, scalingMarkdown(cfg, start, points)); err != nil {
			return err
		}
	}
	doc := scalingMarkdown(cfg, start, points)
	fmt.Println()
	fmt.Print(doc)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted (%w); %s holds the sizes measured before", context.Cause(ctx), cfg.scaleResults)
	}
	fmt.Printf("\nwritten to %s\n", cfg.scaleResults)
	return nil
}

func writeScaling(cfg config, doc string) error {
	if err := os.MkdirAll(filepath.Dir(cfg.scaleResults), 0o755); err != nil {
		return err
	}
	return os.WriteFile(cfg.scaleResults, []byte(doc), 0o644)
}

// scaleConfig is cfg for one size: every count is n, the rows are 1, 2, 4 and 5, and
// profiles land in a directory of the size's own.
func scaleConfig(cfg config, n int) config {
	c := cfg
	c.n, c.memoryN, c.unrelated = n, n, n
	c.expiryN = cfg.scaleExpiryN
	c.rows = map[string]bool{"1": true, "2": true, "4": true, "5": true}
	if cfg.profileDir != "" {
		c.profileDir = filepath.Join(cfg.profileDir, strconv.Itoa(n))
	}
	return c
}

func runScalePoint(ctx context.Context, cfg config, n int) (p scalePoint) {
	p.pairs = n
	start := time.Now()
	c := scaleConfig(cfg, n)
	p.profile = c.profileDir
	var cleanups cleanupStack
	defer cleanups.run()
	rep := newReport(ctx, c)
	defer func() {
		p.elapsed = time.Since(start)
		rep.mu.Lock()
		defer rep.mu.Unlock()
		p.rows, p.notes = rep.rows, rep.notes
	}()
	b, err := newBench(ctx, c, &cleanups, rep)
	if err != nil {
		p.err = err
		return p
	}
	steps := []struct {
		name, rows string
		fn         func(context.Context) error
	}{
		{"baseline", "1", b.measureBaseline},
		{"reconcile only", "1", b.measureReconcileOnly},
		{"baseline again", "1", func(ctx context.Context) error {
			if err := b.measureBaselineAgain(ctx); err != nil {
				return err
			}
			b.judgeReconcileOnly()
			// The expiry row's lead: the time per pair the manager took, from start to
			// Ready, stands in for row 1b's end-to-end figure.
			b.secondsPerLink = b.reconcileOnly.elapsed.Seconds() / float64(n)
			return nil
		}},
		{"memory", "4", b.measureMemory},
		{"restart", "5", b.measureRestart},
		{"expiry lag", "2", b.measureExpiry},
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		if err := s.fn(ctx); err != nil && ctx.Err() == nil {
			rep.failed(s.rows, err)
			b.logf("%s failed: %v", s.name, err)
			b.mgr.TailLog(os.Stderr, 20)
			if p.err == nil {
				p.err = fmt.Errorf("%s: %w", s.name, err)
			}
			if s.rows == "1" {
				// Without the reconciled pairs the other rows have nothing to measure.
				break
			}
		}
	}
	p.m = b.measured
	b.logf("%d pairs done in %s", n, time.Since(start).Round(time.Second))
	return p
}

// perThousand is how much v grows per 1,000 pairs from size a to size b.
func perThousand(va, vb float64, a, b int) float64 {
	return (vb - va) / (float64(b-a) / 1000)
}

// Targets of the curve (SPEC §9).
const (
	scaleRSSPerThousand     = 4.0  // MiB per 1,000 pairs above the smallest size
	scaleRestartPerThousand = 0.25 // seconds per 1,000 links above the smallest size
	scaleReconcileRatio     = 0.9
)

func scalingMarkdown(cfg config, start time.Time, points []scalePoint) string {
	var s strings.Builder
	m := describeMachine()
	fmt.Fprintf(&s, "# Scaling curve\n\n")
	fmt.Fprintf(&s, "Measured %s by `make bench-scale` (`go run ./test/perf --scale-sizes ...`), in %s.\n\n",
		start.UTC().Format("2006-01-02 15:04 MST"), time.Since(start).Round(time.Second))
	fmt.Fprintf(&s, "- machine: nproc %d (%s), memory %.1f GiB, Linux %s\n", m.cpus, m.cpuModel, mib(m.memTotal)/1024, m.kernel)
	fmt.Fprintf(&s, "- %s; kube-apiserver and etcd of Kubernetes %s (envtest), a fresh control plane and manager for each size\n",
		runtime.Version(), framework.KubernetesVersion)
	fmt.Fprintf(&s, "- flags: %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&s, "- the manager runs as its own process with its default flags%s%s, webhooks off\n\n",
		extraNote(" plus ", cfg.managerArgs), extraNote(" and environment ", cfg.managerEnv))
	fmt.Fprintf(&s, "At size N: **1a** N Files + N FileLinks exist before the manager starts; its rate from start to all Ready, "+
		"against a bare client making the same requests (per File a Secret read and a status patch, per link a status patch and an event) "+
		"on N objects of the same control plane, before and after, pooled. **4** VmRSS of the manager, idle, with the N pairs Ready "+
		"plus N unrelated 10 KiB Secrets applied client-side. **5** manager start → %d random links of the N all answer 200. "+
		"**2** with the N pairs in place (they never expire), %d more links to %d Files whose expiresAt fall within one minute; "+
		"p99 of status.expired seen by a watch − expiresAt: the burst stays SPEC's, the population around it grows.\n\n",
		cfg.restartSample, cfg.scaleExpiryN, expiryFiles)

	s.WriteString("| pairs | 1a reconcile ratio | 2 expiry p99 | 4 manager RSS | 5 restart → serving | measured in |\n|---|---|---|---|---|---|\n")
	for _, p := range points {
		fmt.Fprintf(&s, "| %d | %s | %s | %s | %s | %s |\n", p.pairs, fmtRatio(p), fmtExpiry(p), fmtRSS(p), fmtRestart(p), p.elapsed.Round(time.Second))
	}

	s.WriteString("\nCost per 1,000 pairs, between consecutive sizes and above the smallest:\n\n")
	s.WriteString("| from → to | RSS per 1,000 pairs | restart per 1,000 links |\n|---|---|---|\n")
	for i := 1; i < len(points); i++ {
		writeCost(&s, points[i-1], points[i])
	}
	for i := 2; i < len(points); i++ {
		writeCost(&s, points[0], points[i])
	}

	s.WriteString("\n| target (SPEC §9) | result | met |\n|---|---|---|\n")
	for _, t := range scaleVerdicts(points) {
		fmt.Fprintf(&s, "| %s | %s | %s |\n", t.target, t.result, t.status)
	}
	if len(points) > 0 && points[0].pairs != 1000 {
		fmt.Fprintf(&s, "\nThe smallest size here is %d pairs, not SPEC's 1,000: the costs above it stand in for the costs above 1,000.\n", points[0].pairs)
	}
	if cfg.profileDir != "" {
		fmt.Fprintf(&s, "\nProfiles of each size's manager are in `%s/<pairs>/`: `memory.heap.pb.gz` (live heap after the memory row, "+
			"collected first), `restart.cpu.pb.gz` (the %d s after the restart) and `expiry.cpu.pb.gz` (the %d s from the first expiresAt); "+
			"read them with `go tool pprof -top FILE`.\n",
			cfg.profileDir, restartProfileSeconds, expiryWindow)
	}

	for _, p := range points {
		fmt.Fprintf(&s, "\n## %d pairs\n\n", p.pairs)
		if p.err != nil {
			fmt.Fprintf(&s, "Error: %s\n\n", oneLine(p.err.Error()))
		}
		s.WriteString("| # | what was measured | result | target at this size | met |\n|---|---|---|---|---|\n")
		for _, id := range []string{"1a", "2", "4", "5"} {
			x, ok := p.rows[id]
			if !ok {
				x = row{id: id, result: "not run"}
			}
			target, met := x.target, x.status.String()
			if id == "4" || id == "5" {
				// The absolute targets are for 10,000 pairs; the curve judges growth.
				target, met = "judged by the cost per 1,000 pairs (above)", "see above"
			}
			fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", id, x.what, x.result, target, met)
		}
		s.WriteString("\nDetails:\n\n")
		for _, n := range p.notes {
			fmt.Fprintf(&s, "- %s\n", n)
		}
	}
	return s.String()
}

func writeCost(s *strings.Builder, a, b scalePoint) {
	rss, restart := "not measured", "not measured"
	if a.m.rss > 0 && b.m.rss > 0 {
		rss = fmt.Sprintf("%.2f MiB", perThousand(mib(a.m.rss), mib(b.m.rss), a.pairs, b.pairs))
	}
	if a.m.restart > 0 && b.m.restart > 0 {
		restart = fmt.Sprintf("%.3f s", perThousand(a.m.restart.Seconds(), b.m.restart.Seconds(), a.pairs, b.pairs))
	}
	fmt.Fprintf(s, "| %d → %d | %s | %s |\n", a.pairs, b.pairs, rss, restart)
}

type scaleVerdict struct {
	target, result string
	status         status
}

// scaleVerdicts judges the curve: growth above the smallest size for RSS and restart
// (the worst of the larger sizes), and 1a and 2 at every size.
func scaleVerdicts(points []scalePoint) []scaleVerdict {
	var out []scaleVerdict
	growth := func(target string, limit float64, unit string, v func(scalePoint) (float64, bool)) scaleVerdict {
		r := scaleVerdict{target: target}
		if len(points) < 2 {
			r.result = "fewer than two sizes"
			return r
		}
		base, ok := v(points[0])
		if !ok {
			r.result = "not measured at the smallest size"
			return r
		}
		var parts []string
		ok, measured := true, true
		for _, p := range points[1:] {
			x, got := v(p)
			if !got {
				parts = append(parts, fmt.Sprintf("%d: not measured", p.pairs))
				measured = false
				continue
			}
			c := perThousand(base, x, points[0].pairs, p.pairs)
			parts = append(parts, fmt.Sprintf("%d: **%.3g %s**", p.pairs, c, unit))
			ok = ok && c <= limit
		}
		r.result = strings.Join(parts, "; ")
		r.status = verdict(measured, ok)
		return r
	}
	out = append(out, growth(fmt.Sprintf("RSS ≤ %g MiB per 1,000 pairs above the smallest size", scaleRSSPerThousand), scaleRSSPerThousand, "MiB",
		func(p scalePoint) (float64, bool) { return mib(p.m.rss), p.m.rss > 0 }))
	out = append(out, growth(fmt.Sprintf("restart ≤ %g s per 1,000 links above the smallest size", scaleRestartPerThousand), scaleRestartPerThousand, "s",
		func(p scalePoint) (float64, bool) { return p.m.restart.Seconds(), p.m.restart > 0 }))
	every := func(target string, v func(scalePoint) (string, bool, bool)) scaleVerdict {
		r := scaleVerdict{target: target}
		var parts []string
		ok, measured := true, len(points) > 0
		for _, p := range points {
			text, got, good := v(p)
			parts = append(parts, fmt.Sprintf("%d: %s", p.pairs, text))
			measured = measured && got
			ok = ok && good
		}
		r.result = strings.Join(parts, "; ")
		r.status = verdict(measured, ok)
		return r
	}
	out = append(out, every(fmt.Sprintf("reconcile ratio ≥ %g (and the minimum of requests) at every size", scaleReconcileRatio), func(p scalePoint) (string, bool, bool) {
		return fmtRatio(p), p.m.bareRate > 0, p.m.reconcileMin && p.m.reconcileRatio >= scaleReconcileRatio
	}))
	out = append(out, every("expiry p99 ≤ 0.5 s at every size", func(p scalePoint) (string, bool, bool) {
		return fmtExpiry(p), p.m.expiryN > 0, p.m.expiryMissing == 0 && p.m.expiryP99 <= expiryTarget
	}))
	return out
}

func fmtRatio(p scalePoint) string {
	if p.m.bareRate == 0 {
		return "not measured"
	}
	s := fmt.Sprintf("**%.2f** (%.0f vs %.0f objects/s)", p.m.reconcileRatio, p.m.reconcileRate, p.m.bareRate)
	if !p.m.reconcileMin {
		s += ", more than the minimum of requests"
	}
	return s
}

func fmtExpiry(p scalePoint) string {
	if p.m.expiryN == 0 {
		return "not measured"
	}
	s := "**" + fmtDur(p.m.expiryP99) + "**"
	if p.m.expiryMissing > 0 {
		s += fmt.Sprintf(" (%d of %d never seen expired)", p.m.expiryMissing, p.m.expiryN)
	}
	return s
}

func fmtRSS(p scalePoint) string {
	if p.m.rss == 0 {
		return "not measured"
	}
	return fmt.Sprintf("**%.1f MiB**", mib(p.m.rss))
}

func fmtRestart(p scalePoint) string {
	if p.m.restart == 0 {
		return "not measured"
	}
	return fmt.Sprintf("**%.2f s**", p.m.restart.Seconds())
}
