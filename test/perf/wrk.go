package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	requests int
	elapsed  time.Duration
	// errors are answers that were not 2xx or 3xx plus socket errors: a server that fails
	// fast must not look fast.
	errors   int
	p50, p99 time.Duration
	cpu      time.Duration // wrk's own CPU time, user and system
}

func (r wrkResult) rps() float64 { return rate(max(0, r.requests-r.errors), r.elapsed) }

// wrkPath finds wrk (Debian's package wrk); "" when it is not installed.
func wrkPath() string {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return ""
	}
	return bin
}

// wrkVersion is the version wrk prints ("debian/4.1.0-3+b2"); "" when not installed.
func wrkVersion(ctx context.Context) string {
	bin := wrkPath()
	if bin == "" {
		return ""
	}
	// wrk -v prints its version and usage and exits non-zero.
	out, _ := exec.CommandContext(ctx, bin, "-v").CombinedOutput()
	fields := strings.Fields(string(out))
	if len(fields) < 2 || fields[0] != "wrk" {
		return ""
	}
	return fields[1]
}

// runWrk loads target with wrk for d over conns connections, one thread per CPU: wrk,
// not a generator of ours, decides how fast requests are offered (SPEC §9).
func runWrk(ctx context.Context, bin, target string, conns int, d time.Duration) (wrkResult, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, bin, "--latency", "-t", strconv.Itoa(nproc()), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "10s", target)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out.String())
	}
	res, err := parseWrk(out.String())
	if err != nil {
		return res, fmt.Errorf("wrk: %w in its output:\n%s", err, out.String())
	}
	res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, nil
}

var (
	wrkTotal   = regexp.MustCompile(`^(\d+) requests in ([\d.]+)(us|ms|s|m|h),`)
	wrkPercent = regexp.MustCompile(`^(50|99)%\s+([\d.]+)(us|ms|s|m|h)$`)
	wrkSocket  = regexp.MustCompile(`^Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)$`)
	wrkNon2xx  = regexp.MustCompile(`^Non-2xx or 3xx responses: (\d+)$`)
)

// parseWrk reads the totals, the 50th and 99th latency percentiles (--latency) and the
// error lines of wrk's report.
func parseWrk(out string) (wrkResult, error) {
	var res wrkResult
	var sawTotal, sawP50, sawP99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case wrkTotal.MatchString(line):
			m := wrkTotal.FindStringSubmatch(line)
			res.requests, _ = strconv.Atoi(m[1])
			res.elapsed = wrkDuration(m[2], m[3])
			sawTotal = true
		case wrkPercent.MatchString(line):
			m := wrkPercent.FindStringSubmatch(line)
			if m[1] == "50" {
				res.p50, sawP50 = wrkDuration(m[2], m[3]), true
			} else {
				res.p99, sawP99 = wrkDuration(m[2], m[3]), true
			}
		case wrkSocket.MatchString(line):
			for _, n := range wrkSocket.FindStringSubmatch(line)[1:] {
				v, _ := strconv.Atoi(n)
				res.errors += v
			}
		case wrkNon2xx.MatchString(line):
			v, _ := strconv.Atoi(wrkNon2xx.FindStringSubmatch(line)[1])
			res.errors += v
		}
	}
	switch {
	case !sawTotal:
		return res, fmt.Errorf("no request total")
	case !sawP50 || !sawP99:
		return res, fmt.Errorf("no latency distribution")
	case res.elapsed <= 0:
		return res, fmt.Errorf("no duration")
	}
	return res, nil
}

func wrkDuration(v, unit string) time.Duration {
	f, _ := strconv.ParseFloat(v, 64)
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	return time.Duration(f * float64(scale))
}
