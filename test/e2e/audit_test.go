//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// TestAuditLogFile runs the manager binary as README's "Audit log" shows, with
// --audit-log=PATH behind a trusted proxy, downloads the samples' file with plain
// net/http, and reads the file once the manager has stopped: one line per request with
// the link, its File, the replica, the client the proxy forwarded for and the user
// agent; a request for an unknown token without a link. Neither the audit file nor
// anything else the manager wrote holds the token or the link's path.
func TestAuditLogFile(t *testing.T) {
	webhookPorts := withoutSuiteManager(t, 1)
	m := replica(t, "audited", "", webhookPorts[0], "")
	path := filepath.Join(t.TempDir(), "audit", "links.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	m.Args = append(m.Args, "--audit-log="+path, "--trusted-proxies=127.0.0.0/8")
	m.Env = append(m.Env, "POD_NAME=filelink-audited-0")
	start(t, m)
	awaitLog(t, m, acquired, 30*time.Second)

	ns, url := sampleNamespace(t, "audit")
	id := mustKubectl(t, ns, "get", "fl", "receipt-for-bank", "-o", "jsonpath={.status.id}")
	waitForStatus(t, url, http.StatusOK, 10*time.Second)
	base := url[:strings.Index(url, "/links/")]
	for _, r := range []struct {
		method, url, agent string
		header             map[string]string
		want               int
	}{
		{http.MethodGet, url, "e2e-get", nil, http.StatusOK},
		{http.MethodGet, url, "e2e-range", map[string]string{"Range": "bytes=0-6"}, http.StatusPartialContent},
		{http.MethodHead, url, "e2e-head", nil, http.StatusOK},
		{http.MethodGet, base + "/links/" + strings.Repeat("A", 43), "e2e-unknown", nil, http.StatusNotFound},
	} {
		req, err := http.NewRequestWithContext(t.Context(), r.method, r.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", r.agent)
		// The proxy appends the peer it saw; a client's own entry left of it is not
		// believed past the first untrusted address.
		req.Header.Set("X-Forwarded-For", "192.0.2.66, 203.0.113.9")
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		a, err := framework.Do(http.DefaultClient, req)
		if err != nil || a.StatusCode != r.want {
			t.Fatalf("%s: %d %v, want %d", r.agent, a.StatusCode, err, r.want)
		}
	}
	metrics, err := framework.Get(t.Context(), "http://"+m.MetricsAddr+"/metrics")
	if err != nil || !bytes.Contains(metrics.Body, []byte("\nfilelink_audit_lines_dropped_total 0\n")) {
		t.Errorf("the metrics endpoint does not show 0 audit lines dropped (%v)", err)
	}
	if err := m.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600: it says who downloaded what", info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string][]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line not JSON: %v\n%s", err, sc.Bytes())
		}
		ua, _ := l["userAgent"].(string)
		lines[ua] = append(lines[ua], l)
	}
	link := map[string]any{"namespace": ns, "fileLink": "receipt-for-bank", "id": id, "file": "receipt"}
	common := map[string]any{"replica": "filelink-audited-0", "client": "203.0.113.9"}
	size := float64(len(sampleReceipt))
	for agent, want := range map[string]map[string]any{
		"e2e-get":     {"method": "GET", "code": 200.0, "bytes": size},
		"e2e-range":   {"method": "GET", "code": 206.0, "bytes": 7.0, "range": "bytes=0-6"},
		"e2e-head":    {"method": "HEAD", "code": 200.0, "bytes": 0.0},
		"e2e-unknown": {"method": "GET", "code": 404.0},
	} {
		if len(lines[agent]) != 1 {
			t.Errorf("%d lines for %s, want 1: %v", len(lines[agent]), agent, lines[agent])
			continue
		}
		l := lines[agent][0]
		if agent != "e2e-unknown" {
			maps.Copy(want, link)
		} else if _, ok := l["namespace"]; ok {
			t.Errorf("the unknown token's line names a link: %v", l)
		}
		maps.Copy(want, common)
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", agent, k, l[k], v)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, l["time"].(string)); err != nil {
			t.Errorf("%s: time %v: %v", agent, l["time"], err)
		}
	}

	managerLog, err := os.ReadFile(m.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	linkPath := url[len(base):]
	token := strings.TrimPrefix(linkPath, "/links/")
	for name, out := range map[string][]byte{"audit log": data, "manager log": managerLog} {
		for _, secret := range []string{token, linkPath} {
			if n := bytes.Count(out, []byte(secret)); n > 0 {
				t.Errorf("the %s holds %q %d times", name, secret, n)
			}
		}
	}
}
