package audit

import (
	"os"
	"path/filepath"
	"testing"
)

// A file is appended to, never truncated, and created readable by its owner alone: it
// says who downloaded what.
func TestOpenAppendsToAPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for _, line := range []string{"first\n", "second\n"} {
		w, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "first\nsecond\n" {
		t.Fatalf("file holds %q (%v)", data, err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
}

func TestOpenDestinations(t *testing.T) {
	if w, err := Open(Off); w != nil || err != nil {
		t.Errorf("off: %v %v, want nothing", w, err)
	}
	w, err := Open(Stdout)
	if err != nil || w == nil {
		t.Fatalf("stdout: %v %v", w, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stdout.Stat(); err != nil {
		t.Errorf("closing the audit log closed stdout: %v", err)
	}
	for _, bad := range []string{"", filepath.Join(t.TempDir(), "missing", "audit.log"), t.TempDir()} {
		if _, err := Open(bad); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
}

func TestReplicaIsThePodName(t *testing.T) {
	t.Setenv("POD_NAME", "filelink-controller-manager-7d9f8-abcde")
	if got := Replica(); got != "filelink-controller-manager-7d9f8-abcde" {
		t.Errorf("replica %q", got)
	}
	t.Setenv("POD_NAME", "")
	host, _ := os.Hostname()
	if got := Replica(); got != host {
		t.Errorf("replica %q without POD_NAME, want the host name %q", got, host)
	}
}
