// Command dev is `make dev`: a local control plane (envtest's kube-apiserver and etcd)
// with the CRDs and the admission webhook installed, the manager binary running against
// it with its link server on localhost:8082, and the samples applied; SeaweedFS on
// loopback holds a 5 MB object that the FileStore sample serves. It prints each sample
// link's URL and a curl line, and runs until Ctrl-C, then stops everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager/signals"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

func main() {
	var o options
	flag.StringVar(&o.manager, "manager", "bin/manager", "The manager binary (make build).")
	flag.StringVar(&o.kubeconfig, "write-kubeconfig", "bin/dev/kubeconfig", "Where to write the admin kubeconfig.")
	flag.StringVar(&o.samples, "samples", "config/samples", "Kustomization applied once the manager runs; empty for none.")
	flag.StringVar(&o.storeSamples, "store-samples", "config/samples/filestore", "FileStore kustomization applied against a local SeaweedFS; empty for none (and no SeaweedFS).")
	flag.StringVar(&o.linkAddr, "link-bind-address", "127.0.0.1:8082", "Where the link server listens.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", "127.0.0.1:8081", "Where the manager's probes listen.")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "127.0.0.1:8080", "Where the manager's metrics listen.")
	flag.Parse()
	if err := run(signals.SetupSignalHandler(), o); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

type options struct {
	manager, kubeconfig, samples     string
	storeSamples                     string
	linkAddr, probeAddr, metricsAddr string
}

func run(ctx context.Context, o options) error {
	fmt.Println("starting the control plane...")
	cluster, err := framework.StartCluster(framework.ClusterOptions{Kubeconfig: o.kubeconfig, Webhooks: true})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping the control plane")
		_ = cluster.Stop()
	}()

	cfg, err := cluster.ManagerConfig(o.manager, filepath.Join(filepath.Dir(cluster.Kubeconfig), "manager.log"))
	if err != nil {
		return err
	}
	// Fixed, well-known ports, so the printed URLs stay valid from one run to the next.
	cfg.LinkAddr, cfg.ProbeAddr, cfg.MetricsAddr = o.linkAddr, o.probeAddr, o.metricsAddr
	cfg.LinkBaseURL = "http://" + strings.Replace(o.linkAddr, "127.0.0.1", "localhost", 1)
	// A fresh log per run; the manager appends to it across restarts.
	if err := os.Remove(cfg.LogPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Println("starting the manager (log:", cfg.LogPath+")...")
	mgr, err := framework.StartManager(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping the manager")
		_ = mgr.Stop(20 * time.Second)
	}()

	if o.storeSamples != "" {
		samples, err := filepath.Abs(o.storeSamples)
		if err != nil {
			return err
		}
		s3, err := startStore(ctx, cluster, samples)
		if err != nil {
			return err
		}
		defer func() {
			fmt.Println("stopping SeaweedFS")
			_ = s3.Stop()
		}()
	}
	if o.samples != "" {
		samples, err := filepath.Abs(o.samples)
		if err != nil {
			return err
		}
		if err := applySamples(ctx, cluster, samples); err != nil {
			return err
		}
	}
	fmt.Printf(`
The operator is running. In another terminal:

  export KUBECONFIG=%s
  kubectl get files,filelinks -o wide

Metrics: http://%s/metrics   Links: http://%s/links/<token>
Press Ctrl-C to stop and clean up.
`, cluster.Kubeconfig, o.metricsAddr, o.linkAddr)
	<-ctx.Done()
	return nil
}

// applySamples applies the samples with kubectl, as a user would, waits for the links to
// be Ready and prints a curl line for each.
func applySamples(ctx context.Context, cluster *framework.Cluster, samples string) error {
	out, err := cluster.Kubectl(ctx, "apply", "-k", samples)
	if err != nil {
		return err
	}
	fmt.Print(out)
	if _, err := cluster.Kubectl(ctx, "wait", "--for=condition=Ready", "filelinks", "--all", "--timeout=60s"); err != nil {
		return err
	}
	lines, err := cluster.Kubectl(ctx, "get", "filelinks", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.url}{"\n"}{end}`)
	if err != nil {
		return err
	}
	if strings.TrimSpace(lines) == "" {
		return errors.New("the samples hold no FileLink")
	}
	fmt.Println("\nSample links:")
	for line := range strings.SplitSeq(strings.TrimSpace(lines), "\n") {
		name, url, _ := strings.Cut(line, "\t")
		fmt.Printf("  %s\n    %s\n    curl -fsS '%s'\n", name, url, url)
	}
	return nil
}
