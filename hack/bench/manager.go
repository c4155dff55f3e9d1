package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// managerProc runs the manager binary as its own process, as in production, so that its
// CPU and memory are its own and it can be killed and restarted.
type managerProc struct {
	bin     string
	args    []string
	env     []string
	logPath string
	addr    string // the link server's 127.0.0.1:port

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func newManagerProc(bin, kubeconfig, logPath string, linkPort int, extraArgs, extraEnv []string) *managerProc {
	addr := "127.0.0.1:" + strconv.Itoa(linkPort)
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
		"--link-bind-address=" + addr,
		"--link-base-url=http://" + addr,
		"--signing-key-secret=" + nsManager + "/filelink-signing-key",
	}
	return &managerProc{bin: bin, args: append(args, extraArgs...), env: extraEnv, logPath: logPath, addr: addr}
}

// start launches the manager. Webhooks are off because this control plane has no
// webhook configuration pointing at the manager, so they would never be called.
func (m *managerProc) start() error {
	if m.running() {
		return errors.New("manager already running")
	}
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(m.bin, m.args...)
	cmd.Env = append(append(os.Environ(), "ENABLE_WEBHOOKS=false"), m.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the harness die without cleaning up, the kernel stops the manager too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", m.bin, err)
	}
	m.cmd, m.done, m.err = cmd, make(chan struct{}), nil
	go func(done chan struct{}) {
		m.err = cmd.Wait()
		logf.Close()
		close(done)
	}(m.done)
	return nil
}

func (m *managerProc) running() bool {
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

func (m *managerProc) pid() int {
	if !m.running() {
		return 0
	}
	return m.cmd.Process.Pid
}

// stop asks the manager to shut down and kills it if it has not within grace.
func (m *managerProc) stop(grace time.Duration) error {
	if !m.running() {
		return nil
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
		return nil
	case <-time.After(grace):
	}
	_ = m.cmd.Process.Kill()
	<-m.done
	return fmt.Errorf("manager did not stop within %s; killed", grace)
}

// exited reports an unexpected exit, so waits fail fast instead of timing out.
func (m *managerProc) exited() error {
	if m.cmd == nil || m.running() {
		return nil
	}
	return fmt.Errorf("manager exited: %w (log: %s)", m.err, m.logPath)
}

// waitListening waits until the link server accepts connections.
func (m *managerProc) waitListening(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", m.addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if err := m.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("link server not listening on %s after %s", m.addr, timeout)
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitQuiet waits until the manager uses less than a twentieth of a CPU over a second,
// for at most limit: after a start it re-reconciles every object, and a load test run
// meanwhile would measure that instead.
func (m *managerProc) waitQuiet(ctx context.Context, limit time.Duration) error {
	start := time.Now()
	for time.Since(start) < limit {
		before, err := cpuTime(m.pid())
		if err != nil {
			return err
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
		after, err := cpuTime(m.pid())
		if err != nil {
			return err
		}
		if after-before < 50*time.Millisecond {
			return nil
		}
	}
	return fmt.Errorf("manager still busy after %s", limit)
}

// tailLog copies the last n lines of the manager's log to w, to explain a failure.
func (m *managerProc) tailLog(w io.Writer, n int) {
	data, err := os.ReadFile(m.logPath)
	if err != nil || len(data) == 0 {
		return
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	fmt.Fprintf(w, "--- last lines of %s\n%s\n---\n", m.logPath, bytes.Join(lines, []byte("\n")))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// freePort asks the kernel for an unused loopback port. Another process could take it
// before it is used; on this machine that does not happen in practice.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
