package opsmetrics

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// scrape registers s on a fresh registry and returns every sample by name and label
// values, as a scraper would see them.
func scrape(t *testing.T, s Sources) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := Register(reg, s); err != nil {
		t.Fatal(err)
	}
	return gather(t, reg)
}

func gather(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

// fakeCache is a cache whose FileLink informer is a client-go store, as the manager's is.
type fakeCache struct {
	cache.Cache
	informer *fakeInformer
}

func (c fakeCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return c.informer, nil
}

type fakeInformer struct {
	cache.Informer
	synced bool
	store  toolscache.Indexer
}

func (i *fakeInformer) HasSynced() bool                { return i.synced }
func (i *fakeInformer) GetIndexer() toolscache.Indexer { return i.store }

func link(name, reason string) *filelinkv1.FileLink {
	l := &filelinkv1.FileLink{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	if reason != "" {
		l.Status.Conditions = []metav1.Condition{{Type: filelinkv1.ConditionReady, Status: metav1.ConditionTrue, Reason: reason}}
	}
	return l
}

func TestLinksByReason(t *testing.T) {
	store := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{})
	for _, l := range []*filelinkv1.FileLink{
		link("a", filelinkv1.ReasonActive), link("b", filelinkv1.ReasonActive), link("c", filelinkv1.ReasonExpired),
		link("d", ""), link("e", "SomethingNew"),
	} {
		if err := store.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	inf := &fakeInformer{store: store}

	if got := scrape(t, Sources{Cache: fakeCache{informer: inf}}); len(got) != 0 {
		t.Errorf("before the cache has synced: %v", got)
	}

	inf.synced = true
	got := scrape(t, Sources{Cache: fakeCache{informer: inf}})
	want := map[string]float64{
		"filelink_links,reason=Active": 2, "filelink_links,reason=Expired": 1, "filelink_links,reason=DownloadLimitReached": 0, "filelink_links,reason=Pending": 1,
		"filelink_links,reason=SomethingNew": 1, "filelink_links,reason=FileNotFound": 0,
		"filelink_links,reason=FileNotReady": 0, "filelink_links,reason=PurposeNotLinkable": 0,
	}
	if len(got) != len(want) {
		t.Errorf("samples %v, want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (exported: %v), want %v", k, g, ok, v)
		}
	}
}

// listingCache is a cache whose informer has no store to read (a namespace-scoped
// cache's spans several), so the links are listed.
type listingCache struct {
	cache.Cache
	links []filelinkv1.FileLink
}

type syncedInformer struct{ cache.Informer }

func (syncedInformer) HasSynced() bool { return true }

func (c listingCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return syncedInformer{}, nil
}

func (c listingCache) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	list.(*filelinkv1.FileLinkList).Items = c.links
	return nil
}

func TestLinksByReasonListed(t *testing.T) {
	got := scrape(t, Sources{Cache: listingCache{links: []filelinkv1.FileLink{
		*link("a", filelinkv1.ReasonFileNotFound), *link("b", filelinkv1.ReasonFileNotFound), *link("c", ""),
	}}})
	if got["filelink_links,reason=FileNotFound"] != 2 || got["filelink_links,reason=Pending"] != 1 || got["filelink_links,reason=Active"] != 0 {
		t.Errorf("%v", got)
	}
}

func TestSigningKeyPresent(t *testing.T) {
	key := make([]byte, signing.MinKeyLength)
	_, _ = rand.Read(key)
	signer, err := signing.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		keys signing.Keys
		want float64
	}{{signing.Fixed(signer), 1}, {signing.Fixed(nil), 0}} {
		got := scrape(t, Sources{Keys: c.keys})
		if v, ok := got["filelink_signing_key_present"]; !ok || v != c.want {
			t.Errorf("with signer %v: %v", c.keys.Current() != nil, got)
		}
	}
}

// writeCert writes a self-signed certificate valid until notAfter, after its key as
// cert-manager's tls.crt never has but a hand-made bundle may.
func writeCert(t *testing.T, path string, notAfter time.Time) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "webhook"},
		NotBefore: notAfter.Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookCertificateExpiry(t *testing.T) {
	dir := t.TempDir()
	const name = "filelink_webhook_certificate_expiry_timestamp_seconds"
	reg := prometheus.NewRegistry()
	if err := Register(reg, Sources{Webhooks: true, WebhookCertDir: dir}); err != nil {
		t.Fatal(err)
	}
	if got := gather(t, reg); len(got) != 0 {
		t.Errorf("without a certificate: %v", got)
	}

	notAfter := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	writeCert(t, filepath.Join(dir, "tls.crt"), notAfter)
	if got := gather(t, reg); got[name] != float64(notAfter.Unix()) {
		t.Errorf("%v, want %s = %d", got, name, notAfter.Unix())
	}
	// A renewal shows at the next scrape.
	renewed := notAfter.Add(60 * 24 * time.Hour)
	writeCert(t, filepath.Join(dir, "tls.crt"), renewed)
	if got := gather(t, reg); got[name] != float64(renewed.Unix()) {
		t.Errorf("after renewal %v, want %d", got, renewed.Unix())
	}

	if got := scrape(t, Sources{Webhooks: false, WebhookCertDir: dir}); len(got) != 0 {
		t.Errorf("webhooks off: %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := gather(t, reg); len(got) != 0 {
		t.Errorf("unreadable certificate: %v", got)
	}
}

// A manager started again in the same process registers anew; the series must then come
// from its sources, not the first manager's.
func TestRegisterReplaces(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := Register(reg, Sources{Keys: signing.Fixed(nil)}); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, signing.MinKeyLength)
	_, _ = rand.Read(key)
	signer, err := signing.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(reg, Sources{Keys: signing.Fixed(signer)}); err != nil {
		t.Fatal(err)
	}
	if got := gather(t, reg); got["filelink_signing_key_present"] != 1 {
		t.Errorf("%v", got)
	}
}
