// Package opsmetrics exports what a replica holds, as the dashboard and the alerts of
// config/grafana and config/prometheus read it. Every series is computed when it is
// scraped, from the replica's own state, so none can drift from what the replica
// serves with:
//
//   - filelink_links{reason}: FileLinks in the replica's informer cache by the reason of
//     their Ready condition (Active, Expired, FileNotFound, FileNotReady,
//     PurposeNotLinkable, and any reason a later version adds), "Pending" for links not
//     reconciled yet. The known reasons are always exported, at zero when no link has
//     them, so a query for one returns 0 rather than nothing. There is deliberately no
//     namespace or per-link label: namespaces are as many as the cluster's tenants, and
//     the count of a namespace is one `kubectl get` away. Nothing is exported until the
//     cache has synced, so a starting replica never reports a dip. Every replica caches
//     every link, so aggregate across replicas with max, not sum.
//   - filelink_signing_key_present: 1 while the replica holds a usable active signing
//     key, 0 while it holds none (the key Secret is missing or holds no usable key, and
//     every link answers as if unknown).
//   - filelink_webhook_certificate_expiry_timestamp_seconds: the NotAfter of the webhook
//     server's certificate (tls.crt in its certificate directory), read on every scrape
//     so that a renewal by cert-manager shows at once. No sample without webhooks or
//     without a readable certificate.
package opsmetrics

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// ReasonPending is the reason filelink_links gives a link without a Ready condition.
const ReasonPending = "Pending"

// knownReasons are exported even at zero.
var knownReasons = []string{
	filelinkv1.ReasonActive, filelinkv1.ReasonExpired, filelinkv1.ReasonDownloadLimitReached, filelinkv1.ReasonFileNotFound,
	filelinkv1.ReasonFileNotReady, filelinkv1.ReasonPurposeNotLinkable, ReasonPending,
}

// Sources are what the metrics read.
type Sources struct {
	// Cache is the replica's informer cache; its FileLink informer is counted.
	Cache cache.Cache
	// Keys is the replica's signing key.
	Keys signing.Keys
	// Webhooks says whether the replica serves the admission webhook, with the
	// certificate in WebhookCertDir (empty: controller-runtime's default directory).
	Webhooks       bool
	WebhookCertDir string
}

// Register adds the collector reading s to reg. A collector registered before by a
// manager of the same process (tests start several) is replaced: it reads a cache that
// has stopped.
func Register(reg prometheus.Registerer, s Sources) error {
	c := &collector{s: s, scrapeTimeout: 5 * time.Second}
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return err
		}
		reg.Unregister(already.ExistingCollector)
		return reg.Register(c)
	}
	return nil
}

var (
	linksDesc = prometheus.NewDesc("filelink_links",
		"FileLinks in the replica's cache by the reason of their Ready condition (Pending: not reconciled yet).",
		[]string{"reason"}, nil)
	keyDesc = prometheus.NewDesc("filelink_signing_key_present",
		"1 while the replica holds a usable active signing key, 0 while links can be neither issued nor verified.",
		nil, nil)
	certDesc = prometheus.NewDesc("filelink_webhook_certificate_expiry_timestamp_seconds",
		"NotAfter, in Unix seconds, of the webhook server's serving certificate.",
		nil, nil)
)

// collector computes every series on scrape from Sources.
type collector struct {
	s             Sources
	scrapeTimeout time.Duration
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- linksDesc
	ch <- keyDesc
	ch <- certDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if counts, ok := c.links(); ok {
		for _, reason := range slices.Sorted(maps.Keys(counts)) {
			ch <- prometheus.MustNewConstMetric(linksDesc, prometheus.GaugeValue, float64(counts[reason]), reason)
		}
	}
	if c.s.Keys != nil {
		present := 0.0
		if c.s.Keys.Current() != nil {
			present = 1
		}
		ch <- prometheus.MustNewConstMetric(keyDesc, prometheus.GaugeValue, present)
	}
	if c.s.Webhooks {
		if notAfter, err := CertificateExpiry(filepath.Join(WebhookCertDir(c.s.WebhookCertDir), "tls.crt")); err == nil {
			ch <- prometheus.MustNewConstMetric(certDesc, prometheus.GaugeValue, float64(notAfter.Unix()))
		}
	}
}

// indexed is what controller-runtime's informers are: client-go shared informers, whose
// store is read without copying each object, as the link server reads it. A cache with
// other informers is listed without deep copies instead.
type indexed interface{ GetIndexer() toolscache.Indexer }

// links counts the cached FileLinks by reason; false until the informer has synced.
func (c *collector) links() (map[string]int, bool) {
	if c.s.Cache == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.scrapeTimeout)
	defer cancel()
	// The link server asked for this informer at setup, so this finds it; a scrape must
	// not wait for it to sync.
	inf, err := c.s.Cache.GetInformer(ctx, &filelinkv1.FileLink{}, cache.BlockUntilSynced(false))
	if err != nil || !inf.HasSynced() {
		return nil, false
	}
	counts := make(map[string]int, len(knownReasons))
	for _, r := range knownReasons {
		counts[r] = 0
	}
	count := func(l *filelinkv1.FileLink) {
		reason := ReasonPending
		if cond := meta.FindStatusCondition(l.Status.Conditions, filelinkv1.ConditionReady); cond != nil && cond.Reason != "" {
			reason = cond.Reason
		}
		counts[reason]++
	}
	if ix, ok := inf.(indexed); ok {
		for _, obj := range ix.GetIndexer().List() {
			if l, ok := obj.(*filelinkv1.FileLink); ok {
				count(l)
			}
		}
		return counts, true
	}
	var list filelinkv1.FileLinkList
	if err := c.s.Cache.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, false
	}
	for i := range list.Items {
		count(&list.Items[i])
	}
	return counts, true
}

// WebhookCertDir is the directory the webhook server reads its certificate from when
// given dir: controller-runtime's default when dir is empty.
func WebhookCertDir(dir string) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")
}

// CertificateExpiry is the NotAfter of the first certificate in the PEM file at path,
// the server's own (a chain follows it).
func CertificateExpiry(path string) (time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return time.Time{}, errors.New(path + ": no PEM certificate")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return time.Time{}, err
		}
		return cert.NotAfter, nil
	}
}
