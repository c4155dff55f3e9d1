package install

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// exportedAfterObservation are metrics the dashboard or alerts read that a manager
// exports only once it has counted something this test does not exercise, each with
// what would make it appear. The test fails when one of them is exported after all, so
// that the list only ever shrinks.
// None at present: the store request counter, the last one, exports its series at zero.
var exportedAfterObservation = map[string]string{}

// targetLabels are the labels the Prometheus Operator's ServiceMonitor gives every
// series it scrapes.
var targetLabels = []string{"namespace", "pod", "service", "job", "instance", "container", "endpoint"}

// TestDashboardAndAlertsReadExportedMetrics runs the manager binary as a replica runs it
// (leader election on, the project's CRDs installed for real), has it issue and serve a
// link and answer an unknown token, scrapes its metrics endpoint and checks that every
// metric the dashboard and the alerts select is among what it exports.
func TestDashboardAndAlertsReadExportedMetrics(t *testing.T) {
	used, matched := usedMetrics(t)
	if t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()

	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfPathMissing: true,
	}); err != nil {
		t.Fatal(err)
	}
	const system, app = "metrics-system", "metrics-app"
	createNamespace(t, system)
	createNamespace(t, app)

	dir := t.TempDir()
	bin := filepath.Join(dir, "manager")
	build := exec.CommandContext(ctx, "go", "-C", filepath.Join("..", ".."), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, out)
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	metricsAddr, probeAddr, linkAddr, webhookAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	_, webhookPort, _ := net.SplitHostPort(webhookAddr)
	// The webhook server runs (no API server calls it: nothing registers it) so that its
	// certificate's expiry is exported.
	certDir := filepath.Join(dir, "webhook-certs")
	notAfter := writeServingCert(t, certDir)
	var log bytes.Buffer
	// The process outlives this function's deferred cancel: the cleanup below stops it,
	// gracefully first.
	mgr := exec.CommandContext(context.WithoutCancel(ctx), bin,
		"--kubeconfig="+kc,
		"--metrics-bind-address="+metricsAddr, "--health-probe-bind-address="+probeAddr,
		"--link-bind-address="+linkAddr, "--link-base-url=http://"+linkAddr,
		"--signing-key-secret="+system+"/filelink-signing-key",
		"--leader-elect", "--leader-election-namespace="+system,
		"--leader-election-lease-duration=4s", "--leader-election-renew-deadline=2s", "--leader-election-retry-period=200ms",
		"--webhook-port="+webhookPort, "--webhook-cert-dir="+certDir)
	mgr.Env = append(os.Environ(), "ENABLE_WEBHOOKS=true")
	mgr.Stdout, mgr.Stderr = &log, &log
	if err := mgr.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = mgr.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = mgr.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = mgr.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("manager log:\n%s", log.String())
		}
	})
	await(ctx, t, "the manager to be ready", func() bool {
		code, _ := get(ctx, "http://"+probeAddr+"/readyz")
		return code == http.StatusOK
	})

	if err := k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "docs", Labels: map[string]string{"filelink.dev/shareable": "true"}},
		Data:       map[string][]byte{"logo.png": []byte("not really a PNG")},
	}); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []map[string]any{
		{"kind": "File", "metadata": map[string]any{"namespace": app, "name": "logo"},
			"spec": map[string]any{"purpose": "business_logo", "source": map[string]any{"secret": map[string]any{"name": "docs", "key": "logo.png"}}}},
		{"kind": "FileLink", "metadata": map[string]any{"namespace": app, "name": "logo"}, "spec": map[string]any{"file": "logo"}},
	} {
		obj["apiVersion"] = "filelink.dev/v1alpha1"
		if err := k8s.Create(ctx, &unstructured.Unstructured{Object: obj}); err != nil {
			t.Fatal(err)
		}
	}
	var url string
	await(ctx, t, "the FileLink to be Active", func() bool {
		var l unstructured.Unstructured
		l.SetAPIVersion("filelink.dev/v1alpha1")
		l.SetKind("FileLink")
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: app, Name: "logo"}, &l); err != nil {
			return false
		}
		url, _, _ = unstructured.NestedString(l.Object, "status", "url")
		conds, _, _ := unstructured.NestedSlice(l.Object, "status", "conditions")
		return url != "" && slices.ContainsFunc(conds, func(c any) bool {
			m, _ := c.(map[string]any)
			return m["type"] == "Ready" && m["reason"] == "Active"
		})
	})
	// The link server reads its own cache, which may trail the status it just saw.
	await(ctx, t, "the link to download", func() bool {
		code, body := get(ctx, url)
		return code == http.StatusOK && body == "not really a PNG"
	})
	if code, _ := get(ctx, "http://"+linkAddr+"/links/"+strings.Repeat("A", 43)); code != http.StatusNotFound {
		t.Errorf("an unknown token: %d, want 404", code)
	}

	var families map[string]*dto.MetricFamily
	await(ctx, t, "the metrics of the leader, the link and both answers", func() bool {
		families = scrapeMetrics(ctx, t, "http://"+metricsAddr+"/metrics")
		return value(families, "leader_election_master_status", map[string]string{"name": "filelink-operator.filelink.dev"}) == 1 &&
			value(families, "filelink_links", map[string]string{"reason": "Active"}) == 1 &&
			value(families, "filelink_link_requests_total", map[string]string{"code": "200"}) >= 1 &&
			value(families, "filelink_link_requests_total", map[string]string{"code": "404"}) >= 1
	})
	if v := value(families, "filelink_signing_key_present", nil); v != 1 {
		t.Errorf("filelink_signing_key_present %v, want 1", v)
	}
	if v := value(families, "filelink_webhook_certificate_expiry_timestamp_seconds", nil); v != float64(notAfter.Unix()) {
		t.Errorf("filelink_webhook_certificate_expiry_timestamp_seconds %v, want %d", v, notAfter.Unix())
	}

	exported := map[string]bool{}
	exportedLabels := map[string]map[string]bool{}
	for name, f := range families {
		ls := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				ls[l.GetName()] = true
			}
		}
		for _, n := range sampleNames(name, f.GetType()) {
			exported[n] = true
			exportedLabels[n] = ls
		}
	}
	// Labels a query matches on must be the manager's own or ones Prometheus adds to
	// every series of a target.
	for name, ls := range matched {
		if !exported[name] {
			continue
		}
		for _, l := range ls {
			if !exportedLabels[name][l] && !slices.Contains(targetLabels, l) {
				t.Errorf("%s is matched on label %q, which the manager does not export (it has %v)", name, l, exportedLabels[name])
			}
		}
	}
	for _, name := range slices.Sorted(mapKeys(used)) {
		why, later := exportedAfterObservation[name]
		switch {
		case exported[name] && later:
			t.Errorf("%s is exported now; remove it from exportedAfterObservation", name)
		case exported[name]:
		case later:
			t.Logf("%s (%v) appears only after %s, which this test does not exercise", name, used[name], why)
		default:
			t.Errorf("%s, read by %v, is not exported by a running manager", name, used[name])
		}
	}
	for name := range exportedAfterObservation {
		if _, ok := used[name]; !ok {
			t.Errorf("exportedAfterObservation lists %s, which nothing reads", name)
		}
	}
}

// sampleNames are the names a family's samples carry in the text format: a histogram's
// _bucket, _sum and _count, a summary's quantiles under its own name besides.
func sampleNames(name string, typ dto.MetricType) []string {
	switch typ {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return []string{name + "_bucket", name + "_sum", name + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{name, name + "_sum", name + "_count"}
	default:
		return []string{name}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// value is the sum of the gauge or counter samples of family name whose labels include
// want; -1 when there is none.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return -1
	}
	sum, found := 0.0, false
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		found = true
		sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	if !found {
		return -1
	}
	return sum
}

func scrapeMetrics(ctx context.Context, t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(ctx, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return families
}

// get returns the status and body of a GET, 0 when the server did not answer.
func get(ctx context.Context, url string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func await(ctx context.Context, t *testing.T, what string, done func() bool) {
	t.Helper()
	for !done() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// writeServingCert writes a self-signed tls.crt and tls.key for 127.0.0.1 into dir and
// returns the certificate's NotAfter.
func writeServingCert(t *testing.T, dir string) time.Time {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "webhook"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{"tls.crt": {Type: "CERTIFICATE", Bytes: der}, "tls.key": {Type: "EC PRIVATE KEY", Bytes: key}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return notAfter
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return fmt.Sprint(l.Addr())
}
