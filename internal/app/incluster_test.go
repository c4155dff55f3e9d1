package app

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLeaderElectionNamespace(t *testing.T) {
	dir := t.TempDir()
	podFile := filepath.Join(dir, "namespace")
	if err := os.WriteFile(podFile, []byte("pod-ns\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct{ name, flag, file, want string }{
		{"flag wins", "explicit", podFile, "explicit"},
		{"in a cluster: the pod's namespace", "", podFile, "pod-ns"},
		{"out of a cluster: the signing key's namespace", "", missing, "key-ns"},
	} {
		if got := leaderElectionNamespace(tc.flag, tc.file, "key-ns"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMetricsOptions(t *testing.T) {
	if o := metricsOptions(":8080", false, ""); o.SecureServing || o.FilterProvider != nil {
		t.Errorf("plain metrics got TLS or a filter: %+v", o)
	}
	if o := metricsOptions(":8443", true, "/certs"); !o.SecureServing || o.FilterProvider == nil || o.BindAddress != ":8443" || o.CertDir != "/certs" {
		t.Errorf("secure metrics lack TLS or the authn/authz filter: %+v", o)
	}
}
