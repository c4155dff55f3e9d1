// Command manager runs the filelink-operator: the File and FileLink reconcilers and,
// on every replica, the link server.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	webhookv1alpha1 "github.com/filelink-dev/filelink-operator/internal/webhook/v1alpha1"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(filelinkv1.AddToScheme(scheme))
}

// options are the manager's flags (SPEC §6) plus the knobs that bound its throughput.
type options struct {
	metricsAddr, probeAddr, linkAddr string
	leaderElect                      bool
	leaderElectionNamespace          string
	metricsSecure                    bool
	linkBaseURL                      string
	signingKeySecret                 string
	qps                              float64
	burst                            int
	concurrency                      int
	contentCacheBytes                int64
	maxLinkConnections               int
	minLinkTransferRate              int64
	webhookPort                      int
	webhookCertDir                   string
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&o.metricsSecure, "metrics-secure", false, "Serve metrics over HTTPS, only to callers authenticated and authorized by the API server (config/default sets it); plain HTTP otherwise.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles; every replica serves links.")
	flag.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; default the pod's namespace, or out of a cluster the namespace of --signing-key-secret.")
	flag.StringVar(&o.linkAddr, "link-bind-address", ":8082", "Address the link server binds to.")
	flag.StringVar(&o.linkBaseURL, "link-base-url", "http://localhost:8082", "Public base URL of the link server; issued URLs are <base>/links/<token>.")
	flag.StringVar(&o.signingKeySecret, "signing-key-secret", "filelink-system/filelink-signing-key", "NAMESPACE/NAME of the Secret holding the URL signing keys (entry \"key\" issues, other entries still verify); watched, and created with a random key whenever missing.")
	// client-go's default of 20 QPS would hold the reconcilers to a small fraction of
	// what the API server can take. These defaults sit above what a small control plane
	// serves (about 900 status patches/s on two cores), so the server's own priority and
	// fairness, not a client-side guess, decides; they remain a ceiling against a loop.
	flag.Float64Var(&o.qps, "kube-api-qps", 2000, "Client-side rate limit of requests to the API server, per second.")
	flag.IntVar(&o.burst, "kube-api-burst", 4000, "Client-side burst of requests to the API server.")
	flag.IntVar(&o.concurrency, "max-concurrent-reconciles", 8, "Reconciles run in parallel per controller.")
	flag.Int64Var(&o.contentCacheBytes, "link-content-cache-bytes", linkserver.DefaultContentCacheBytes, "Memory cap, in bytes, for file bodies the link server keeps cached; larger bodies are served too, read from their source per request.")
	flag.IntVar(&o.maxLinkConnections, "link-max-connections", linkserver.DefaultMaxConnections, "Connections the link server keeps open at once; further clients wait in the accept queue.")
	flag.Int64Var(&o.minLinkTransferRate, "link-min-transfer-rate", linkserver.DefaultMinTransferRate, "Slowest rate, in bytes per second, at which a client may take a download before the link server cuts it.")
	flag.IntVar(&o.webhookPort, "webhook-port", 9443, "Port the admission webhook server listens on (when ENABLE_WEBHOOKS is not \"false\").")
	flag.StringVar(&o.webhookCertDir, "webhook-cert-dir", "", "Directory holding tls.crt and tls.key for the webhook server; default controller-runtime's <tmp>/k8s-webhook-server/serving-certs.")
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "manager exited with an error")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	log := ctrl.Log.WithName("setup")
	keyRef, err := parseNamespacedName(o.signingKeySecret)
	if err != nil {
		return fmt.Errorf("--signing-key-secret: %w", err)
	}
	if err := checkBaseURL(o.linkBaseURL); err != nil {
		return fmt.Errorf("--link-base-url: %w", err)
	}
	if err := checkLinkLimits(o); err != nil {
		return err
	}

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOptions(o.metricsAddr, o.metricsSecure),
		HealthProbeBindAddress: o.probeAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       "filelink-operator.filelink.dev",
		LeaderElectionNamespace: leaderElectionNamespace(
			o.leaderElectionNamespace, serviceAccountNamespaceFile, keyRef.Namespace),
		// A replica stopping gracefully hands over at once, so a rolling update leaves
		// no gap without a reconciler (SPEC §6).
		LeaderElectionReleaseOnCancel: true,
		// Each package states what it needs of the shared client and cache; the
		// manager's options are assembled here, where every user of them is known.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: controllers.UncachedObjects()}},
		// Secrets and ConfigMaps are cached only when labelled shareable (SPEC §2).
		Cache:         cache.Options{DefaultTransform: linkserver.CacheTransform(), ByObject: filesource.CacheByObject()},
		WebhookServer: webhook.NewServer(webhook.Options{Port: o.webhookPort, CertDir: o.webhookCertDir}),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	// Every replica follows the key Secret, so a rotation reaches all of them without a
	// restart; it is loaded (or created) here, before anything issues or verifies.
	keys, err := signing.NewLiveKey(ctx, mgr.GetConfig(), keyRef)
	if err != nil {
		return err
	}
	if err := mgr.Add(keys); err != nil {
		return err
	}

	if err := controllers.Setup(ctx, mgr, controllers.Config{
		Clock:                   clock.RealClock{},
		Keys:                    keys,
		BaseURL:                 o.linkBaseURL,
		MaxConcurrentReconciles: o.concurrency,
	}); err != nil {
		return err
	}

	if _, err := linkserver.Setup(ctx, mgr, linkserver.Options{
		Addr:              o.linkAddr,
		Keys:              keys,
		Clock:             clock.RealClock{},
		ContentCacheBytes: o.contentCacheBytes,
		Limits:            linkserver.Limits{MaxConnections: o.maxLinkConnections, MinTransferRate: o.minLinkTransferRate},
	}); err != nil {
		return fmt.Errorf("setting up link server: %w", err)
	}

	ready := healthz.Ping
	// kubebuilder's convention: webhooks are on unless ENABLE_WEBHOOKS=false, for running
	// the manager locally without certificates.
	if os.Getenv("ENABLE_WEBHOOKS") != "false" {
		if err := (&webhookv1alpha1.FileLinkValidator{Files: mgr.GetAPIReader(), Clock: clock.RealClock{}}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up FileLink webhook: %w", err)
		}
		ready = mgr.GetWebhookServer().StartedChecker()
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", ready); err != nil {
		return err
	}
	log.Info("starting manager", "linkBaseURL", o.linkBaseURL)
	return mgr.Start(ctx)
}

func parseNamespacedName(s string) (types.NamespacedName, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return types.NamespacedName{}, fmt.Errorf("%q is not NAMESPACE/NAME", s)
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

// checkBaseURL refuses a base URL that would issue unusable links; the mistake would
// otherwise surface only when someone opens one.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: scheme must be http or https", s)
	case u.Host == "":
		return fmt.Errorf("%q: no host", s)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: no query or fragment allowed; links are <base>/links/<token>", s)
	}
	return nil
}

// checkLinkLimits refuses limits under which the link server could serve nothing. Zero is
// refused too, rather than read as "the default": a value someone typed is a decision.
func checkLinkLimits(o options) error {
	switch {
	case o.contentCacheBytes <= 0:
		return fmt.Errorf("--link-content-cache-bytes=%d: must be a positive number of bytes (default %d); bodies larger than it are still served, just not kept", o.contentCacheBytes, linkserver.DefaultContentCacheBytes)
	case o.maxLinkConnections <= 0:
		return fmt.Errorf("--link-max-connections=%d: must be at least 1 (default %d)", o.maxLinkConnections, linkserver.DefaultMaxConnections)
	case o.minLinkTransferRate <= 0:
		return fmt.Errorf("--link-min-transfer-rate=%d: must be a positive number of bytes per second (default %d)", o.minLinkTransferRate, linkserver.DefaultMinTransferRate)
	}
	return nil
}
