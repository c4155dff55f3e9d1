package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildThenInspect builds an image from two stand-in binaries and reads the tarball
// back as ctr and docker would: the platforms, user, entrypoint and per-platform binary
// must be what was asked for.
func TestBuildThenInspect(t *testing.T) {
	dir := t.TempDir()
	bins := map[string]string{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		path := filepath.Join(dir, strings.ReplaceAll(p, "/", "_"))
		if err := os.WriteFile(path, []byte("binary for "+p), 0o755); err != nil {
			t.Fatal(err)
		}
		bins[p] = path
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "image.tar")
	o := Options{
		Name: "example.com/team/filelink-operator:v1", Output: out, Binaries: bins, CABundle: ca,
		Labels: map[string]string{"org.opencontainers.image.source": "https://example.com/src"}, DockerPlatform: "linux/amd64",
	}
	if err := Build(o); err != nil {
		t.Fatal(err)
	}
	r, err := Inspect(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckManager(); err != nil {
		t.Error(err)
	}
	if r.Name != "example.com/team/filelink-operator:v1" {
		t.Errorf("containerd name %q", r.Name)
	}
	if got := r.Docker[0].RepoTags; len(got) != 1 || got[0] != "example.com/team/filelink-operator:v1" {
		t.Errorf("docker tags %v", got)
	}
	for p, cf := range r.Configs {
		if cf.Config.Labels["org.opencontainers.image.source"] != "https://example.com/src" {
			t.Errorf("%s: labels %v", p, cf.Config.Labels)
		}
		if r.Files[p]["/etc/ssl/certs/ca-certificates.crt"] == nil || r.Files[p]["/tmp"] == nil {
			t.Errorf("%s: files %v", p, r.Files[p])
		}
	}
	// The bytes must be reproducible: a second build gives the same tarball.
	first, _ := os.ReadFile(out)
	if err := Build(o); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(out)
	if !bytes.Equal(first, second) {
		t.Error("two builds of the same inputs differ")
	}

	// Docker Hub names are written the way containerd and the kubelet spell them.
	o.Name = "filelink-operator:latest"
	if err := Build(o); err != nil {
		t.Fatal(err)
	}
	if r, err = Inspect(out); err != nil {
		t.Fatal(err)
	}
	if r.Name != containerdDefaultRegistry+"/library/filelink-operator:latest" || r.Docker[0].RepoTags[0] != "filelink-operator:latest" {
		t.Errorf("names %q, %v", r.Name, r.Docker[0].RepoTags)
	}
}

// TestCheckManagerRefuses proves the check can fail: one platform only, a shell.
func TestCheckManagerRefuses(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "m")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	if err := Build(Options{Name: "x:1", Output: out, Binaries: map[string]string{"linux/amd64": bin}, DockerPlatform: "linux/amd64"}); err != nil {
		t.Fatal(err)
	}
	r, err := Inspect(out)
	if err != nil {
		t.Fatal(err)
	}
	r.Files["linux/amd64"]["/bin/sh"] = r.Files["linux/amd64"]["/manager"]
	err = r.CheckManager()
	if err == nil || !strings.Contains(err.Error(), "platforms") || !strings.Contains(err.Error(), "shell") {
		t.Errorf("CheckManager: %v", err)
	}
}
