package main

import (
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/procfs"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// machineCPU is the machine's busy and stolen CPU time so far: busy is everything but
// idle and iowait; steal is time the hypervisor gave to other machines.
func machineCPU() (busy, steal time.Duration) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, 0
	}
	st, err := fs.Stat()
	if err != nil {
		return 0, 0
	}
	c := st.CPUTotal
	return seconds(c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ), seconds(c.Steal)
}

// processStats reads every process's stat once, for finding children.
func processStats() []procfs.ProcStat {
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil
	}
	var out []procfs.ProcStat
	for _, p := range procs {
		if st, err := p.Stat(); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// childPIDs maps the command name of each direct child of parent to its pid; envtest
// starts kube-apiserver and etcd as children of the harness.
func childPIDs(parent int) map[string]int {
	out := map[string]int{}
	for _, st := range processStats() {
		if st.PPID == parent {
			out[st.Comm] = st.PID
		}
	}
	return out
}

// selfCPUTime is the harness's own CPU time, without its children's.
func selfCPUTime() time.Duration {
	t, _ := framework.CPUTime(os.Getpid())
	return t
}

// treeCPUTime is the CPU time of pid and its direct children: nginx's master and
// workers.
func treeCPUTime(pid int) time.Duration {
	t, _ := framework.CPUTime(pid)
	for _, st := range processStats() {
		if st.PPID == pid {
			t += seconds(st.CPUTime())
		}
	}
	return t
}

// memoryBytes is the resident memory of pid now (VmRSS) and at its peak (VmHWM).
func memoryBytes(pid int) (rss, hwm int64, err error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, 0, err
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, 0, err
	}
	return int64(st.VmRSS), int64(st.VmHWM), nil
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
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return m
	}
	if mi, err := fs.Meminfo(); err == nil && mi.MemTotalBytes != nil {
		m.memTotal = int64(*mi.MemTotalBytes)
	}
	if cpus, err := fs.CPUInfo(); err == nil && len(cpus) > 0 {
		m.cpuModel = cpus[0].ModelName
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	return m
}

// nproc is what `nproc` prints: runtime.NumCPU counts the CPUs in this process's
// affinity mask, which the control plane, the manager and the load generator share.
func nproc() int { return runtime.NumCPU() }

func mib(b int64) float64 { return float64(b) / (1 << 20) }
