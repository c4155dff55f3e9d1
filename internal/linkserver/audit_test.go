package linkserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/clientip"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// auditSink is an audit destination the test reads once the server has stopped.
type auditSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *auditSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// audited is a link server of the test's own writing its audit log to a sink.
type audited struct {
	*linkserver.Server
	base string
	clk  *clocktesting.FakeClock
	sink *auditSink
	stop func()
}

// auditedServer starts a link server with its own clock and o's options, its audit log
// in a sink. lines stops it, which writes every line, and returns them.
func auditedServer(t *testing.T, o linkserver.Options, tune ...func(*linkserver.Server)) *audited {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	a := &audited{clk: clocktesting.NewFakeClock(time.Now()), sink: &auditSink{}}
	o.Addr, o.Keys, o.Clock, o.AuditLog, o.Replica = addr, signing.Fixed(signer), a.clk, a.sink, "replica-0"
	a.Server = linkserver.NewServer(mgr.GetCache(), mgr.GetAPIReader(), o)
	for _, f := range tune {
		f(a.Server)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(a.stop)
	a.base = "http://" + addr
	if err := waitForServer(a.base); err != nil {
		t.Fatal(err)
	}
	return a
}

// auditLine is one line of the audit log, decoded.
type auditLine map[string]any

// lines stops the server and returns every line it wrote, failing on one that is not
// JSON.
func (a *audited) lines(t *testing.T) []auditLine {
	t.Helper()
	a.stop()
	var out []auditLine
	sc := bufio.NewScanner(bytes.NewReader(a.sink.buf.Bytes()))
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line not JSON: %v\n%s", err, sc.Bytes())
		}
		out = append(out, l)
	}
	return out
}

// byAgent finds the one line of the request sent with user agent ua.
func byAgent(t *testing.T, lines []auditLine, ua string) auditLine {
	t.Helper()
	var found []auditLine
	for _, l := range lines {
		if l["userAgent"] == ua {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d audit lines for the request %q, want 1: %v", len(found), ua, found)
	}
	return found[0]
}

// wantFields fails unless l holds each of want, and none of the link's fields when
// want names no namespace.
func wantFields(t *testing.T, l auditLine, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if l[k] != v {
			t.Errorf("%s: %s = %#v, want %#v (line %v)", l["userAgent"], k, l[k], v, l)
		}
	}
	if _, ok := want["namespace"]; !ok {
		for _, k := range []string{"namespace", "fileLink", "id", "file"} {
			if _, has := l[k]; has {
				t.Errorf("%s: line names a link (%s): %v", l["userAgent"], k, l)
			}
		}
	}
	for _, k := range []string{"time", "replica", "code", "bytes", "durationSeconds", "client"} {
		if _, ok := l[k]; !ok {
			t.Errorf("%s: line lacks %s: %v", l["userAgent"], k, l)
		}
	}
}

// linkFields are the audit fields of f's link.
func linkFields(f *fixture) map[string]any {
	return map[string]any{"namespace": f.ns, "fileLink": f.link.Name, "id": f.link.Status.ID, "file": f.link.Spec.File}
}

// TestAuditLogsEveryAnswerOnce: each answer of the fast path and of net/http, whatever
// its status, is one line with the link it named (none for an unknown token), the
// method, status, bytes, range, client and user agent; net/http's own 400 to a head it
// could not read is one line too, with the peer alone. No line holds the token or the
// path.
func TestAuditLogsEveryAnswerOnce(t *testing.T) {
	g := NewWithT(t)
	a := auditedServer(t, linkserver.Options{})
	f := newFixture(t, nil)
	setLinkID(t, f, "link_1AuditFast")
	expires := metav1.NewTime(a.clk.Now().Add(time.Hour))
	gone := newFixture(t, func(f *fixture) { f.link.Spec.ExpiresAt = &expires })
	url, goneURL := signer.URL(a.base, f.link.UID), signer.URL(a.base, gone.link.UID)

	// Until the body is cached and the link's status seen, answers come from net/http
	// or carry no id: wait until a plain GET is the fast path's.
	g.Eventually(func() bool {
		fresh()
		before := linkserver.FastAnswers(a.Server)
		resp, _ := request(t, http.MethodGet, url, map[string]string{"User-Agent": "warm-up"})
		return resp.StatusCode == http.StatusOK && linkserver.FastAnswers(a.Server) > before && linkIDSeen(f)
	}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(BeTrue())
	eventuallyStatusOf(t, goneURL, http.StatusOK)

	fast := linkserver.FastAnswers(a.Server)
	get := func(method, u, ua string, h map[string]string, want int) {
		t.Helper()
		if h == nil {
			h = map[string]string{}
		}
		h["User-Agent"] = ua
		if resp, _ := request(t, method, u, h); resp.StatusCode != want {
			t.Fatalf("%s: %d, want %d", ua, resp.StatusCode, want)
		}
	}
	// A client's own X-Forwarded-For is not believed without trusted proxies.
	fresh()
	get(http.MethodGet, url, "fast-200", map[string]string{"X-Forwarded-For": "198.51.100.1"}, http.StatusOK)
	if linkserver.FastAnswers(a.Server) != fast+1 {
		t.Fatal("the plain GET was not the fast path's")
	}
	get(http.MethodHead, url, "fast-head", nil, http.StatusOK)
	get(http.MethodGet, url, "range-206", map[string]string{"Range": "bytes=0-3"}, http.StatusPartialContent)
	get(http.MethodGet, url, "cond-304", map[string]string{"If-None-Match": etagOf(content)}, http.StatusNotModified)
	get(http.MethodGet, url, "range-416", map[string]string{"Range": "bytes=100000-"}, http.StatusRequestedRangeNotSatisfiable)
	get(http.MethodPost, url, "post-405", nil, http.StatusMethodNotAllowed)
	get(http.MethodGet, a.base+"/links/"+strings.Repeat("A", 43), "unknown-404", nil, http.StatusNotFound)
	a.clk.Step(2 * time.Hour)
	get(http.MethodGet, goneURL, "expired-410", nil, http.StatusGone)
	badHead(t, a.base)

	lines := a.lines(t)
	size := float64(len(content))
	local := map[string]any{"client": "127.0.0.1", "replica": "replica-0"}
	for ua, want := range map[string]map[string]any{
		"fast-200":    merge(linkFields(f), local, map[string]any{"method": "GET", "code": 200.0, "bytes": size}),
		"fast-head":   merge(linkFields(f), local, map[string]any{"method": "HEAD", "code": 200.0, "bytes": 0.0}),
		"range-206":   merge(linkFields(f), local, map[string]any{"method": "GET", "code": 206.0, "bytes": 4.0, "range": "bytes=0-3"}),
		"cond-304":    merge(linkFields(f), local, map[string]any{"method": "GET", "code": 304.0, "bytes": 0.0}),
		"range-416":   merge(linkFields(f), local, map[string]any{"method": "GET", "code": 416.0, "range": "bytes=100000-"}),
		"post-405":    merge(local, map[string]any{"method": "POST", "code": 405.0}),
		"unknown-404": merge(local, map[string]any{"method": "GET", "code": 404.0}),
		"expired-410": merge(linkFields(gone), local, map[string]any{"method": "GET", "code": 410.0}),
	} {
		wantFields(t, byAgent(t, lines, ua), want)
	}
	var own []auditLine
	for _, l := range lines {
		if l["code"] == 400.0 {
			own = append(own, l)
		}
	}
	if len(own) != 1 {
		t.Fatalf("%d lines of 400, want net/http's own one: %v", len(own), own)
	}
	wantFields(t, own[0], merge(local, map[string]any{"code": 400.0}))
	if _, ok := own[0]["method"]; ok {
		t.Errorf("net/http's own 400 names a method: %v", own[0])
	}
	noSecrets(t, a.sink.buf.Bytes(), url, goneURL)
}

// TestAuditClientBehindTrustedProxies: from a trusted proxy, the address it forwarded
// for is the client, on either path.
func TestAuditClientBehindTrustedProxies(t *testing.T) {
	proxies, err := clientip.Parse("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	a := auditedServer(t, linkserver.Options{TrustedProxies: proxies})
	f := newFixture(t, nil)
	url := signer.URL(a.base, f.link.UID)
	NewWithT(t).Eventually(func() bool {
		fresh()
		before := linkserver.FastAnswers(a.Server)
		request(t, http.MethodGet, url, map[string]string{"User-Agent": "warm-up"})
		return linkserver.FastAnswers(a.Server) > before
	}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(BeTrue())
	xff := map[string]string{"X-Forwarded-For": "1.2.3.4, 198.51.100.7, 127.0.0.9"}
	fresh()
	fast := linkserver.FastAnswers(a.Server)
	request(t, http.MethodGet, url, merge2(xff, "User-Agent", "proxied-fast"))
	if linkserver.FastAnswers(a.Server) != fast+1 {
		t.Fatal("the plain GET was not the fast path's")
	}
	request(t, http.MethodGet, url, merge2(merge2(xff, "Range", "bytes=1-2"), "User-Agent", "proxied-range"))
	lines := a.lines(t)
	for _, ua := range []string{"proxied-fast", "proxied-range"} {
		if got := byAgent(t, lines, ua)["client"]; got != "198.51.100.7" {
			t.Errorf("%s: client %v, want the address the trusted proxy forwarded for", ua, got)
		}
	}
}

// TestAuditCutsTheUserAgent: a user agent beyond 256 bytes is logged cut, on either
// path.
func TestAuditCutsTheUserAgent(t *testing.T) {
	a := auditedServer(t, linkserver.Options{})
	long := strings.Repeat("x", 1000)
	request(t, http.MethodGet, a.base+"/links/"+strings.Repeat("A", 43), map[string]string{"User-Agent": long})
	var cut []auditLine
	for _, l := range a.lines(t) {
		if ua, _ := l["userAgent"].(string); strings.HasPrefix(ua, "x") {
			cut = append(cut, l)
		}
	}
	if len(cut) != 1 || cut[0]["userAgent"] != long[:256] {
		t.Fatalf("lines %v, want one with the user agent cut to 256 bytes", cut)
	}
}

// fresh makes the next request open a connection, which the fast path serves first: a
// kept-alive one that net/http answered once stays net/http's.
func fresh() { http.DefaultClient.CloseIdleConnections() }

// setLinkID writes status.id as the FileLink controller, which does not run here, would.
func setLinkID(t *testing.T, f *fixture, id string) {
	t.Helper()
	f.link.Status.ID = id
	if err := k8s.Status().Update(context.Background(), f.link); err != nil {
		t.Fatal(err)
	}
}

// linkIDSeen reports whether the manager's cache shows f's link with the id the test wrote.
func linkIDSeen(f *fixture) bool {
	got := f.link.DeepCopy()
	if err := mgr.GetCache().Get(context.Background(), client.ObjectKeyFromObject(f.link), got); err != nil {
		return false
	}
	return got.Status.ID == f.link.Status.ID
}

// badHead sends a head net/http refuses with 400 on a connection the fast path hands it.
func badHead(t *testing.T, base string) {
	t.Helper()
	conn := connect(t, base)
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /links/x HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed head: %d, want net/http's 400", resp.StatusCode)
	}
}

func eventuallyStatusOf(t *testing.T, url string, code int) {
	t.Helper()
	NewWithT(t).Eventually(func() int {
		resp, _ := request(t, http.MethodGet, url, map[string]string{"User-Agent": "warm-up"})
		return resp.StatusCode
	}).WithTimeout(10 * time.Second).WithPolling(10 * time.Millisecond).Should(Equal(code))
}

// noSecrets fails if out holds any of urls' paths or tokens.
func noSecrets(t *testing.T, out []byte, urls ...string) {
	t.Helper()
	for _, u := range urls {
		path := u[strings.Index(u, "/links/"):]
		token := strings.TrimPrefix(path, "/links/")
		for _, secret := range []string{path, token} {
			if n := bytes.Count(out, []byte(secret)); n > 0 {
				t.Errorf("%q written %d times", secret, n)
			}
		}
	}
}

func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

func merge2(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	maps.Copy(out, m)
	return out
}
