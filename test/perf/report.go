package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

type status int

const (
	notMeasured status = iota
	met
	notMet
)

func (s status) String() string {
	switch s {
	case met:
		return "yes"
	case notMet:
		return "**NO**"
	}
	return "not measured"
}

// verdict is met or notMet when the comparison could be made, notMeasured otherwise.
func verdict(measured, ok bool) status {
	switch {
	case !measured:
		return notMeasured
	case ok:
		return met
	}
	return notMet
}

// row is one line of the results table.
type row struct {
	id, what, result, target string
	status                   status
}

// rowOrder lists the rows as SPEC §9 does; a row's first character is the --rows
// number that selects it.
var rowOrder = []struct{ id, what, target string }{
	{"1a", "Reconcile throughput, reconcile only", "minimum requests; ratio ≥ 0.9 to the same requests"},
	{"1b", "Reconcile throughput, end to end", "ratio ≥ 0.9"},
	{"2", "Expiry lag", "p99 ≤ 0.5 s"},
	{"3", "Link server vs nginx", "≥ 1.0 × nginx, with wrk"},
	{"4", "Manager memory", "≤ 150 MiB RSS"},
	{"5", "Restart → serving existing links", "≤ 5 s"},
	{"6", "Failover: leader SIGKILLed → the other replica reconciles a new link", "≤ lease duration + 1 s; 0 failed downloads"},
	{"7", "Large file from a FileStore", "≥ 1.2 × nginx proxy_pass in front of the same S3 server; RSS growth ≤ 32 MiB"},
	{"8", "Limited links: 1,000 links of maxDownloads 1 consumed by 64 connections", "≥ 0.8 × a bare client's compare-and-swap status patches; 0 served past a limit"},
	{"9", "Ledger cost: row 3 with the download ledger on vs off", "≥ 0.95 × ledger off"},
}

type report struct {
	cfg      config
	started  time.Time
	finished time.Time
	machine  machine
	nginx    string
	wrk      string

	mu    sync.Mutex
	rows  map[string]row
	notes []string
}

func newReport(ctx context.Context, cfg config) *report {
	return &report{cfg: cfg, started: time.Now(), machine: describeMachine(), nginx: nginxVersion(ctx), wrk: wrkVersion(ctx), rows: map[string]row{}}
}

func (r *report) set(x row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows[x.id] = x
}

func (r *report) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, s)
}

// failed records why the rows a step was run for (as in --rows) have no numbers.
func (r *report) failed(rows string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range rowOrder {
		if _, done := r.rows[o.id]; !done && strings.Contains(rows, o.id[:1]) {
			r.rows[o.id] = row{id: o.id, what: o.what, result: "error: " + oneLine(err.Error()), target: o.target}
		}
	}
}

func (r *report) finish() { r.finished = time.Now() }

func (r *report) markdown() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s strings.Builder
	m := r.machine
	fmt.Fprintf(&s, "# Benchmark results\n\n")
	fmt.Fprintf(&s, "Measured %s by `make bench` (`go run ./test/perf`), in %s.\n\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second))
	fmt.Fprintf(&s, "- machine: nproc %d (%s), memory %.1f GiB, Linux %s\n", m.cpus, m.cpuModel, mib(m.memTotal)/1024, m.kernel)
	fmt.Fprintf(&s, "- %s; kube-apiserver and etcd of Kubernetes %s (envtest), one shared by all rows; nginx %s; wrk %s\n",
		runtime.Version(), framework.KubernetesVersion, orNone(r.nginx), orNone(r.wrk))
	fmt.Fprintf(&s, "- flags: %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&s, "- the manager runs as its own process with its default flags%s%s, webhooks off (nothing on this control plane would call them); the control plane, the manager, nginx and the load generator share the machine\n\n",
		extraNote(" plus ", r.cfg.managerArgs), extraNote(" and environment ", r.cfg.managerEnv))

	s.WriteString("| # | what was measured | result | SPEC §9 target | met |\n|---|---|---|---|---|\n")
	for _, o := range rowOrder {
		x, ok := r.rows[o.id]
		if !ok {
			x = row{id: o.id, what: o.what, result: "not run", target: o.target}
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", x.id, x.what, x.result, x.target, x.status)
	}
	s.WriteString("\n1a holds the manager's reconcile rate (objects created before it starts) against a bare client making exactly " +
		"the manager's requests (per File a Secret read and a status patch, per link a status patch and an event; SPEC §9's baseline), " +
		"and reports the ratio to status patches alone too; 1b adds creating the objects, and its bare client creates them and then " +
		"makes the same requests. Each rate counts Files and FileLinks; each ratio compares two measurements of the same run " +
		"against the same API server.\n")
	s.WriteString("\nSPEC §9's scaling curve and soak are runs of their own: `make bench-scale` writes bench/SCALING.md, `make soak` bench/SOAK.md.\n")
	s.WriteString("\n## Details\n\n")
	for _, n := range r.notes {
		fmt.Fprintf(&s, "- %s\n", n)
	}
	return s.String()
}

func (r *report) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(r.markdown()), 0o644)
}

func extraNote(prefix, extra string) string {
	if extra == "" {
		return ""
	}
	return prefix + "`" + extra + "`"
}

func orNone(s string) string {
	if s == "" {
		return "not installed"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
