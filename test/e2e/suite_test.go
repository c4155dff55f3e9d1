//go:build e2e

// Package e2e drives the operator only as a user would: the manager binary runs as its own
// process, with webhooks on, against a local control plane, and the tests use kubectl and
// plain HTTP. Run with `make test-e2e`.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/filelink-dev/filelink-operator/internal/testenv"
)

var (
	env        *envtest.Environment
	kubeconfig string
	manager    *testenv.ManagerProcess
	managerCfg testenv.ManagerProcessConfig
	repo       = testenv.RepoRoot()
)

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

func runSuite(m *testing.M) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "e2e:", err); return 1 }
	tmp, err := os.MkdirTemp("", "filelink-e2e-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)

	// The binary is built the way the Dockerfile builds it: static, no cgo.
	binary := filepath.Join(tmp, "manager")
	build := exec.Command("go", "build", "-trimpath", "-o", binary, ".")
	build.Dir, build.Env = repo, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("building the manager: %w\n%s", err, out))
	}

	if env, err = testenv.New(); err != nil {
		return fail(err)
	}
	testenv.InstallWebhooks(env)
	_, c, err := testenv.Start(env)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = env.Stop() }()
	kubeconfig = filepath.Join(tmp, "kubeconfig")
	if err := testenv.WriteKubeconfig(env, kubeconfig); err != nil {
		return fail(err)
	}
	if err := testenv.CreateNamespaces(c, "filelink-system"); err != nil {
		return fail(err)
	}

	addrs, err := freeAddrs(3)
	if err != nil {
		return fail(err)
	}
	logFile, err := os.Create(filepath.Join(tmp, "manager.log"))
	if err != nil {
		return fail(err)
	}
	defer logFile.Close()
	managerCfg = testenv.ManagerProcessConfig{
		Binary: binary, Kubeconfig: kubeconfig, Webhooks: &env.WebhookInstallOptions,
		LinkAddr: addrs[0], ProbeAddr: addrs[1], MetricsAddr: addrs[2],
		Args:   []string{"--link-base-url=http://" + addrs[0]},
		Output: logFile,
	}
	if manager, err = testenv.StartManagerProcess(context.Background(), managerCfg); err != nil {
		return fail(err)
	}
	code := m.Run()
	_ = manager.Stop()
	if code != 0 {
		log, _ := os.ReadFile(logFile.Name())
		fmt.Fprintf(os.Stderr, "--- manager log ---\n%s\n", lastLines(string(log), 60))
	}
	return code
}

func freeAddrs(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// kubectl runs kubectl against the test cluster in namespace ns and returns its combined
// output and whether it succeeded.
func kubectl(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--namespace", ns}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Dir = repo
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// mustKubectl fails the test when kubectl fails.
func mustKubectl(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := kubectl(t, ns, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// newNamespace creates a namespace with kubectl and deletes it after the test.
func newNamespace(t *testing.T, name string) string {
	t.Helper()
	mustKubectl(t, "default", "create", "namespace", name)
	t.Cleanup(func() { _, _ = kubectl(t, "default", "delete", "namespace", name, "--wait=false") })
	return name
}
