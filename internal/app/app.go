// Package app is the manager process (SPEC §6, §11) in one place: its Options (flags and
// their validation), the serving part every replica runs, the elected part that
// reconciles, and Run, which puts them together the one way whether or not leader
// election is on.
//
// A replica is one serving manager: the cache, the link server, the webhook, probes,
// metrics and the live signing key, none of which ever campaigns, so neither a lost lease
// nor a lost API server stops serving. The elected part is one of its runnables: it
// builds a manager for the reconcilers, reading the serving manager's cache, which
// campaigns for the lease with leader election (and simply runs without it), and builds
// another each time a lease is lost.
package app

import (
	"context"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/audit"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/opsmetrics"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	webhookv1alpha1 "github.com/filelink-dev/filelink-operator/internal/webhook/v1alpha1"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(filelinkv1.AddToScheme(scheme))
}

// Run validates o and runs the manager against the cluster controller-runtime's
// --kubeconfig flag (or the pod) points at, until ctx ends or a part fails; it returns
// only once every part has stopped.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	keyRef, _ := o.signingKeyRef()   // Validate has parsed it
	networks, _ := o.storeNetworks() // Validate has parsed them
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	// Opened before anything serves, so an unwritable path stops the start rather than
	// leaving downloads unaudited; closed once the link server has written its last line.
	auditLog, err := audit.Open(o.AuditLog)
	if err != nil {
		return fmt.Errorf("--audit-log: %w", err)
	}
	if auditLog != nil {
		defer auditLog.Close()
	}
	cfg.QPS, cfg.Burst = float32(o.QPS), o.Burst

	s, err := newServing(ctx, cfg, o, keyRef, networks, auditLog)
	if err != nil {
		return err
	}
	var lease *LeaderElection
	if o.LeaderElect {
		le := o.LeaderElection
		le.Namespace = leaderElectionNamespace(le.Namespace, serviceAccountNamespaceFile, keyRef.Namespace)
		lease = &le
	}
	reconcilers := controllers.Config{
		Clock:                   clock.RealClock{},
		Keys:                    s.keys,
		BaseURL:                 o.LinkBaseURL,
		URLsInSecretsOnly:       !o.URLInStatus,
		StoreNetworks:           networks,
		MaxConcurrentReconciles: o.MaxConcurrentReconciles,
		SourceRead:              s.server.KeepBody,
	}
	if err := s.mgr.Add(newElected(cfg, s.mgr, lease, reconcilers)); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "linkBaseURL", o.LinkBaseURL, "leaderElect", o.LeaderElect, "storeNetworks", networks.String())
	return s.mgr.Start(ctx)
}

// clientOptions are the client options of every manager. Each package states what it
// needs of the client and cache; the managers' options are assembled here, where every
// user of them is known. Each manager gets options of its own: controller-runtime writes
// its cache into them.
func clientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: controllers.UncachedObjects()}}
}

// servingCacheOptions are the options of the one cache per replica. Secrets and
// ConfigMaps are cached only when labelled shareable (SPEC §2). With namespaces (SPEC
// §12), every informer lists and watches those namespaces alone: the elected part's
// controllers read this cache, so they never see, reconcile or serve anything else.
// The ByObject entries name no namespaces of their own, so controller-runtime gives
// them these, each with the entry's label selector and transform. The signing key
// Secret and the leader election Lease are read through clients of their own, not this
// cache, so they work wherever their flags put them.
func servingCacheOptions(namespaces []string) cache.Options {
	o := cache.Options{DefaultTransform: linkserver.CacheTransform(), ByObject: filesource.CacheByObject()}
	if len(namespaces) > 0 {
		o.DefaultNamespaces = make(map[string]cache.Config, len(namespaces))
		for _, ns := range namespaces {
			o.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return o
}

// serving is the part every replica runs, leader or not: the cache, the link server,
// the webhook, probes, metrics and the live signing key. Its manager never campaigns,
// so losing the lease or the API server never stops it; keys is the signing key every
// part issues and verifies with.
type serving struct {
	mgr    manager.Manager
	keys   *signing.LiveKey
	server *linkserver.Server
}

func newServing(ctx context.Context, cfg *rest.Config, o Options, keyRef types.NamespacedName, networks *netguard.Policy, auditLog io.Writer) (*serving, error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOptions(o.MetricsAddr, o.MetricsSecure, o.MetricsCertDir),
		HealthProbeBindAddress: o.ProbeAddr,
		PprofBindAddress:       o.PprofAddr,
		Client:                 clientOptions(),
		Cache:                  servingCacheOptions(o.WatchNamespaces),
		WebhookServer:          webhook.NewServer(webhook.Options{Port: o.WebhookPort, CertDir: o.WebhookCertDir}),
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}

	// Every replica follows the key Secret, so a rotation reaches all of them without a
	// restart; it is loaded (or created) here, before anything issues or verifies.
	keys, err := signing.NewLiveKey(ctx, mgr.GetConfig(), keyRef)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(keys); err != nil {
		return nil, err
	}

	proxies, _ := o.trustedProxies() // Validate has parsed them
	server, err := linkserver.Setup(ctx, mgr, linkserver.Options{
		Addr:              o.LinkAddr,
		Keys:              keys,
		Clock:             clock.RealClock{},
		ContentCacheBytes: o.ContentCacheBytes,
		Limits:            linkserver.Limits{MaxConnections: o.MaxLinkConnections, MinTransferRate: o.MinLinkTransferRate},
		StoreNetworks:     networks,
		Uncounted:         !o.DownloadLedger,
		AuditLog:          auditLog,
		Replica:           audit.Replica(),
		TrustedProxies:    proxies,
	})
	if err != nil {
		return nil, fmt.Errorf("setting up link server: %w", err)
	}

	// What the dashboard and alerts read of this replica: links by state, the signing
	// key, the webhook certificate's expiry.
	if err := opsmetrics.Register(ctrlmetrics.Registry, opsmetrics.Sources{Cache: mgr.GetCache(), Keys: keys, Webhooks: o.Webhooks, WebhookCertDir: o.WebhookCertDir}); err != nil {
		return nil, err
	}

	ready := healthz.Ping
	if o.Webhooks {
		if err := (&webhookv1alpha1.FileLinkValidator{Files: mgr.GetAPIReader(), Clock: clock.RealClock{}, Namespaces: o.WatchNamespaces}).SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up FileLink webhook: %w", err)
		}
		ready = mgr.GetWebhookServer().StartedChecker()
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", ready); err != nil {
		return nil, err
	}
	return &serving{mgr: mgr, keys: keys, server: server}, nil
}
