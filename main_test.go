package main

import (
	"flag"
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
	valid := options{contentCacheBytes: linkserver.DefaultContentCacheBytes, maxLinkConnections: 1, minLinkTransferRate: 1}
	if err := checkLinkLimits(valid); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	cases := map[string]func(*options){
		"--link-content-cache-bytes=0":  func(o *options) { o.contentCacheBytes = 0 },
		"--link-content-cache-bytes=-1": func(o *options) { o.contentCacheBytes = -1 },
		"--link-max-connections=0":      func(o *options) { o.maxLinkConnections = 0 },
		"--link-max-connections=-5":     func(o *options) { o.maxLinkConnections = -5 },
		"--link-min-transfer-rate=0":    func(o *options) { o.minLinkTransferRate = 0 },
	}
	for flag, mutate := range cases {
		o := valid
		mutate(&o)
		err := checkLinkLimits(o)
		if err == nil || !strings.HasPrefix(err.Error(), flag+":") {
			t.Errorf("%s: error %v, want one naming the flag and its value", flag, err)
		}
	}
}

func TestFlagDefaultsAreTheSpecs(t *testing.T) {
	var o options
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	bindFlags(fs, &o)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if o.metricsAddr != ":8080" || o.probeAddr != ":8081" || o.linkAddr != ":8082" || o.leaderElect ||
		o.linkBaseURL != "http://localhost:8082" || o.signingKeySecret != "filelink-system/filelink-signing-key" || o.leaderElection.namespace != "" {
		t.Errorf("SPEC §6 defaults changed: %+v", o)
	}
	// controller-runtime's own defaults, so that the flags change nothing unless set.
	want := leaderElection{leaseDuration: 15 * time.Second, renewDeadline: 10 * time.Second, retryPeriod: 500 * time.Millisecond}
	if o.leaderElection != want {
		t.Errorf("lease timings %+v, want %+v", o.leaderElection, want)
	}
	if err := checkLeaderElection(o.leaderElection); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}

func TestLeaderElectionTimingsAreChecked(t *testing.T) {
	for _, le := range []leaderElection{
		{leaseDuration: 0, renewDeadline: time.Second, retryPeriod: time.Second / 2},
		{leaseDuration: 2 * time.Second, renewDeadline: 2 * time.Second, retryPeriod: time.Second / 2},
		{leaseDuration: 3 * time.Second, renewDeadline: 2 * time.Second, retryPeriod: 2 * time.Second},
		{leaseDuration: 3 * time.Second, renewDeadline: 2 * time.Second, retryPeriod: -1},
	} {
		if err := checkLeaderElection(le); err == nil || !strings.HasPrefix(err.Error(), "--leader-election-") {
			t.Errorf("%+v: error %v, want one naming the flags", le, err)
		}
	}
}
