package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ManagerProcess is the manager binary running as its own process against a control
// plane, the way a user runs it: for `make dev` and the end-to-end tests.
type ManagerProcess struct {
	cmd  *exec.Cmd
	done chan error
	// ProbeAddr answers /readyz once the manager serves.
	ProbeAddr string
}

// ManagerProcessConfig says how to run the manager binary.
type ManagerProcessConfig struct {
	Binary     string
	Kubeconfig string
	// Webhooks, when set, serves the admission webhook with envtest's certificates on
	// the port envtest registered; otherwise the manager runs with ENABLE_WEBHOOKS=false.
	Webhooks                         *envtest.WebhookInstallOptions
	LinkAddr, ProbeAddr, MetricsAddr string
	// Args are extra flags.
	Args   []string
	Output io.Writer
}

// StartManagerProcess starts the binary and waits until /readyz answers 200.
func StartManagerProcess(ctx context.Context, c ManagerProcessConfig) (*ManagerProcess, error) {
	args := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--link-bind-address=" + c.LinkAddr,
		"--health-probe-bind-address=" + c.ProbeAddr,
		"--metrics-bind-address=" + c.MetricsAddr,
	}
	env := os.Environ()
	if c.Webhooks != nil {
		args = append(args, "--webhook-port="+strconv.Itoa(c.Webhooks.LocalServingPort), "--webhook-cert-dir="+c.Webhooks.LocalServingCertDir)
	} else {
		env = append(env, "ENABLE_WEBHOOKS=false")
	}
	cmd := exec.Command(c.Binary, append(args, c.Args...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = c.Output, c.Output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", c.Binary, err)
	}
	m := &ManagerProcess{cmd: cmd, done: make(chan error, 1), ProbeAddr: c.ProbeAddr}
	go func() { m.done <- cmd.Wait() }()
	if err := m.waitReady(ctx); err != nil {
		_ = m.Stop()
		return nil, err
	}
	return m, nil
}

func (m *ManagerProcess) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		select {
		case err := <-m.done:
			m.done <- err
			return fmt.Errorf("manager exited before it was ready: %w", err)
		case <-ctx.Done():
			return errors.New("manager not ready within 60s")
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get("http://" + m.ProbeAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}

// Stop sends SIGTERM and waits for a graceful exit, killing the process after 20s.
func (m *ManagerProcess) Stop() error {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-m.done:
		m.done <- err
		return err
	case <-time.After(20 * time.Second):
		_ = m.cmd.Process.Kill()
		return errors.New("manager did not stop within 20s; killed")
	}
}

// WriteKubeconfig writes env's admin kubeconfig to path.
func WriteKubeconfig(env *envtest.Environment, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, env.KubeConfig, 0o600)
}
