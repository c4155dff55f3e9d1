package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// warmupRequests fill caches and open connections before each measured run.
const warmupRequests = 2000

// loadTarget is one server under load, with its best round under wrk and its run under
// the harness's own generator.
type loadTarget struct {
	name string
	url  string
	pid  int // the server's process; its direct children count too (nginx's workers)

	wrk wrkResult
	gen loadResult
	// CPU time per request of the server and of the load generator, for each generator.
	wrkServerCPU, genServerCPU, genClientCPU time.Duration
}

// warmUp fills caches, opens connections and checks every answer is the file, which wrk
// does not look at.
func (t *loadTarget) warmUp(ctx context.Context, conns int, data []byte) error {
	res, err := runLoad(ctx, t.url, conns, warmupRequests, data)
	if err == nil && res.failures > 0 {
		err = fmt.Errorf("%s: %d of %d warm-up requests failed, first: %w", t.name, res.failures, res.requests, res.firstErr)
	}
	return err
}

// measureWrk runs wrk once and keeps the result if it is the best so far.
func (t *loadTarget) measureWrk(ctx context.Context, bin string, conns int, d time.Duration) (wrkResult, error) {
	server0 := treeCPUTime(t.pid)
	res, err := runWrk(ctx, bin, t.url, conns, d)
	if err != nil {
		return res, err
	}
	if res.errors > 0 {
		return res, fmt.Errorf("%s: %d of %d requests failed under wrk", t.name, res.errors, res.requests)
	}
	if res.rps() > t.wrk.rps() {
		t.wrk = res
		t.wrkServerCPU = (treeCPUTime(t.pid) - server0) / time.Duration(res.requests)
	}
	return res, nil
}

// measureGen runs the harness's generator once and keeps the result if it is the best.
func (t *loadTarget) measureGen(ctx context.Context, conns, requests int, data []byte) (loadResult, error) {
	server0, client0 := treeCPUTime(t.pid), selfCPUTime()
	res, err := runLoad(ctx, t.url, conns, requests, data)
	if err != nil {
		return res, err
	}
	if res.failures > 0 {
		return res, fmt.Errorf("%s: %d of %d requests failed, first: %w", t.name, res.failures, res.requests, res.firstErr)
	}
	if res.rps() > t.gen.rps() {
		t.gen = res
		t.genServerCPU = (treeCPUTime(t.pid) - server0) / time.Duration(requests)
		t.genClientCPU = (selfCPUTime() - client0) / time.Duration(requests)
	}
	return res, nil
}

// linkServerProfileSeconds is, with --profile-dir, the link server's CPU profile under
// the harness's generator: about as long as its run of --requests at this machine's
// rate.
const linkServerProfileSeconds = 4

// measureLinkServer loads the manager's link server, nginx and bare net/http servers
// with the same bytes, in rounds, keeping each server's best round: other work on the
// machine can only slow a round down, never speed it up. wrk decides the ratio (SPEC
// §9); the harness's generator, which also checks every body, gives a second opinion,
// or the only one when wrk is missing.
func (b *bench) measureLinkServer(ctx context.Context) error {
	if err := b.ensureManager(ctx); err != nil {
		return err
	}
	data := make([]byte, b.cfg.fileBytes)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	ours, err := b.loadLinkURL(ctx, data)
	if err != nil {
		return err
	}
	if _, err := b.mgr.WaitQuiet(ctx, 3*time.Minute); err != nil {
		return err
	}
	targets, stop, notes, err := b.startReferenceServers(ctx, data)
	defer stop()
	if err != nil {
		return err
	}
	targets = append([]*loadTarget{{name: "link server", url: ours, pid: b.mgr.PID()}}, targets...)
	wrk := wrkPath()
	if wrk == "" {
		fmt.Fprintln(os.Stderr, "wrk not found: apt-get install wrk")
		notes = append(notes, "wrk not found: apt-get install wrk; the link server row was measured with the harness's generator only and is not judged")
	}
	ph := b.beginPhase(ctx, "link server load (all rounds)")
	defer ph.end(ctx)

	genRounds := 1
	if wrk == "" {
		genRounds = b.cfg.httpRounds
	}
	for round := 1; round <= b.cfg.httpRounds && wrk != ""; round++ {
		for _, t := range targets {
			if err := t.warmUp(ctx, b.cfg.conns, data); err != nil {
				return err
			}
			res, err := t.measureWrk(ctx, wrk, b.cfg.conns, b.cfg.wrkDuration)
			if err != nil {
				return err
			}
			b.logf("link server: wrk round %d %-20s %8.0f req/s  p50 %v  p99 %v", round, t.name, res.rps(), res.p50, res.p99)
		}
	}
	for round := 1; round <= genRounds; round++ {
		for _, t := range targets {
			if err := t.warmUp(ctx, b.cfg.conns, data); err != nil {
				return err
			}
			// The generator's run is the second opinion, not the judged one: profiling
			// the link server there leaves wrk's rounds untouched.
			profiled := func() error { return nil }
			if round == 1 && t.pid == b.mgr.PID() {
				profiled = b.captureCPU(ctx, "linkserver", linkServerProfileSeconds)
			}
			res, err := t.measureGen(ctx, b.cfg.conns, b.cfg.requests, data)
			if err != nil {
				return err
			}
			if err := profiled(); err != nil {
				return err
			}
			b.logf("link server: harness generator round %d %-20s %8.0f req/s  p50 %v  p99 %v", round, t.name, res.rps(),
				percentile(res.latencies, 50).Round(time.Microsecond), percentile(res.latencies, 99).Round(time.Microsecond))
		}
	}
	b.reportLinkServer(targets, wrk != "", notes)
	return nil
}

// loadLinkURL creates a File of data and a FileLink to it and returns the link's URL
// once it is Ready.
func (b *bench) loadLinkURL(ctx context.Context, data []byte) (string, error) {
	c, ns := b.clients.ctrl, nsLoad
	if err := create(ctx, c, newSecret(ns, 0, data)); err != nil {
		return "", err
	}
	f := newFile(ns, 0, 0)
	f.Spec.Filename = "payload.bin"
	if err := create(ctx, c, f); err != nil {
		return "", err
	}
	if err := create(ctx, c, newLink(ns, 0, 0, nil)); err != nil {
		return "", err
	}
	if _, err := b.tracker.waitReady(ctx, ns, 1, time.Minute, b.mgr.Exited); err != nil {
		return "", err
	}
	b.loadURL, b.loadData = b.tracker.urls(ns)[0], data
	return b.loadURL, nil
}

// startReferenceServers writes data to a file and starts nginx (when installed) and the
// two bare servers on it. stop stops whichever started, even on error.
func (b *bench) startReferenceServers(ctx context.Context, data []byte) (targets []*loadTarget, stop func(), notes []string, err error) {
	var procs []*process
	b.serverPIDs = map[string]int{}
	stop = func() {
		for _, p := range procs {
			p.stop()
		}
		b.serverPIDs = nil
	}
	root := filepath.Join(b.tmp, "www")
	file := filepath.Join(root, "payload.bin")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, stop, nil, err
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return nil, stop, nil, err
	}

	nginxDir := filepath.Join(b.tmp, "nginx")
	if err := os.Mkdir(nginxDir, 0o755); err != nil {
		return nil, stop, nil, err
	}
	addrs, err := framework.FreeAddrs(3)
	if err != nil {
		return nil, stop, nil, err
	}
	nginx, err := startNginx(ctx, nginxDir, root, addrs[0])
	switch {
	case err != nil:
		return nil, stop, nil, err
	case nginx == nil:
		fmt.Fprintln(os.Stderr, "nginx not found: apt-get install nginx-light")
		notes = append(notes, "nginx not found: apt-get install nginx-light; the comparison with nginx was not measured")
	default:
		procs = append(procs, nginx)
		b.serverPIDs["nginx"] = nginx.cmd.Process.Pid
		targets = append(targets, &loadTarget{name: "nginx", url: "http://" + addrs[0] + "/payload.bin", pid: nginx.cmd.Process.Pid})
	}

	for i, mode := range []string{"memory", "file"} {
		addr := addrs[1+i]
		p, err := startBareServer(ctx, mode, file, addr)
		if err != nil {
			return nil, stop, nil, err
		}
		procs = append(procs, p)
		b.serverPIDs["ServeContent "+mode] = p.cmd.Process.Pid
		targets = append(targets, &loadTarget{name: "ServeContent " + mode, url: "http://" + addr + "/payload.bin", pid: p.cmd.Process.Pid})
	}
	return targets, stop, notes, nil
}

func (b *bench) reportLinkServer(targets []*loadTarget, withWrk bool, notes []string) {
	by := map[string]*loadTarget{}
	var wrkLines, genLines []string
	for _, t := range targets {
		by[t.name] = t
		wrkLines = append(wrkLines, fmt.Sprintf("%s %.0f req/s (p50 %s, p99 %s; CPU per request: server %.1f µs, wrk %.1f µs)",
			t.name, t.wrk.rps(), fmtDur(t.wrk.p50), fmtDur(t.wrk.p99),
			micros(t.wrkServerCPU), micros(t.wrk.cpu/time.Duration(max(1, t.wrk.requests)))))
		genLines = append(genLines, fmt.Sprintf("%s %.0f req/s (p50 %s, p99 %s; CPU per request: server %.1f µs, generator %.1f µs)",
			t.name, t.gen.rps(), fmtDur(percentile(t.gen.latencies, 50)), fmtDur(percentile(t.gen.latencies, 99)),
			micros(t.genServerCPU), micros(t.genClientCPU)))
	}
	// rps is the number the row judges: wrk's when it ran, else the generator's.
	rps := func(t *loadTarget) float64 {
		if withWrk {
			return t.wrk.rps()
		}
		return t.gen.rps()
	}
	ours, bare := by["link server"], by["ServeContent memory"]
	how := fmt.Sprintf("wrk (%d threads), %s runs", nproc(), b.cfg.wrkDuration)
	result := fmt.Sprintf("link server %.0f req/s (p50 %s, p99 %s, %.1f µs CPU per request)", ours.wrk.rps(),
		fmtDur(ours.wrk.p50), fmtDur(ours.wrk.p99), micros(ours.wrkServerCPU))
	if !withWrk {
		how = fmt.Sprintf("the harness's generator (wrk not installed), %d requests per run", b.cfg.requests)
		result = fmt.Sprintf("link server %.0f req/s (p50 %s, p99 %s, %.1f µs CPU per request)", ours.gen.rps(),
			fmtDur(percentile(ours.gen.latencies, 50)), fmtDur(percentile(ours.gen.latencies, 99)), micros(ours.genServerCPU))
	}
	r := row{id: "3", target: "≥ 1.0 × nginx, with wrk", status: notMeasured,
		what: fmt.Sprintf("Link server: %d-byte file, %d connections, %s, best of %d rounds",
			b.cfg.fileBytes, b.cfg.conns, how, b.cfg.httpRounds)}
	if ng := by["nginx"]; ng != nil {
		result += fmt.Sprintf("; nginx %.0f req/s (%.1f µs) → **ours/nginx %.2f**", rps(ng), micros(cpuPerRequest(ng, withWrk)), ratio(rps(ours), rps(ng)))
		r.status = verdict(withWrk, ratio(rps(ours), rps(ng)) >= 1.0)
	} else {
		result += "; nginx not found (apt-get install nginx-light): not measured"
	}
	r.result = result + fmt.Sprintf("; bare ServeContent from memory %.0f req/s → ours/ServeContent %.2f",
		rps(bare), ratio(rps(ours), rps(bare)))
	b.rep.set(r)
	if withWrk {
		notes = append(notes, "link server load under wrk (best round): "+strings.Join(wrkLines, "; ")+
			fmt.Sprintf("; wrk shares the %d CPUs with each server; the manager writes its audit log and nginx its access log, each to a file, one line a request", nproc()))
	}
	notes = append(notes, "link server load under the harness's generator (raw HTTP/1.1 keep-alive, every answer checked; "+
		"a second opinion): "+strings.Join(genLines, "; "))
	for _, n := range notes {
		b.rep.note(n)
	}
}

func cpuPerRequest(t *loadTarget, withWrk bool) time.Duration {
	if withWrk {
		return t.wrkServerCPU
	}
	return t.genServerCPU
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
