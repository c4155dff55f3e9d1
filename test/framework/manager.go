package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// BuildManager builds the manager binary into path the way the Dockerfile builds it:
// static, no cgo.
func BuildManager(ctx context.Context, path string) error {
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", path, ".")
	build.Dir, build.Env = RepoRoot(), append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the manager: %w\n%s", err, out)
	}
	return nil
}

// ManagerConfig says how to run the manager binary.
type ManagerConfig struct {
	Binary     string
	Kubeconfig string
	// LogPath receives the manager's output; each start appends to it.
	LogPath string
	// Webhooks, when set, serves the admission webhook with envtest's certificates on
	// the port envtest registered; otherwise the manager runs with ENABLE_WEBHOOKS=false.
	Webhooks *envtest.WebhookInstallOptions
	// LinkAddr is where the link server listens. ProbeAddr and MetricsAddr may be "0"
	// to turn those servers off.
	LinkAddr, ProbeAddr, MetricsAddr string
	// LinkBaseURL is the base of issued URLs; by default http://LinkAddr.
	LinkBaseURL string
	// Args are extra flags, Env extra environment variables.
	Args, Env []string
}

// Manager is the manager binary running as its own process, as in production, so that
// its CPU and memory are its own and it can be stopped and started again.
type Manager struct {
	ManagerConfig

	cmd *exec.Cmd
	// kill cancels the context the process runs under, which SIGKILLs it.
	kill context.CancelFunc
	done chan struct{}
	err  error
}

// NewManager prepares, without starting, the manager c describes.
func NewManager(c ManagerConfig) *Manager { return &Manager{ManagerConfig: c} }

// StartManager starts the manager c describes and waits until it is ready.
func StartManager(ctx context.Context, c ManagerConfig) (*Manager, error) {
	m := NewManager(c)
	return m, m.Start(ctx)
}

// Start launches the manager and waits until it is ready; on failure the process is
// stopped.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.Launch(); err != nil {
		return err
	}
	if err := m.WaitReady(ctx, time.Minute); err != nil {
		_ = m.Stop(10 * time.Second)
		return err
	}
	return nil
}

func (m *Manager) args() []string {
	base := m.LinkBaseURL
	if base == "" {
		base = "http://" + m.LinkAddr
	}
	args := []string{
		"--kubeconfig=" + m.Kubeconfig,
		"--link-bind-address=" + m.LinkAddr,
		"--link-base-url=" + base,
		"--health-probe-bind-address=" + m.ProbeAddr,
		"--metrics-bind-address=" + m.MetricsAddr,
		// SeaweedFS runs on loopback, which the store address policy refuses unless
		// exempted (SPEC §12); a test of the policy overrides it through Args, parsed
		// later.
		"--allow-store-networks=127.0.0.0/8,::1",
	}
	if m.Webhooks != nil {
		args = append(args, "--webhook-port="+strconv.Itoa(m.Webhooks.LocalServingPort), "--webhook-cert-dir="+m.Webhooks.LocalServingCertDir)
	}
	return append(args, m.Args...)
}

// Launch starts the process without waiting for it to be ready, for a caller that
// times its start.
func (m *Manager) Launch() error {
	if m.Running() {
		return errors.New("manager already running")
	}
	logf, err := os.OpenFile(m.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// The process outlives this call, so it runs under a context of its own, which only
	// Kill cancels, and Stop once SIGTERM and the grace period have not ended it.
	ctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, m.Binary, m.args()...)
	cmd.Env = os.Environ()
	if m.Webhooks == nil {
		cmd.Env = append(cmd.Env, "ENABLE_WEBHOOKS=false")
	}
	cmd.Env = append(cmd.Env, m.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the harness die without cleaning up, the kernel stops the manager too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		kill()
		logf.Close()
		return fmt.Errorf("starting %s: %w", m.Binary, err)
	}
	m.cmd, m.kill, m.done, m.err = cmd, kill, make(chan struct{}), nil
	go func(done chan struct{}) {
		m.err = cmd.Wait()
		kill()
		logf.Close()
		close(done)
	}(m.done)
	return nil
}

// Running reports whether the process runs.
func (m *Manager) Running() bool {
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// PID is the running process's id, 0 when it does not run.
func (m *Manager) PID() int {
	if !m.Running() {
		return 0
	}
	return m.cmd.Process.Pid
}

// Exited reports an unexpected exit, so waits fail fast instead of timing out.
func (m *Manager) Exited() error {
	if m.cmd == nil || m.Running() {
		return nil
	}
	return fmt.Errorf("manager exited: %w (log: %s)", m.err, m.LogPath)
}

// Stop sends SIGTERM and waits for a graceful exit, killing the process after grace.
func (m *Manager) Stop(grace time.Duration) error {
	if !m.Running() {
		return nil
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
		return nil
	case <-time.After(grace):
	}
	m.kill()
	<-m.done
	return fmt.Errorf("manager did not stop within %s; killed", grace)
}

// WaitReady waits until /readyz answers 200 (when the probes are on) and the link
// server accepts connections.
func (m *Manager) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if m.ProbeAddr != "0" && m.ProbeAddr != "" {
		err := Poll(ctx, 50*time.Millisecond, m.Exited, func(ctx context.Context) (bool, error) {
			a, err := Get(ctx, "http://"+m.ProbeAddr+"/readyz")
			return err == nil && a.StatusCode == http.StatusOK, nil
		})
		if err != nil {
			return fmt.Errorf("manager not ready within %s: %w", timeout, err)
		}
	}
	return WaitListening(ctx, m.LinkAddr, m.Exited)
}

// WaitQuiet waits until the manager uses less than a twentieth of a CPU over a second,
// for at most limit, and returns how long that took: after a start it re-reconciles
// every object, and a measurement run meanwhile would measure that instead.
func (m *Manager) WaitQuiet(ctx context.Context, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		before, err := CPUTime(m.PID())
		if err != nil {
			return 0, err
		}
		if err := Sleep(ctx, time.Second); err != nil {
			return 0, err
		}
		after, err := CPUTime(m.PID())
		if err != nil {
			return 0, err
		}
		if after-before < 50*time.Millisecond {
			return time.Since(start), nil
		}
	}
	return time.Since(start), fmt.Errorf("manager still busy after %s", limit)
}

// TailLog copies the last n lines of the manager's log to w, to explain a failure.
func (m *Manager) TailLog(w io.Writer, n int) {
	data, err := os.ReadFile(m.LogPath)
	if err != nil || len(data) == 0 {
		return
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	fmt.Fprintf(w, "--- last lines of %s\n%s\n---\n", m.LogPath, bytes.Join(lines, []byte("\n")))
}

// Kill sends SIGKILL, as a crashed node or an OOM kill would, and waits for the exit.
func (m *Manager) Kill() {
	if !m.Running() {
		return
	}
	m.kill()
	<-m.done
}

// LogContains reports whether the manager's log holds s.
func (m *Manager) LogContains(s string) bool {
	b, err := os.ReadFile(m.LogPath)
	return err == nil && bytes.Contains(b, []byte(s))
}
