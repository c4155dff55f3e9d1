//go:build e2e

// Package e2e drives the operator only as a user would: the manager binary runs as its own
// process, with webhooks on, against a local control plane, and the tests use kubectl and
// plain HTTP. Run with `make test-e2e`.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

var (
	cluster *framework.Cluster
	manager *framework.Manager
	repo    = framework.RepoRoot()
)

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

func runSuite(m *testing.M) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "e2e:", err); return 1 }
	tmp, err := os.MkdirTemp("", "filelink-e2e-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)

	binary := filepath.Join(tmp, "manager")
	if err := framework.BuildManager(context.Background(), binary); err != nil {
		return fail(err)
	}
	cluster, err = framework.StartCluster(framework.ClusterOptions{Kubeconfig: filepath.Join(tmp, "kubeconfig"), Webhooks: true})
	if err != nil {
		return fail(err)
	}
	defer func() { _ = cluster.Stop() }()
	cfg, err := cluster.ManagerConfig(binary, filepath.Join(tmp, "manager.log"))
	if err != nil {
		return fail(err)
	}
	if manager, err = framework.StartManager(context.Background(), cfg); err != nil {
		return fail(err)
	}
	code := m.Run()
	if code != 0 {
		manager.TailLog(os.Stderr, 60)
	}
	_ = manager.Stop(20 * time.Second)
	return code
}

// kubectl runs kubectl against the test cluster in namespace ns and returns its combined
// output and whether it succeeded.
func kubectl(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	return cluster.Kubectl(context.Background(), append([]string{"--namespace", ns}, args...)...)
}

// mustKubectl fails the test when kubectl fails.
func mustKubectl(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := kubectl(t, ns, args...)
	if err != nil {
		t.Fatal(err)
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
