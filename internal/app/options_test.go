package app

import (
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
)

func TestFlagsAreChecked(t *testing.T) {
	for _, s := range []string{"http://localhost:8082", "https://files.example.com", "https://example.com/prefix/"} {
		if err := checkBaseURL(s); err != nil {
			t.Errorf("checkBaseURL(%q): %v", s, err)
		}
	}
	for _, s := range []string{"localhost:8082", "ftp://x", "https://", "https://x/?a=b", "https://x/#f", "::"} {
		if err := checkBaseURL(s); err == nil {
			t.Errorf("checkBaseURL(%q) accepted", s)
		}
	}
	if nn, err := parseNamespacedName("filelink-system/key"); err != nil || nn.Namespace != "filelink-system" || nn.Name != "key" {
		t.Errorf("parseNamespacedName: %v %v", nn, err)
	}
	for _, s := range []string{"key", "/key", "ns/", "a/b/c"} {
		if _, err := parseNamespacedName(s); err == nil {
			t.Errorf("parseNamespacedName(%q) accepted", s)
		}
	}
}

func TestLinkLimitsAreChecked(t *testing.T) {
	valid := Options{ContentCacheBytes: linkserver.DefaultContentCacheBytes, MaxLinkConnections: 1, MinLinkTransferRate: 1}
	if err := checkLinkLimits(&valid); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	cases := map[string]func(*Options){
		"--link-content-cache-bytes=0":  func(o *Options) { o.ContentCacheBytes = 0 },
		"--link-content-cache-bytes=-1": func(o *Options) { o.ContentCacheBytes = -1 },
		"--link-max-connections=0":      func(o *Options) { o.MaxLinkConnections = 0 },
		"--link-max-connections=-5":     func(o *Options) { o.MaxLinkConnections = -5 },
		"--link-min-transfer-rate=0":    func(o *Options) { o.MinLinkTransferRate = 0 },
	}
	for flag, mutate := range cases {
		o := valid
		mutate(&o)
		err := checkLinkLimits(&o)
		if err == nil || !strings.HasPrefix(err.Error(), flag+":") {
			t.Errorf("%s: error %v, want one naming the flag and its value", flag, err)
		}
	}
}

// parsed returns the options args set, as the manager binds and parses them.
func parsed(t *testing.T, args ...string) Options {
	t.Helper()
	var o Options
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestFlagDefaultsAreTheSpecs(t *testing.T) {
	t.Setenv("ENABLE_WEBHOOKS", "")
	o := parsed(t)
	if o.MetricsAddr != ":8080" || o.ProbeAddr != ":8081" || o.LinkAddr != ":8082" || o.LeaderElect ||
		o.LinkBaseURL != "http://localhost:8082" || o.SigningKeySecret != "filelink-system/filelink-signing-key" || o.LeaderElection.Namespace != "" ||
		!o.Webhooks || o.AuditLog != "stdout" || o.TrustedProxies != "" {
		t.Errorf("SPEC §6 defaults changed: %+v", o)
	}
	// controller-runtime's own defaults, so that the flags change nothing unless set.
	want := LeaderElection{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 500 * time.Millisecond}
	if o.LeaderElection != want {
		t.Errorf("lease timings %+v, want %+v", o.LeaderElection, want)
	}
	o.LeaderElect = true
	if err := o.Validate(); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}

// kubebuilder's convention: webhooks are on unless ENABLE_WEBHOOKS=false.
func TestWebhooksOffOnlyWithEnableWebhooksFalse(t *testing.T) {
	for env, want := range map[string]bool{"false": false, "true": true, "0": true} {
		t.Setenv("ENABLE_WEBHOOKS", env)
		if o := parsed(t); o.Webhooks != want {
			t.Errorf("ENABLE_WEBHOOKS=%s: webhooks %t, want %t", env, o.Webhooks, want)
		}
	}
}

func TestLeaderElectionTimingsAreChecked(t *testing.T) {
	for _, le := range []LeaderElection{
		{LeaseDuration: 0, RenewDeadline: time.Second, RetryPeriod: time.Second / 2},
		{LeaseDuration: 2 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: time.Second / 2},
		{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 2 * time.Second},
		{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: -1},
		// client-go's elector refuses a renew deadline within 1.2 retry periods.
		{LeaseDuration: 3 * time.Second, RenewDeadline: 1200 * time.Millisecond, RetryPeriod: time.Second},
	} {
		if err := checkLeaderElection(le); err == nil || !strings.HasPrefix(err.Error(), "--leader-election-") {
			t.Errorf("%+v: error %v, want one naming the flags", le, err)
		}
	}
}

// Validate applies every check to the flags as parsed, and names the flag at fault; the
// lease timings only matter, and are only checked, with --leader-elect.
func TestValidateNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // prefix of the error; empty: valid
	}{
		{nil, ""},
		{[]string{"--signing-key-secret=key"}, "--signing-key-secret:"},
		{[]string{"--link-base-url=ftp://x"}, "--link-base-url:"},
		{[]string{"--link-max-connections=0"}, "--link-max-connections=0:"},
		{[]string{"--link-min-transfer-rate=-1"}, "--link-min-transfer-rate=-1:"},
		{[]string{"--link-content-cache-bytes=0"}, "--link-content-cache-bytes=0:"},
		{[]string{"--leader-election-renew-deadline=20s"}, ""},
		{[]string{"--leader-elect", "--leader-election-renew-deadline=20s"}, "--leader-election-renew-deadline=20s:"},
		{[]string{"--leader-elect", "--leader-election-retry-period=0s"}, "--leader-election-lease-duration=15s,"},
		{[]string{"--allow-store-networks=127.0.0.0/8,::1"}, ""},
		{[]string{"--allow-store-networks=127.0.0.0/33"}, "--allow-store-networks:"},
		{[]string{"--allow-store-networks=localhost"}, "--allow-store-networks:"},
		{[]string{"--deny-store-networks=10.96.0.0/12, fd00:10:96::/112"}, ""},
		{[]string{"--deny-store-networks=10.96.0.0/12;10.0.0.0/8"}, "--deny-store-networks:"},
		{[]string{"--audit-log=off"}, ""},
		{[]string{"--audit-log=/var/log/filelink/audit.log"}, ""},
		{[]string{"--audit-log="}, "--audit-log:"},
		{[]string{"--trusted-proxies=10.0.0.0/8, 192.168.0.1,fd00::/8"}, ""},
		{[]string{"--trusted-proxies=10.0.0.0/33"}, "--trusted-proxies:"},
		{[]string{"--trusted-proxies=ingress-nginx"}, "--trusted-proxies:"},
	} {
		o := parsed(t, tc.args...)
		err := o.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v refused: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one starting %q", tc.args, err, tc.want)
		}
	}
}

// --watch-namespaces is a list of namespace names; anything no namespace could be named
// is refused with the flag named, rather than leaving the install watching nothing.
func TestWatchNamespacesFlag(t *testing.T) {
	if o := parsed(t); o.WatchNamespaces != nil {
		t.Errorf("default %q, want every namespace (none listed)", o.WatchNamespaces)
	}
	for arg, want := range map[string][]string{
		"--watch-namespaces=team-a":          {"team-a"},
		"--watch-namespaces=team-a, team-b":  {"team-a", "team-b"},
		"--watch-namespaces=":                nil,
		"--watch-namespaces=a,filelink-sys0": {"a", "filelink-sys0"},
	} {
		o := parsed(t, arg)
		if !slices.Equal(o.WatchNamespaces, want) {
			t.Errorf("%s: %q, want %q", arg, o.WatchNamespaces, want)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("%s refused: %v", arg, err)
		}
	}
	for arg, reason := range map[string]string{
		"--watch-namespaces=a,,b":          `namespace ""`,
		"--watch-namespaces=a,":            `namespace ""`,
		"--watch-namespaces=Team-A":        `namespace "Team-A"`,
		"--watch-namespaces=a.b":           `namespace "a.b"`,
		"--watch-namespaces=a/b":           `namespace "a/b"`,
		"--watch-namespaces=a,b,a":         `namespace "a" is listed twice`,
		"--watch-namespaces=" + long(64):   `namespace "` + long(64) + `"`,
		"--watch-namespaces=-a":            `namespace "-a"`,
		"--watch-namespaces=a,*":           `namespace "*"`,
		"--watch-namespaces=a, b ,a":       `listed twice`,
		"--watch-namespaces=a b":           `namespace "a b"`,
		"--watch-namespaces=filelink-sys_": `namespace "filelink-sys_"`,
	} {
		o := parsed(t, arg)
		err := o.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "--watch-namespaces=") || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: error %v, want one naming the flag and %s", arg, err, reason)
		}
	}
}

func long(n int) string { return strings.Repeat("a", n) }
