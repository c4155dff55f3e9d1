// Package framework is the one place this project's tests, benchmark and `make dev`
// start control planes (envtest's kube-apiserver and etcd, with the CRDs and optionally
// the admission webhook installed), write kubeconfigs, run the manager binary as its own
// process, build objects and wait for them. The package suites use the environment
// helpers directly; the end-to-end tests, test/perf and hack/dev start a Cluster and a
// Manager. It is not test-only code: `make dev` runs it.
package framework

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// KubernetesVersion is the version of the control-plane binaries the Makefile builds.
const KubernetesVersion = "1.37.2"

// Scheme knows the built-in kinds and this project's kinds.
var Scheme = k8sruntime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(filelinkv1.AddToScheme(Scheme))
}

// RepoRoot is the repository's top directory, found from this file's location so tests
// work from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// New returns an environment with the CRDs from config/crd/bases. It looks for the
// binaries in KUBEBUILDER_ASSETS, else where `make envtest` puts them.
func New() (*envtest.Environment, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		home, _ := os.UserHomeDir()
		assets = filepath.Join(home, ".local", "share", "kubebuilder-envtest", "k8s", KubernetesVersion+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, fmt.Errorf("no kube-apiserver in %s: run the tests with `make test`, or build the binaries with `make envtest` and set KUBEBUILDER_ASSETS to the directory it prints", assets)
	}
	return &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		Scheme:                Scheme,
	}, nil
}

// InstallWebhooks makes env register the webhook configurations from config/webhook,
// pointed at a local webhook server with certificates envtest generates: start the
// manager's webhook server on env.WebhookInstallOptions' LocalServingHost,
// LocalServingPort and LocalServingCertDir.
func InstallWebhooks(env *envtest.Environment) {
	env.WebhookInstallOptions.Paths = []string{filepath.Join(RepoRoot(), "config", "webhook")}
}

// Start starts env and returns its config and a client that reads the API server
// directly (no cache), for asserting what is really stored.
func Start(env *envtest.Environment) (*rest.Config, client.WithWatch, error) {
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		return nil, nil, fmt.Errorf("starting the control plane: %w", err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		_ = env.Stop()
		return nil, nil, err
	}
	return cfg, c, nil
}

// StartForTest starts a control plane of t's own, stopped when t ends, and returns its
// config and a direct client: for tests that need a fresh API server rather than their
// suite's.
func StartForTest(t testing.TB) (*rest.Config, client.WithWatch) {
	t.Helper()
	env, err := New()
	if err != nil {
		t.Fatal(err)
	}
	cfg, c, err := Start(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return cfg, c
}

// RunWithControlPlane is a test suite's TestMain body: it starts a control plane, hands
// its config and direct client to ready, runs the tests unless ready failed, stops the
// control plane and returns the exit code.
func RunWithControlPlane(m *testing.M, ready func(*rest.Config, client.WithWatch) error) int {
	env, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg, c, err := Start(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if err := ready(cfg, c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// NoRedirects is a client that answers with a redirect itself instead of following it.
var NoRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// GVK returns the GroupVersionKind of obj in Scheme; it panics for unknown kinds.
func GVK(obj k8sruntime.Object) schema.GroupVersionKind {
	gvks, _, err := Scheme.ObjectKinds(obj)
	if err != nil {
		panic(err)
	}
	return gvks[0]
}
