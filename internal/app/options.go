package app

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/leaderelection"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/audit"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/clientip"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
)

// Options are the manager's flags (SPEC §6) plus the knobs that bound its throughput.
// AddFlags declares them with their defaults; Validate refuses, before anything starts,
// every value the process could only fail on later or serve nothing with.
type Options struct {
	MetricsAddr   string
	MetricsSecure bool
	// MetricsCertDir holds tls.crt and tls.key for the metrics server, so that a scraper
	// can verify it (the chart mounts a cert-manager certificate there); empty: the
	// server signs a certificate of its own at start, which nothing can verify.
	MetricsCertDir string
	ProbeAddr      string
	PprofAddr      string

	LinkAddr    string
	LinkBaseURL string
	// URLInStatus is false when links publish their URLs only in Secrets (SPEC §12).
	URLInStatus         bool
	ContentCacheBytes   int64
	MaxLinkConnections  int
	MinLinkTransferRate int64

	// SigningKeySecret is NAMESPACE/NAME of the key Secret.
	SigningKeySecret string

	// WatchNamespaces confines every cache, watch and controller to these namespaces
	// (SPEC §12); empty means every namespace.
	WatchNamespaces []string

	// LeaderElect campaigns for the lease before reconciling; without it the
	// reconcilers run at once.
	LeaderElect    bool
	LeaderElection LeaderElection

	QPS                     float64
	Burst                   int
	MaxConcurrentReconciles int

	// Webhooks serves the admission webhook on WebhookPort with the certificates in
	// WebhookCertDir.
	Webhooks       bool
	WebhookPort    int
	WebhookCertDir string

	// AllowStoreNetworks and DenyStoreNetworks are comma-separated CIDRs of the
	// dial-time address policy for object stores (SPEC §12, netguard): exempted from
	// its built-in denials, and denied on top of them (deny beats allow).
	AllowStoreNetworks string
	DenyStoreNetworks  string

	// DownloadLedger counts the downloads of links without a limit into their status
	// (SPEC §13); limited links are counted whatever it says, as their limit needs.
	DownloadLedger bool
	// AuditLog is where the link server's audit log goes (SPEC §13): "stdout", "off" or
	// a file path.
	AuditLog string
	// TrustedProxies are comma-separated CIDRs (or addresses) of the proxies whose
	// X-Forwarded-For names the client in the audit log.
	TrustedProxies string
}

// LeaderElection are the lease's namespace and timings (by default 15 s, 10 s and 0.5 s).
type LeaderElection struct {
	// Namespace empty means the pod's namespace, or out of a cluster the signing key's
	// (leaderElectionNamespace).
	Namespace                                 string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// AddFlags declares the options' flags with their defaults (SPEC §6) on fs. Webhooks
// is not a flag: kubebuilder's convention turns them off with ENABLE_WEBHOOKS=false, for
// running the manager locally without certificates, so its default is read from there.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint binds to; 0 disables it.")
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", false, "Serve metrics over HTTPS, only to callers authenticated and authorized by the API server (config/default sets it); plain HTTP otherwise.")
	fs.StringVar(&o.MetricsCertDir, "metrics-cert-dir", "", "With --metrics-secure, the directory holding tls.crt and tls.key of the metrics server; empty: a self-signed certificate made at start.")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	fs.StringVar(&o.PprofAddr, "pprof-bind-address", "0", "Address serving Go's net/http/pprof profiles, for finding where CPU and memory go; 0 (the default) disables it. Bind it to loopback: profiles are not authenticated.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles; every replica serves links.")
	fs.StringVar(&o.LeaderElection.Namespace, "leader-election-namespace", "", "Namespace of the leader election Lease; default the pod's namespace, or out of a cluster the namespace of --signing-key-secret.")
	fs.DurationVar(&o.LeaderElection.LeaseDuration, "leader-election-lease-duration", 15*time.Second, "How long a replica waits, after the leader last renewed its lease, before it takes over; the longest a crashed leader leaves reconciling undone.")
	fs.DurationVar(&o.LeaderElection.RenewDeadline, "leader-election-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew its lease before it stops reconciling (it keeps serving links).")
	// Shorter than controller-runtime's 2 s: a standby notices a renewal, and later the
	// lease's expiry, only when it polls, every 1 to 2.2 retry periods (client-go's
	// jitter). With 2 s a crashed leader's work waited up to about 24 s on a 15 s lease;
	// with 0.5 s about 17 s (SPEC §9: lease + 2 s), for two lease requests a second.
	fs.DurationVar(&o.LeaderElection.RetryPeriod, "leader-election-retry-period", 500*time.Millisecond, "How often replicas try to acquire or renew the lease; a standby takes over at most about 4 retry periods after the lease duration.")
	fs.StringVar(&o.LinkAddr, "link-bind-address", ":8082", "Address the link server binds to.")
	fs.BoolVar(&o.URLInStatus, "url-in-status", true, "Write each link's URL into its status.url; false publishes URLs only in the Secret a link's spec.urlSecretName names, and status shows them redacted (a URL is a bearer credential).")
	fs.StringVar(&o.LinkBaseURL, "link-base-url", "http://localhost:8082", "Public base URL of the link server; issued URLs are <base>/links/<token>.")
	fs.Func("watch-namespaces", "Comma-separated namespaces whose Files, FileLinks, FileStores and labelled Secrets and ConfigMaps the manager watches, reconciles and serves; default every namespace. The signing key Secret and the leader election Lease are read wherever their flags put them.", func(s string) error {
		o.WatchNamespaces = splitList(s)
		return nil
	})
	fs.StringVar(&o.SigningKeySecret, "signing-key-secret", "filelink-system/filelink-signing-key", "NAMESPACE/NAME of the Secret holding the URL signing keys (entry \"key\" issues, other entries still verify); watched, and created with a random key whenever missing.")
	// client-go's default of 20 QPS would hold the reconcilers to a small fraction of
	// what the API server can take. These defaults sit above what a small control plane
	// serves (about 900 status patches/s on two cores), so the server's own priority and
	// fairness, not a client-side guess, decides; they remain a ceiling against a loop.
	fs.Float64Var(&o.QPS, "kube-api-qps", 2000, "Client-side rate limit of requests to the API server, per second.")
	fs.IntVar(&o.Burst, "kube-api-burst", 4000, "Client-side burst of requests to the API server.")
	// 8: on two cores 16 shortened the expiry tail (bench row 2, p99 0.4 s instead of up
	// to 1 s) but cost a tenth of the reconcile throughput (row 1) in contention on the
	// API server, once the events kept pace.
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", 8, "Reconciles run in parallel per controller.")
	fs.Int64Var(&o.ContentCacheBytes, "link-content-cache-bytes", linkserver.DefaultContentCacheBytes, "Memory cap, in bytes, for file bodies the link server keeps cached; larger bodies are served too, read from their source per request.")
	fs.IntVar(&o.MaxLinkConnections, "link-max-connections", linkserver.DefaultMaxConnections, "Connections the link server keeps open at once; further clients wait in the accept queue.")
	fs.Int64Var(&o.MinLinkTransferRate, "link-min-transfer-rate", linkserver.DefaultMinTransferRate, "Slowest rate, in bytes per second, at which a client may take a download before the link server cuts it.")
	fs.IntVar(&o.WebhookPort, "webhook-port", 9443, "Port the admission webhook server listens on (when ENABLE_WEBHOOKS is not \"false\").")
	fs.StringVar(&o.WebhookCertDir, "webhook-cert-dir", "", "Directory holding tls.crt and tls.key for the webhook server; default controller-runtime's <tmp>/k8s-webhook-server/serving-certs.")
	fs.StringVar(&o.AllowStoreNetworks, "allow-store-networks", "", "Comma-separated CIDRs (or addresses) that FileStore endpoints may reach although the address policy refuses them by default (loopback, link-local, unspecified, multicast, broadcast); for a store on loopback in development, say 127.0.0.0/8. Checked on the address dialled, after name resolution.")
	fs.StringVar(&o.DenyStoreNetworks, "deny-store-networks", "", "Comma-separated CIDRs (or addresses) that FileStore endpoints may not reach, on top of the default denials, say the cluster's Service and Pod ranges; they win over --allow-store-networks.")
	fs.BoolVar(&o.DownloadLedger, "download-ledger", true, "Count the downloads of links without spec.maxDownloads into status.downloads and status.lastDownloadedAt, written at most once per link every 10 s per replica; false counts only limited links, whose downloads are always reserved in status before they are served.")
	fs.StringVar(&o.AuditLog, "audit-log", audit.Stdout, "Where the link server writes one JSON line per answered request (who downloaded what; never a token, URL or content): \"stdout\", \"off\", or a file path, appended to and created readable by the manager alone.")
	fs.StringVar(&o.TrustedProxies, "trusted-proxies", "", "Comma-separated CIDRs (or addresses) of the proxies in front of the link server whose X-Forwarded-For is believed for the audit log's client address; default none: the client is the connection's peer.")
	o.Webhooks = os.Getenv("ENABLE_WEBHOOKS") != "false"
}

// Validate reports the first option the process could not run with, naming its flag.
// The lease timings are checked only with LeaderElect, the one case they are used in.
func (o *Options) Validate() error {
	if _, err := o.signingKeyRef(); err != nil {
		return err
	}
	if err := checkNamespaces(o.WatchNamespaces); err != nil {
		return fmt.Errorf("--watch-namespaces=%s: %w", strings.Join(o.WatchNamespaces, ","), err)
	}
	if err := checkBaseURL(o.LinkBaseURL); err != nil {
		return fmt.Errorf("--link-base-url: %w", err)
	}
	if err := checkLinkLimits(o); err != nil {
		return err
	}
	if _, err := o.storeNetworks(); err != nil {
		return err
	}
	if err := audit.CheckDestination(o.AuditLog); err != nil {
		return fmt.Errorf("--audit-log: %w", err)
	}
	if _, err := o.trustedProxies(); err != nil {
		return err
	}
	if o.LeaderElect {
		return checkLeaderElection(o.LeaderElection)
	}
	return nil
}

// signingKeyRef is SigningKeySecret parsed; Validate has refused it when this fails.
func (o *Options) signingKeyRef() (types.NamespacedName, error) {
	ref, err := parseNamespacedName(o.SigningKeySecret)
	if err != nil {
		return ref, fmt.Errorf("--signing-key-secret: %w", err)
	}
	return ref, nil
}

// storeNetworks is the address policy the store network flags describe; Validate has
// refused them when this fails.
func (o *Options) storeNetworks() (*netguard.Policy, error) {
	allow, err := netguard.ParseNetworks(o.AllowStoreNetworks)
	if err != nil {
		return nil, fmt.Errorf("--allow-store-networks: %w", err)
	}
	deny, err := netguard.ParseNetworks(o.DenyStoreNetworks)
	if err != nil {
		return nil, fmt.Errorf("--deny-store-networks: %w", err)
	}
	return netguard.New(allow, deny), nil
}

// trustedProxies are the networks TrustedProxies names; Validate has refused them when
// this fails.
func (o *Options) trustedProxies() (clientip.Proxies, error) {
	p, err := clientip.Parse(o.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	return p, nil
}

func parseNamespacedName(s string) (types.NamespacedName, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return types.NamespacedName{}, fmt.Errorf("%q is not NAMESPACE/NAME", s)
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

// splitList splits a comma-separated flag value, keeping empty items for Validate to
// refuse (a stray comma is a typo, not "every namespace"); an empty value is no items.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	items := strings.Split(s, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return items
}

// checkNamespaces refuses a namespace list the cache would take but no namespace could
// ever match (a typo would otherwise leave the install watching nothing, silently).
func checkNamespaces(namespaces []string) error {
	seen := make(map[string]bool, len(namespaces))
	for _, ns := range namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
		}
		if seen[ns] {
			return fmt.Errorf("namespace %q is listed twice", ns)
		}
		seen[ns] = true
	}
	return nil
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
func checkLinkLimits(o *Options) error {
	switch {
	case o.ContentCacheBytes <= 0:
		return fmt.Errorf("--link-content-cache-bytes=%d: must be a positive number of bytes (default %d); bodies larger than it are still served, just not kept", o.ContentCacheBytes, linkserver.DefaultContentCacheBytes)
	case o.MaxLinkConnections <= 0:
		return fmt.Errorf("--link-max-connections=%d: must be at least 1 (default %d)", o.MaxLinkConnections, linkserver.DefaultMaxConnections)
	case o.MinLinkTransferRate <= 0:
		return fmt.Errorf("--link-min-transfer-rate=%d: must be a positive number of bytes per second (default %d)", o.MinLinkTransferRate, linkserver.DefaultMinTransferRate)
	}
	return nil
}

// checkLeaderElection refuses timings the leader elector would reject only at start, or
// with which a leader could never keep its lease.
func checkLeaderElection(le LeaderElection) error {
	switch {
	case le.LeaseDuration <= 0 || le.RenewDeadline <= 0 || le.RetryPeriod <= 0:
		return fmt.Errorf("--leader-election-lease-duration=%s, --leader-election-renew-deadline=%s, --leader-election-retry-period=%s: each must be positive", le.LeaseDuration, le.RenewDeadline, le.RetryPeriod)
	case le.RenewDeadline >= le.LeaseDuration:
		return fmt.Errorf("--leader-election-renew-deadline=%s: must be shorter than --leader-election-lease-duration=%s", le.RenewDeadline, le.LeaseDuration)
	// client-go's elector retries a renewal up to JitterFactor retry periods apart, and
	// refuses to start unless the deadline leaves room for one such wait.
	case le.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(le.RetryPeriod)):
		return fmt.Errorf("--leader-election-retry-period=%s: must be shorter than --leader-election-renew-deadline=%s divided by %.1f", le.RetryPeriod, le.RenewDeadline, leaderelection.JitterFactor)
	}
	return nil
}
