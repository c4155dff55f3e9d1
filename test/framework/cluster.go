package framework

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ManagerNamespace is where the manager keeps its signing key, as in config/default.
const ManagerNamespace = "filelink-system"

// ClusterOptions says how to start a Cluster.
type ClusterOptions struct {
	// Kubeconfig is where the admin kubeconfig is written, for kubectl and the manager.
	Kubeconfig string
	// Webhooks registers the admission webhook, served by a manager started with
	// Cluster.ManagerConfig.
	Webhooks bool
	// APIServerFlags are set on kube-apiserver's command line, EtcdFlags on etcd's.
	APIServerFlags map[string]string
	EtcdFlags      map[string]string
	// Namespaces are created once the control plane runs; ManagerNamespace always is.
	Namespaces []string
}

// Cluster is a control plane a manager process runs against, the way a user runs it:
// for the end-to-end tests, the benchmark and `make dev`.
type Cluster struct {
	Env        *envtest.Environment
	Config     *rest.Config
	Client     client.WithWatch // uncached: what the API server really stores
	Kubeconfig string
}

// StartCluster starts a control plane with the CRDs installed, writes its kubeconfig and
// creates the namespaces. On error nothing is left running.
func StartCluster(o ClusterOptions) (*Cluster, error) {
	env, err := New()
	if err != nil {
		return nil, err
	}
	if o.Webhooks {
		InstallWebhooks(env)
	}
	// The benchmark's loaded machine can take longer than envtest's 20 s defaults.
	env.ControlPlaneStartTimeout = time.Minute
	env.ControlPlaneStopTimeout = 30 * time.Second
	args := env.ControlPlane.GetAPIServer().Configure()
	for k, v := range o.APIServerFlags {
		args.Set(k, v)
	}
	if len(o.EtcdFlags) > 0 {
		if env.ControlPlane.Etcd == nil {
			env.ControlPlane.Etcd = &envtest.Etcd{}
		}
		etcdArgs := env.ControlPlane.Etcd.Configure()
		for k, v := range o.EtcdFlags {
			etcdArgs.Set(k, v)
		}
	}
	c := &Cluster{Env: env}
	if c.Config, c.Client, err = Start(env); err != nil {
		return nil, err
	}
	if err := c.prepare(o); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) prepare(o ClusterOptions) error {
	var err error
	if c.Kubeconfig, err = filepath.Abs(o.Kubeconfig); err != nil {
		return err
	}
	if err := writeFile(c.Kubeconfig, c.Env.KubeConfig); err != nil {
		return err
	}
	return CreateNamespaces(c.Client, append([]string{ManagerNamespace}, o.Namespaces...)...)
}

// Stop stops the control plane.
func (c *Cluster) Stop() error { return c.Env.Stop() }

// ManagerConfig is how to run binary against this cluster, serving the webhook when the
// cluster registered it, with its log in logPath and its servers on free ports.
func (c *Cluster) ManagerConfig(binary, logPath string) (ManagerConfig, error) {
	addrs, err := FreeAddrs(3)
	if err != nil {
		return ManagerConfig{}, err
	}
	m := ManagerConfig{
		Binary: binary, Kubeconfig: c.Kubeconfig, LogPath: logPath,
		LinkAddr: addrs[0], ProbeAddr: addrs[1], MetricsAddr: addrs[2],
	}
	if len(c.Env.WebhookInstallOptions.Paths) > 0 {
		m.Webhooks = &c.Env.WebhookInstallOptions
	}
	return m, nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Kubectl runs kubectl against the cluster from the repository's top directory, so
// manifests are named as in the README, and returns its combined output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	cmd.Dir = RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// ProxiedKubeconfig starts a Proxy in front of the API server and writes to path a
// kubeconfig that reaches the API server only through it, so a test can cut one
// client off while the rest of the cluster goes on.
func (c *Cluster) ProxiedKubeconfig(path string) (*Proxy, error) {
	u, err := url.Parse(c.Env.Config.Host)
	if err != nil {
		return nil, err
	}
	p, err := StartProxy("127.0.0.1:0", u.Host)
	if err != nil {
		return nil, err
	}
	kc, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		_ = p.Close()
		return nil, err
	}
	for _, cl := range kc.Clusters {
		cl.Server = u.Scheme + "://" + p.Addr()
	}
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}
