// Command dev is `make dev`: a local control plane (envtest's kube-apiserver and etcd)
// with the CRDs and the admission webhook installed, the manager binary running against
// it with its link server on localhost:8082, and the samples applied. It prints each
// sample link's URL and a curl line, and runs until Ctrl-C, then stops everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/testenv"
)

func main() {
	var o options
	flag.StringVar(&o.manager, "manager", "bin/manager", "The manager binary (make build).")
	flag.StringVar(&o.kubeconfig, "write-kubeconfig", "bin/dev/kubeconfig", "Where to write the admin kubeconfig.")
	flag.StringVar(&o.samples, "samples", "config/samples", "Kustomization applied once the manager runs; empty for none.")
	flag.StringVar(&o.linkAddr, "link-bind-address", "127.0.0.1:8082", "Where the link server listens.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", "127.0.0.1:8081", "Where the manager's probes listen.")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "127.0.0.1:8080", "Where the manager's metrics listen.")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

type options struct {
	manager, kubeconfig, samples     string
	linkAddr, probeAddr, metricsAddr string
}

func run(ctx context.Context, o options) error {
	env, err := testenv.New()
	if err != nil {
		return err
	}
	testenv.InstallWebhooks(env)
	fmt.Println("starting the control plane...")
	cfg, err := env.Start()
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping the control plane")
		_ = env.Stop()
	}()
	kubeconfig, err := filepath.Abs(o.kubeconfig)
	if err != nil {
		return err
	}
	if err := testenv.WriteKubeconfig(env, kubeconfig); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme})
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "filelink-system"}}); err != nil {
		return err
	}

	logPath := filepath.Join(filepath.Dir(kubeconfig), "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Println("starting the manager (log:", logPath+")...")
	mgr, err := testenv.StartManagerProcess(ctx, testenv.ManagerProcessConfig{
		Binary: o.manager, Kubeconfig: kubeconfig, Webhooks: &env.WebhookInstallOptions,
		LinkAddr: o.linkAddr, ProbeAddr: o.probeAddr, MetricsAddr: o.metricsAddr,
		Args:   []string{"--link-base-url=http://" + strings.Replace(o.linkAddr, "127.0.0.1", "localhost", 1)},
		Output: logFile,
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping the manager")
		_ = mgr.Stop()
	}()

	if o.samples != "" {
		if err := applySamples(ctx, kubeconfig, o.samples); err != nil {
			return err
		}
	}
	fmt.Printf(`
The operator is running. In another terminal:

  export KUBECONFIG=%s
  kubectl get files,filelinks -o wide

Metrics: http://%s/metrics   Links: http://%s/links/<token>
Press Ctrl-C to stop and clean up.
`, kubeconfig, o.metricsAddr, o.linkAddr)
	<-ctx.Done()
	return nil
}

// applySamples applies the samples with kubectl, as a user would, waits for the links to
// be Ready and prints a curl line for each.
func applySamples(ctx context.Context, kubeconfig, samples string) error {
	kubectl := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "kubectl", args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	out, err := kubectl("apply", "-k", samples)
	if err != nil {
		return err
	}
	fmt.Print(out)
	if _, err := kubectl("wait", "--for=condition=Ready", "filelinks", "--all", "--timeout=60s"); err != nil {
		return err
	}
	lines, err := kubectl("get", "filelinks", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.url}{"\n"}{end}`)
	if err != nil {
		return err
	}
	if strings.TrimSpace(lines) == "" {
		return errors.New("the samples hold no FileLink")
	}
	fmt.Println("\nSample links:")
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		name, url, _ := strings.Cut(line, "\t")
		fmt.Printf("  %s\n    %s\n    curl -fsS '%s'\n", name, url, url)
	}
	return nil
}
