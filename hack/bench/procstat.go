package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. It is 100 on
// every Linux architecture Go supports, and Go has no sysconf to ask.
const clockTicks = 100

// procStatFields returns the fields of /proc/<pid>/stat after the command name, which
// is in parentheses and may itself contain spaces: index 0 is field 3 (state).
func procStatFields(pid int) (comm string, fields []string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", nil, err
	}
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", nil, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return s[open+1 : closing], strings.Fields(s[closing+1:]), nil
}

// cpuTime is the user plus system CPU time pid has used.
func cpuTime(pid int) (time.Duration, error) {
	_, f, err := procStatFields(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// machineCPU is the machine's busy and stolen CPU time so far, from /proc/stat: busy
// is everything but idle and iowait; steal is time the hypervisor gave to others.
func machineCPU() (busy, steal time.Duration) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	var ticks [8]int64
	for i := range ticks {
		ticks[i], _ = strconv.ParseInt(f[i+1], 10, 64)
	}
	// user nice system idle iowait irq softirq steal
	b := ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
	return time.Duration(b) * time.Second / clockTicks, time.Duration(ticks[7]) * time.Second / clockTicks
}

// childPIDs maps the command name of each direct child of parent to its pid; envtest
// starts kube-apiserver and etcd as children of the harness.
func childPIDs(parent int) map[string]int {
	out := map[string]int{}
	for _, pid := range children(parent) {
		if comm, _, err := procStatFields(pid); err == nil {
			out[comm] = pid
		}
	}
	return out
}

// children lists the direct children of parent.
func children(parent int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		_, f, err := procStatFields(pid)
		if err != nil || len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == parent {
			out = append(out, pid)
		}
	}
	return out
}

// selfCPUTime is the harness's own CPU time, without its children's.
func selfCPUTime() time.Duration {
	t, _ := cpuTime(os.Getpid())
	return t
}

// treeCPUTime is the CPU time of pid and its direct children: nginx's master and
// workers.
func treeCPUTime(pid int) time.Duration {
	t, _ := cpuTime(pid)
	for _, c := range children(pid) {
		ct, _ := cpuTime(c)
		t += ct
	}
	return t
}

// statusBytes reads a "kB" field of /proc/<pid>/status, such as VmRSS or VmHWM.
func statusBytes(pid int, field string) (int64, error) {
	return kbField(fmt.Sprintf("/proc/%d/status", pid), field)
}

func kbField(path, field string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return kb << 10, err
	}
	return 0, fmt.Errorf("%s: no %s", path, field)
}

// machine describes where the numbers were measured, for the report's header.
type machine struct {
	cpus     int
	cpuModel string
	memTotal int64
	kernel   string
}

func describeMachine() machine {
	m := machine{cpus: nproc()}
	m.memTotal, _ = kbField("/proc/meminfo", "MemTotal")
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				m.cpuModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return m
}

// nproc is what `nproc` prints: runtime.NumCPU counts the CPUs in this process's
// affinity mask, which the control plane, the manager and the load generator share.
func nproc() int { return runtime.NumCPU() }

func mib(b int64) float64 { return float64(b) / (1 << 20) }
