package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/filelink-dev/filelink-operator/internal/testenv"
)

// Namespaces keep each measurement's objects apart, so the tracker can count them and
// the baseline can be deleted in one call.
const (
	nsManager   = "filelink-system"
	nsBaseline  = "bench-baseline"
	nsReconcile = "bench-reconcile"
	nsEndToEnd  = "bench-e2e"
	nsExtra     = "bench-extra"
	nsLoad      = "bench-load"
	nsExpiry    = "bench-expiry"
)

// startControlPlane starts kube-apiserver and etcd with the CRDs installed. The
// in-flight limits are raised because their defaults can be what a benchmark measures
// instead of the server's real capacity.
func startControlPlane(cfg config) (*envtest.Environment, *rest.Config, error) {
	env, err := testenv.New()
	if err != nil {
		return nil, nil, err
	}
	env.ControlPlaneStartTimeout = time.Minute
	env.ControlPlaneStopTimeout = 30 * time.Second
	args := env.ControlPlane.GetAPIServer().Configure()
	args.Set("max-requests-inflight", strconv.Itoa(cfg.maxInflight))
	args.Set("max-mutating-requests-inflight", strconv.Itoa(cfg.maxMutatingInflight))
	restCfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		return nil, nil, fmt.Errorf("starting the control plane: %w", err)
	}
	return env, restCfg, nil
}

// unthrottled returns a copy of cfg without client-side rate limiting (QPS < 0 makes
// client-go build no limiter), so the harness measures the server, not client-go.
func unthrottled(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	c.Timeout = time.Minute
	return c
}

type clients struct {
	ctrl client.Client
	kube kubernetes.Interface
}

func newClients(cfg *rest.Config) (clients, error) {
	c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme})
	if err != nil {
		return clients{}, err
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return clients{}, err
	}
	return clients{ctrl: c, kube: k}, nil
}

func createNamespaces(ctx context.Context, c client.Client, names ...string) error {
	for _, n := range names {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", n, err)
		}
	}
	return nil
}

func writeKubeconfig(dir string, data []byte) (string, error) {
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}
