package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// Profiles of the manager, taken with --profile-dir from its net/http/pprof endpoint
// (--pprof-bind-address on a loopback port the harness picks). Each lands in the
// directory as NAME.cpu.pb.gz or NAME.heap.pb.gz, for `go tool pprof -top FILE`; with no
// --profile-dir every capture is a no-op, so rows call them unconditionally.

// pprofClient has no timeout of its own: a CPU profile takes as long as it was asked
// to, and ctx bounds every request.
var pprofClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// profiling reports whether --profile-dir asked for profiles.
func (b *bench) profiling() bool { return b.pprofAddr != "" }

// captureHeap saves the manager's live heap, collected first so that it holds what is
// retained rather than garbage not yet swept, as NAME.heap.pb.gz, and returns the
// runtime's memory statistics at that moment.
func (b *bench) captureHeap(ctx context.Context, name string) (memStats, error) {
	if !b.profiling() {
		return memStats{}, nil
	}
	path := filepath.Join(b.cfg.profileDir, name+".heap.pb.gz")
	if err := b.fetchProfile(ctx, "/debug/pprof/heap?gc=1", path); err != nil {
		return memStats{}, err
	}
	// The text form ends with runtime.MemStats, which tells the heap from what the
	// process holds besides it (freed spans not yet returned, stacks, GC metadata).
	text, err := b.pprofGet(ctx, "/debug/pprof/heap?debug=1")
	if err != nil {
		return memStats{}, err
	}
	b.logf("profile: heap saved to %s", path)
	return parseMemStats(text), nil
}

// captureCPU starts a CPU profile of the next seconds as NAME.cpu.pb.gz and returns at
// once; wait returns when the profile is saved. A manager that is still starting has
// no endpoint yet: the request is retried until it answers, so a capture begun right
// after a launch covers nearly all of the start.
func (b *bench) captureCPU(ctx context.Context, name string, seconds int) (wait func() error) {
	if !b.profiling() {
		return func() error { return nil }
	}
	path := filepath.Join(b.cfg.profileDir, name+".cpu.pb.gz")
	done := make(chan error, 1)
	go func() {
		err := framework.Poll(ctx, 5*time.Millisecond, b.mgr.Exited, func(ctx context.Context) (bool, error) {
			err := b.fetchProfile(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(seconds), path)
			if _, refused := errors.AsType[*endpointDown](err); refused {
				return false, nil
			}
			return err == nil, err
		})
		if err == nil {
			b.logf("profile: CPU saved to %s", path)
		}
		done <- err
	}()
	return func() error { return <-done }
}

// endpointDown is a pprof request that found no server listening (yet).
type endpointDown struct{ err error }

func (e *endpointDown) Error() string { return e.err.Error() }

func (b *bench) fetchProfile(ctx context.Context, path, file string) error {
	body, err := b.pprofGet(ctx, path)
	if err != nil {
		return err
	}
	return os.WriteFile(file, body, 0o644)
}

func (b *bench) pprofGet(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.pprofAddr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := pprofClient.Do(req)
	if err != nil {
		return nil, &endpointDown{err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pprof %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// memStats are the fields of runtime.MemStats that explain a process's RSS.
type memStats struct {
	// HeapAlloc is live objects (after the forced GC, nothing else); HeapInuse adds
	// the free space of spans in use; HeapIdle − HeapReleased is freed memory the
	// runtime still holds; StackInuse and the other Sys fields are the rest.
	HeapAlloc, HeapInuse, HeapIdle, HeapReleased, StackInuse, Sys, NextGC uint64
	found                                                                 bool
}

// parseMemStats reads the "# Name = value" lines that /debug/pprof/heap?debug=1 ends with.
func parseMemStats(text []byte) memStats {
	var m memStats
	fields := map[string]*uint64{
		"HeapAlloc": &m.HeapAlloc, "HeapInuse": &m.HeapInuse, "HeapIdle": &m.HeapIdle,
		"HeapReleased": &m.HeapReleased, "Stack": &m.StackInuse, "Sys": &m.Sys, "NextGC": &m.NextGC,
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "# "), " = ")
		p, known := fields[name]
		if !ok || !known {
			continue
		}
		// "Stack = 1234 / 5678" is in use / obtained from the OS.
		value, _, _ = strings.Cut(value, " ")
		if v, err := strconv.ParseUint(value, 10, 64); err == nil {
			*p, m.found = v, true
		}
	}
	return m
}

// String describes m for the report, in MiB.
func (m memStats) String() string {
	if !m.found {
		return "no runtime statistics"
	}
	u := func(v uint64) float64 { return mib(int64(v)) }
	return fmt.Sprintf("Go heap after a forced GC: live %.1f MiB, spans in use %.1f MiB, freed but not yet returned to the OS %.1f MiB (returned %.1f MiB); stacks %.1f MiB; obtained from the OS in all %.1f MiB; next GC at %.1f MiB",
		u(m.HeapAlloc), u(m.HeapInuse), u(m.HeapIdle-m.HeapReleased), u(m.HeapReleased), u(m.StackInuse), u(m.Sys), u(m.NextGC))
}
