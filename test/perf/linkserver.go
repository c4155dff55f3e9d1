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

// loadTarget is one server under load.
type loadTarget struct {
	name string
	url  string
	pid  int // the server's process; its direct children count too (nginx's workers)
	best loadResult
	// CPU time per request of the best round: the server's and the load generator's.
	serverCPU, clientCPU time.Duration
}

// measure runs one warm-up and one measured run and keeps the result if it is the
// best so far.
func (t *loadTarget) measure(ctx context.Context, conns, requests int, data []byte) (loadResult, error) {
	if _, err := runLoad(ctx, t.url, conns, warmupRequests, data); err != nil {
		return loadResult{}, err
	}
	server0, client0 := treeCPUTime(t.pid), selfCPUTime()
	res, err := runLoad(ctx, t.url, conns, requests, data)
	if err != nil {
		return res, err
	}
	if res.failures > 0 {
		return res, fmt.Errorf("%s: %d of %d requests failed, first: %w", t.name, res.failures, res.requests, res.firstErr)
	}
	if res.rps() > t.best.rps() {
		t.best = res
		t.serverCPU = (treeCPUTime(t.pid) - server0) / time.Duration(requests)
		t.clientCPU = (selfCPUTime() - client0) / time.Duration(requests)
	}
	return res, nil
}

// measureLinkServer loads the manager's link server, nginx and bare net/http servers
// with the same bytes, in rounds, keeping each server's best round: other work on the
// machine can only slow a round down, never speed it up.
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
	targets, stop, notes, err := b.startReferenceServers(data)
	defer stop()
	if err != nil {
		return err
	}
	targets = append([]*loadTarget{{name: "link server", url: ours, pid: b.mgr.PID()}}, targets...)
	ph := b.beginPhase(ctx, "link server load (all rounds)")
	defer ph.end(ctx)

	for round := 1; round <= b.cfg.httpRounds; round++ {
		for _, t := range targets {
			res, err := t.measure(ctx, b.cfg.conns, b.cfg.requests, data)
			if err != nil {
				return err
			}
			b.logf("link server: round %d %-20s %8.0f req/s  p50 %v  p99 %v", round, t.name, res.rps(),
				percentile(res.latencies, 50).Round(time.Microsecond), percentile(res.latencies, 99).Round(time.Microsecond))
		}
	}
	b.reportLinkServer(targets, notes)
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
	return b.tracker.urls(ns)[0], nil
}

// startReferenceServers writes data to a file and starts nginx (when installed) and the
// two bare servers on it. stop stops whichever started, even on error.
func (b *bench) startReferenceServers(data []byte) (targets []*loadTarget, stop func(), notes []string, err error) {
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
	nginx, err := startNginx(nginxDir, root, addrs[0])
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
		p, err := startBareServer(mode, file, addr)
		if err != nil {
			return nil, stop, nil, err
		}
		procs = append(procs, p)
		b.serverPIDs["ServeContent "+mode] = p.cmd.Process.Pid
		targets = append(targets, &loadTarget{name: "ServeContent " + mode, url: "http://" + addr + "/payload.bin", pid: p.cmd.Process.Pid})
	}
	return targets, stop, notes, nil
}

func (b *bench) reportLinkServer(targets []*loadTarget, notes []string) {
	by := map[string]*loadTarget{}
	var lines []string
	for _, t := range targets {
		by[t.name] = t
		lines = append(lines, fmt.Sprintf("%s %.0f req/s (p50 %s, p99 %s; CPU per request: server %.1f µs, load generator %.1f µs)",
			t.name, t.best.rps(), fmtDur(percentile(t.best.latencies, 50)), fmtDur(percentile(t.best.latencies, 99)),
			float64(t.serverCPU.Nanoseconds())/1e3, float64(t.clientCPU.Nanoseconds())/1e3))
	}
	ours, bare := by["link server"], by["ServeContent memory"]
	result := fmt.Sprintf("link server %.0f req/s (p50 %s, p99 %s)", ours.best.rps(),
		fmtDur(percentile(ours.best.latencies, 50)), fmtDur(percentile(ours.best.latencies, 99)))
	r := row{id: "3", target: "≥ 0.6 × nginx", status: notMeasured,
		what: fmt.Sprintf("Link server: %d-byte file, %d connections, %d requests per run, best of %d rounds",
			b.cfg.fileBytes, b.cfg.conns, b.cfg.requests, b.cfg.httpRounds)}
	if ng := by["nginx"]; ng != nil {
		result += fmt.Sprintf("; nginx %.0f req/s → **ours/nginx %.2f**", ng.best.rps(), ratio(ours.best.rps(), ng.best.rps()))
		r.status = verdict(true, ratio(ours.best.rps(), ng.best.rps()) >= 0.6)
	} else {
		result += "; nginx not found (apt-get install nginx-light): not measured"
	}
	r.result = result + fmt.Sprintf("; bare ServeContent from memory %.0f req/s → ours/ServeContent %.2f",
		bare.best.rps(), ratio(ours.best.rps(), bare.best.rps()))
	b.rep.set(r)
	notes = append(notes, "link server load: "+strings.Join(lines, "; ")+
		fmt.Sprintf("; the load generator (raw HTTP/1.1 keep-alive, in the harness) shares the %d CPUs with each server", nproc()))
	for _, n := range notes {
		b.rep.note(n)
	}
}

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
