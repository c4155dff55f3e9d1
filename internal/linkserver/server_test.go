package linkserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/lastmodified"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

var content = []byte("%PDF-1.7\nthe evidence, exactly these bytes\n")

// fixture is a Secret, a linkable File reading it and a FileLink to the File.
type fixture struct {
	ns     string
	secret *corev1.Secret
	file   *filelinkv1.File
	link   *filelinkv1.FileLink
}

func (f *fixture) url() string { return signer.URL(base, f.link.UID) }

func newFixture(t testing.TB, mutate func(*fixture)) *fixture {
	t.Helper()
	ns := newNamespace(t)
	f := &fixture{
		ns:     ns,
		secret: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "docs", Labels: shareable()}, Data: map[string][]byte{"evidence": content}},
		file: &filelinkv1.File{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "evidence"},
			Spec: filelinkv1.FileSpec{Purpose: filelinkv1.PurposeDisputeEvidence, Filename: "evidence.pdf",
				Source: filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: "docs", Key: "evidence"}}},
		},
		link: &filelinkv1.FileLink{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "share"}, Spec: filelinkv1.FileLinkSpec{File: "evidence"}},
	}
	if mutate != nil {
		mutate(f)
	}
	for _, o := range []client.Object{f.secret, f.file, f.link} {
		if o.GetName() == "" {
			continue
		}
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if o == client.Object(f.file) {
			markReady(t, f.file)
		}
	}
	return f
}

var shareable = framework.Shareable

// markReady writes what the File controller, which does not run here, writes once it
// has read the File's source: Ready=True for the current generation.
func markReady(t testing.TB, file *filelinkv1.File) {
	t.Helper()
	setReady(t, file, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
}

func setReady(t testing.TB, file *filelinkv1.File, status metav1.ConditionStatus, reason string) {
	t.Helper()
	writeReady(t, file, &file.Status.ObservedGeneration, &file.Status.Conditions, status, reason)
}

// writeReady writes obj's status as its controller would once it has seen obj's
// current generation: observed (the status' observedGeneration) and a Ready condition
// in conditions, both for that generation.
func writeReady(t testing.TB, obj client.Object, observed *int64, conditions *[]metav1.Condition, status metav1.ConditionStatus, reason string) {
	t.Helper()
	*observed = obj.GetGeneration()
	meta.SetStatusCondition(conditions, metav1.Condition{Type: filelinkv1.ConditionReady, Status: status,
		Reason: reason, Message: "set by the test", ObservedGeneration: obj.GetGeneration()})
	if err := k8s.Status().Update(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

// received is what a test keeps of a response whose body it has read and closed.
type received = framework.Received

func receivedOf(r *http.Response) *received { return framework.ReceivedOf(r) }

// connect opens a TCP connection to addr, a host:port or a base URL.
func connect(t testing.TB, addr string) net.Conn {
	t.Helper()
	var d net.Dialer
	conn, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func request(t testing.TB, method, url string, header map[string]string) (*received, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return framework.Fetch(t, req)
}

// eventuallyStatus waits until url answers code: the informer cache sees a new object a
// few milliseconds after the API server stores it.
func eventuallyStatus(t testing.TB, url string, code int) {
	t.Helper()
	NewWithT(t).Eventually(func() int {
		resp, _ := request(t, http.MethodGet, url, nil)
		return resp.StatusCode
	}).WithTimeout(10 * time.Second).WithPolling(10 * time.Millisecond).Should(Equal(code))
}

func etagOf(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + hex.EncodeToString(s[:]) + `"`
}

func wantSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "private, no-store",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestDownloadServesExactBytesAndHeaders(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)

	resp, body := request(t, http.MethodGet, f.url(), nil)
	if string(body) != string(content) {
		t.Fatalf("body %q, want %q", body, content)
	}
	h := resp.Header
	want := map[string]string{
		"Content-Type":        "application/pdf",
		"Content-Length":      "43",
		"Content-Disposition": `attachment; filename="evidence.pdf"; filename*=UTF-8''evidence.pdf`,
		"ETag":                etagOf(content),
		"Accept-Ranges":       "bytes",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	wantSecurityHeaders(t, h)
	// Last-Modified is when the Secret last changed, as the API server recorded it.
	stored := &corev1.Secret{}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(f.secret), stored); err != nil {
		t.Fatal(err)
	}
	if want := lastmodified.Of(stored).UTC().Format(http.TimeFormat); h.Get("Last-Modified") != want {
		t.Errorf("Last-Modified %q, want %q", h.Get("Last-Modified"), want)
	}
}

func TestHead(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	resp, body := request(t, http.MethodHead, f.url(), nil)
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("HEAD: %d with %d body bytes", resp.StatusCode, len(body))
	}
	if resp.Header.Get("Content-Length") != "43" || resp.Header.Get("ETag") != etagOf(content) {
		t.Errorf("HEAD headers %v", resp.Header)
	}
}

func TestRangeAndConditionalRequests(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	get, _ := request(t, http.MethodGet, f.url(), nil)
	lastModified := get.Header.Get("Last-Modified")

	cases := []struct {
		name     string
		header   map[string]string
		wantCode int
		wantBody string
	}{
		{"range", map[string]string{"Range": "bytes=2-5"}, http.StatusPartialContent, string(content[2:6])},
		{"suffix range", map[string]string{"Range": "bytes=-6"}, http.StatusPartialContent, string(content[len(content)-6:])},
		{"unsatisfiable range", map[string]string{"Range": "bytes=1000-"}, http.StatusRequestedRangeNotSatisfiable, ""},
		{"if-none-match hit", map[string]string{"If-None-Match": etagOf(content)}, http.StatusNotModified, ""},
		{"if-none-match miss", map[string]string{"If-None-Match": `"other"`}, http.StatusOK, string(content)},
		{"if-modified-since", map[string]string{"If-Modified-Since": lastModified}, http.StatusNotModified, ""},
		{"if-match miss", map[string]string{"If-Match": `"other"`}, http.StatusPreconditionFailed, ""},
		{"if-range stale", map[string]string{"Range": "bytes=0-1", "If-Range": `"other"`}, http.StatusOK, string(content)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := request(t, http.MethodGet, f.url(), c.header)
			if resp.StatusCode != c.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.wantCode)
			}
			if c.wantBody != "" && string(body) != c.wantBody {
				t.Errorf("body %q, want %q", body, c.wantBody)
			}
			wantSecurityHeaders(t, resp.Header)
		})
	}
}

func TestNotFoundForAnythingButAValidToken(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	valid := f.url()
	token := valid[strings.LastIndex(valid, "/")+1:]
	tampered := []byte(token)
	tampered[5] ^= 1 // 'k'-style flip keeps it base64url
	if tampered[5] == '-' || tampered[5] == '_' {
		tampered[5] = 'A'
	}
	paths := map[string]string{
		"unknown well-formed token": "/links/" + strings.Repeat("A", 43),
		"random token":              "/links/Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg",
		"truncated token":           "/links/" + token[:42],
		"tampered token":            "/links/" + string(tampered),
		"token with suffix":         "/links/" + token + "A",
		"empty token":               "/links/",
		"no token":                  "/links",
		"extra segment":             "/links/" + token + "/x",
		"root":                      "/",
		"token without prefix":      "/" + token,
	}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			resp, body := request(t, http.MethodGet, base+path, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("%s: status %d, want 404", path, resp.StatusCode)
			}
			if strings.TrimSpace(string(body)) != "not found" {
				t.Errorf("404 body %q says more than \"not found\"", body)
			}
			wantSecurityHeaders(t, resp.Header)
		})
	}
}

func TestMethodsOtherThanGetAndHeadAre405(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		for _, url := range []string{f.url(), base + "/links/unknown"} {
			resp, _ := request(t, m, url, nil)
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q", m, url, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
	}
}

func TestGoneFromTheInstantOfExpiry(t *testing.T) {
	expires := metav1.NewTime(clk.Now().Add(time.Hour).Truncate(time.Second).Add(time.Second))
	f := newFixture(t, func(f *fixture) { f.link.Spec.ExpiresAt = &expires })
	eventuallyStatus(t, f.url(), http.StatusOK)

	clk.SetTime(expires.Add(-time.Nanosecond))
	if resp, _ := request(t, http.MethodGet, f.url(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("one nanosecond before expiry: %d", resp.StatusCode)
	}
	clk.SetTime(expires.Time)
	resp, body := request(t, http.MethodGet, f.url(), nil)
	if resp.StatusCode != http.StatusGone || strings.TrimSpace(string(body)) != "expired" {
		t.Fatalf("at expiresAt: %d %q, want 410 \"expired\"", resp.StatusCode, body)
	}
	wantSecurityHeaders(t, resp.Header)
	if resp, _ := request(t, http.MethodHead, f.url(), nil); resp.StatusCode != http.StatusGone {
		t.Errorf("HEAD at expiresAt: %d", resp.StatusCode)
	}
}

func TestExpiredStatusIsTerminalEvenWithoutExpiresAt(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	f.link.Status.Expired = true
	f.link.Status.ObservedGeneration = f.link.Generation
	if err := k8s.Status().Update(context.Background(), f.link); err != nil {
		t.Fatal(err)
	}
	eventuallyStatus(t, f.url(), http.StatusGone)
}

func TestNotFoundOnceTheLinkIsDeleted(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	if err := k8s.Delete(context.Background(), f.link); err != nil {
		t.Fatal(err)
	}
	eventuallyStatus(t, f.url(), http.StatusNotFound)
}

// TestNotFoundWhenTheFileCannotBeServed checks each 404, then repairs its cause and sees
// the link serve, so a 404 for any other reason would fail it.
func TestNotFoundWhenTheFileCannotBeServed(t *testing.T) {
	ctx := context.Background()
	notFoundFor := func(t *testing.T, f *fixture) {
		t.Helper()
		NewWithT(t).Consistently(func() int {
			resp, _ := request(t, http.MethodGet, f.url(), nil)
			return resp.StatusCode
		}).WithTimeout(300 * time.Millisecond).Should(Equal(http.StatusNotFound))
	}
	t.Run("no File", func(t *testing.T) {
		f := newFixture(t, func(f *fixture) { f.file.Name = "" })
		notFoundFor(t, f)
		f.file.Name = "evidence"
		if err := k8s.Create(ctx, f.file); err != nil {
			t.Fatal(err)
		}
		markReady(t, f.file)
		eventuallyStatus(t, f.url(), http.StatusOK)
	})
	t.Run("purpose not linkable", func(t *testing.T) {
		f := newFixture(t, func(f *fixture) { f.file.Spec.Purpose = filelinkv1.PurposeIdentityDocument })
		notFoundFor(t, f)
		// The purpose is immutable: the File is replaced by one with a linkable purpose.
		if err := k8s.Delete(ctx, f.file); err != nil {
			t.Fatal(err)
		}
		eventuallyStatus(t, f.url(), http.StatusNotFound)
		f.file.ResourceVersion, f.file.Spec.Purpose = "", filelinkv1.PurposeIdentityDocumentDownloadable
		if err := k8s.Create(ctx, f.file); err != nil {
			t.Fatal(err)
		}
		markReady(t, f.file)
		eventuallyStatus(t, f.url(), http.StatusOK)
	})
	t.Run("no source Secret", func(t *testing.T) {
		f := newFixture(t, func(f *fixture) { f.secret.Name = "" })
		notFoundFor(t, f)
		f.secret.Name = "docs"
		if err := k8s.Create(ctx, f.secret); err != nil {
			t.Fatal(err)
		}
		eventuallyStatus(t, f.url(), http.StatusOK)
	})
	t.Run("key missing from the Secret", func(t *testing.T) {
		f := newFixture(t, func(f *fixture) { f.secret.Data = map[string][]byte{"other": content} })
		notFoundFor(t, f)
		f.secret.Data["evidence"] = content
		if err := k8s.Update(ctx, f.secret); err != nil {
			t.Fatal(err)
		}
		eventuallyStatus(t, f.url(), http.StatusOK)
	})
	t.Run("File deleted", func(t *testing.T) {
		f := newFixture(t, nil)
		eventuallyStatus(t, f.url(), http.StatusOK)
		if err := k8s.Delete(ctx, f.file); err != nil {
			t.Fatal(err)
		}
		eventuallyStatus(t, f.url(), http.StatusNotFound)
	})
}

func TestNewContentAfterTheSourceChanges(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	v2 := []byte("%PDF-1.7\nsecond version\n")
	f.secret.Data["evidence"] = v2
	if err := k8s.Update(context.Background(), f.secret); err != nil {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func(g Gomega) {
		resp, body := request(t, http.MethodGet, f.url(), nil)
		g.Expect(string(body)).To(Equal(string(v2)))
		g.Expect(resp.Header.Get("ETag")).To(Equal(etagOf(v2)))
	}).WithTimeout(10 * time.Second).Should(Succeed())
}

func TestFilenamesAreOfferedExactly(t *testing.T) {
	for _, name := range []string{"Übersicht März €.pdf", `the "final" one.pdf`} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(f *fixture) { f.file.Spec.Filename = name })
			eventuallyStatus(t, f.url(), http.StatusOK)
			resp, _ := request(t, http.MethodGet, f.url(), nil)
			cd := resp.Header.Get("Content-Disposition")
			disp, params, err := mime.ParseMediaType(cd)
			if err != nil || disp != "attachment" || params["filename"] != name {
				t.Fatalf("Content-Disposition %q parses to %q %q (%v)", cd, disp, params, err)
			}
			if !strings.Contains(cd, "filename*=UTF-8''") {
				t.Errorf("Content-Disposition %q lacks RFC 6266 filename*", cd)
			}
		})
	}
}

func TestConfigMapBinaryData(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0}
	ns := newNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "assets", Labels: shareable()}, BinaryData: map[string][]byte{"logo": png}}
	file := &filelinkv1.File{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "logo.png"},
		Spec: filelinkv1.FileSpec{Purpose: filelinkv1.PurposeBusinessLogo, Source: filelinkv1.FileSource{ConfigMap: &filelinkv1.KeySelector{Name: "assets", Key: "logo"}}}}
	link := &filelinkv1.FileLink{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "logo"}, Spec: filelinkv1.FileLinkSpec{File: "logo.png"}}
	for _, o := range []client.Object{cm, file, link} {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	markReady(t, file)
	url := signer.URL(base, link.UID)
	eventuallyStatus(t, url, http.StatusOK)
	resp, body := request(t, http.MethodGet, url, nil)
	if string(body) != string(png) || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("served %q as %q", body, resp.Header.Get("Content-Type"))
	}
}

// TestWarmDownloadsMakeNoAPICalls counts every request the manager sends to the API
// server (watch streams excepted) while a warm link is downloaded 100 times.
func TestWarmDownloadsMakeNoAPICalls(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	before := apiCalls.Load()
	for range 100 {
		resp, body := request(t, http.MethodGet, f.url(), nil)
		if resp.StatusCode != http.StatusOK || len(body) != len(content) {
			t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
		}
	}
	if n := apiCalls.Load() - before; n != 0 {
		t.Fatalf("100 warm downloads made %d API requests, want 0", n)
	}
}

func TestMetricsCountOutcomesAndBytes(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	before := gather(t)
	request(t, http.MethodGet, f.url(), nil)
	request(t, http.MethodGet, base+"/links/nope", nil)
	request(t, http.MethodPost, f.url(), nil)
	after := gather(t)
	for _, series := range []string{`filelink_link_requests_total{code="200"}`, `filelink_link_requests_total{code="404"}`,
		`filelink_link_requests_total{code="405"}`, `filelink_link_request_duration_seconds_count{code="200"}`} {
		if after[series]-before[series] != 1 {
			t.Errorf("%s grew by %v, want 1", series, after[series]-before[series])
		}
	}
	if grew := after["filelink_link_response_bytes_total"] - before["filelink_link_response_bytes_total"]; grew < float64(len(content)) {
		t.Errorf("bytes served grew by %v, want at least %d", grew, len(content))
	}
}

// gather reads the manager's metrics registry into "name{code=...}" -> value.
func gather(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + `="` + l.GetValue() + `"}`
			}
			switch {
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[strings.Replace(name, mf.GetName(), mf.GetName()+"_count", 1)] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
