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
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
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
	pprofAddr                        string
	leaderElect                      bool
	leaderElection                   leaderElection
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
	bindFlags(flag.CommandLine, &o)
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "manager exited with an error")
		os.Exit(1)
	}
}

// bindFlags declares the manager's flags with their defaults (SPEC §6) on fs.
func bindFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint binds to; 0 disables it.")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", false, "Serve metrics over HTTPS, only to callers authenticated and authorized by the API server (config/default sets it); plain HTTP otherwise.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0", "Address serving Go's net/http/pprof profiles, for finding where CPU and memory go; 0 (the default) disables it. Bind it to loopback: profiles are not authenticated.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles; every replica serves links.")
	fs.StringVar(&o.leaderElection.namespace, "leader-election-namespace", "", "Namespace of the leader election Lease; default the pod's namespace, or out of a cluster the namespace of --signing-key-secret.")
	fs.DurationVar(&o.leaderElection.leaseDuration, "leader-election-lease-duration", 15*time.Second, "How long a replica waits, after the leader last renewed its lease, before it takes over; the longest a crashed leader leaves reconciling undone.")
	fs.DurationVar(&o.leaderElection.renewDeadline, "leader-election-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew its lease before it stops reconciling (it keeps serving links).")
	// Shorter than controller-runtime's 2 s: a standby notices a renewal, and later the
	// lease's expiry, only when it polls, every 1 to 2.2 retry periods (client-go's
	// jitter). With 2 s a crashed leader's work waited up to about 24 s on a 15 s lease;
	// with 0.5 s about 17 s (SPEC §9: lease + 2 s), for two lease requests a second.
	fs.DurationVar(&o.leaderElection.retryPeriod, "leader-election-retry-period", 500*time.Millisecond, "How often replicas try to acquire or renew the lease; a standby takes over at most about 4 retry periods after the lease duration.")
	fs.StringVar(&o.linkAddr, "link-bind-address", ":8082", "Address the link server binds to.")
	fs.StringVar(&o.linkBaseURL, "link-base-url", "http://localhost:8082", "Public base URL of the link server; issued URLs are <base>/links/<token>.")
	fs.StringVar(&o.signingKeySecret, "signing-key-secret", "filelink-system/filelink-signing-key", "NAMESPACE/NAME of the Secret holding the URL signing keys (entry \"key\" issues, other entries still verify); watched, and created with a random key whenever missing.")
	// client-go's default of 20 QPS would hold the reconcilers to a small fraction of
	// what the API server can take. These defaults sit above what a small control plane
	// serves (about 900 status patches/s on two cores), so the server's own priority and
	// fairness, not a client-side guess, decides; they remain a ceiling against a loop.
	fs.Float64Var(&o.qps, "kube-api-qps", 2000, "Client-side rate limit of requests to the API server, per second.")
	fs.IntVar(&o.burst, "kube-api-burst", 4000, "Client-side burst of requests to the API server.")
	// 8: on two cores 16 shortened the expiry tail (bench row 2, p99 0.4 s instead of up
	// to 1 s) but cost a tenth of the reconcile throughput (row 1) in contention on the
	// API server, once the events kept pace.
	fs.IntVar(&o.concurrency, "max-concurrent-reconciles", 8, "Reconciles run in parallel per controller.")
	fs.Int64Var(&o.contentCacheBytes, "link-content-cache-bytes", linkserver.DefaultContentCacheBytes, "Memory cap, in bytes, for file bodies the link server keeps cached; larger bodies are served too, read from their source per request.")
	fs.IntVar(&o.maxLinkConnections, "link-max-connections", linkserver.DefaultMaxConnections, "Connections the link server keeps open at once; further clients wait in the accept queue.")
	fs.Int64Var(&o.minLinkTransferRate, "link-min-transfer-rate", linkserver.DefaultMinTransferRate, "Slowest rate, in bytes per second, at which a client may take a download before the link server cuts it.")
	fs.IntVar(&o.webhookPort, "webhook-port", 9443, "Port the admission webhook server listens on (when ENABLE_WEBHOOKS is not \"false\").")
	fs.StringVar(&o.webhookCertDir, "webhook-cert-dir", "", "Directory holding tls.crt and tls.key for the webhook server; default controller-runtime's <tmp>/k8s-webhook-server/serving-certs.")
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

	if o.leaderElect {
		if err := checkLeaderElection(o.leaderElection); err != nil {
			return err
		}
	}

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	// Each package states what it needs of the client and cache; the managers' options
	// are assembled here, where every user of them is known. Each manager gets client
	// options of its own: controller-runtime writes its cache into them.
	clientOpts := func() client.Options {
		return client.Options{Cache: &client.CacheOptions{DisableFor: controllers.UncachedObjects()}}
	}
	// Secrets and ConfigMaps are cached only when labelled shareable (SPEC §2).
	cacheOpts := func() cache.Options {
		return cache.Options{DefaultTransform: linkserver.CacheTransform(), ByObject: filesource.CacheByObject()}
	}

	// This manager runs on every replica, leader or not: the link server with its caches,
	// the webhook, probes and metrics. It never campaigns for the lease, so losing the
	// lease or the API server never stops it.
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOptions(o.metricsAddr, o.metricsSecure),
		HealthProbeBindAddress: o.probeAddr,
		PprofBindAddress:       o.pprofAddr,
		Client:                 clientOpts(),
		Cache:                  cacheOpts(),
		WebhookServer:          webhook.NewServer(webhook.Options{Port: o.webhookPort, CertDir: o.webhookCertDir}),
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

	reconcilers := controllers.Config{
		Clock:                   clock.RealClock{},
		Keys:                    keys,
		BaseURL:                 o.linkBaseURL,
		MaxConcurrentReconciles: o.concurrency,
	}
	log.Info("starting manager", "linkBaseURL", o.linkBaseURL, "leaderElect", o.leaderElect)
	if !o.leaderElect {
		// A single replica needs no second manager and no second cache.
		if err := controllers.Setup(ctx, mgr, reconcilers); err != nil {
			return err
		}
		return mgr.Start(ctx)
	}

	le := o.leaderElection
	le.namespace = leaderElectionNamespace(le.namespace, serviceAccountNamespaceFile, keyRef.Namespace)
	build := func() (manager.Manager, error) {
		elected, err := ctrl.NewManager(cfg, electedOptions(le, mgr.GetCache(), clientOpts()))
		if err != nil {
			return nil, err
		}
		if err := controllers.Setup(ctx, elected, reconcilers); err != nil {
			return nil, err
		}
		return elected, nil
	}
	return runTogether(ctx, mgr.Start, func(ctx context.Context) error {
		return runElected(ctx, ctrl.Log.WithName("leader-election"), build)
	})
}

// electedOptions are the options of the manager that runs the reconcilers on the leader
// alone. It reads through the serving manager's cache (sharedCache) rather than a
// cache of its own, which would hold every cached object a second time.
func electedOptions(le leaderElection, serving cache.Cache, clientOpts client.Options) ctrl.Options {
	return ctrl.Options{
		Scheme: scheme,
		// Probes, metrics and webhooks are served by the serving manager; controller
		// metrics land in the same process-wide registry.
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		LeaderElection:          true,
		LeaderElectionID:        "filelink-operator.filelink.dev",
		LeaderElectionNamespace: le.namespace,
		LeaseDuration:           &le.leaseDuration,
		RenewDeadline:           &le.renewDeadline,
		RetryPeriod:             &le.retryPeriod,
		// A replica stopping gracefully hands over at once, so a rolling update leaves
		// no gap without a reconciler (SPEC §6).
		LeaderElectionReleaseOnCancel: true,
		Client:                        clientOpts,
		NewCache:                      newCacheSharing(serving),
		// The controllers are registered anew each time the lease is lost; their names
		// are unique within each of these managers.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	}
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
