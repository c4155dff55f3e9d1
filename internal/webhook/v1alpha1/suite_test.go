package v1alpha1_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	webhookv1alpha1 "github.com/filelink-dev/filelink-operator/internal/webhook/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The suite registers the real webhook configuration (config/webhook) with envtest's API
// server, serves the validator over TLS with envtest's generated certificates, and
// sends every request through the API server as kubectl would.

var (
	k8s client.Client
	// restConfig reaches the suite's API server, for clients that need their own
	// settings (a warning handler).
	restConfig *rest.Config
	clk        = clocktesting.NewFakeClock(time.Now())
)

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

func runSuite(m *testing.M) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, err); return 1 }
	env, err := framework.New()
	if err != nil {
		return fail(err)
	}
	framework.InstallWebhooks(env)
	cfg, c, err := framework.Start(env)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = env.Stop() }()
	k8s, restConfig = c, cfg

	wo := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  framework.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: wo.LocalServingHost, Port: wo.LocalServingPort, CertDir: wo.LocalServingCertDir,
		}),
	})
	if err != nil {
		return fail(err)
	}
	if err := (&webhookv1alpha1.FileLinkValidator{Files: mgr.GetAPIReader(), Clock: clk}).SetupWithManager(mgr); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	if err := waitForTLS(ctx, net.JoinHostPort(wo.LocalServingHost, strconv.Itoa(wo.LocalServingPort))); err != nil {
		return fail(err)
	}
	return m.Run()
}

func waitForTLS(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := framework.WaitListening(ctx, addr, nil); err != nil {
		return fmt.Errorf("webhook server did not come up: %w", err)
	}
	return nil
}

func newNamespace(t *testing.T) string { return framework.NewNamespace(t, k8s, "wh-") }
