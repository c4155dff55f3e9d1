package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
)

const (
	version = "v0.0.1-test"
	repo    = "registry.example.com/team/filelink-operator"
)

// TestReleaseIsReproducible runs `make release` twice from the same commit into two
// directories and requires the same bytes, file by file (SPEC §14), then checks that
// what was written is what a platform team installs: everything pinned to one digest.
func TestReleaseIsReproducible(t *testing.T) {
	first, second := release(t), release(t)
	sumsA, sumsB := readSums(t, first), readSums(t, second)
	if len(sumsA) != 5 {
		t.Fatalf("SHA256SUMS lists %d files, want 5: %v", len(sumsA), sumsA)
	}
	for name, sum := range sumsA {
		if sumsB[name] != sum {
			t.Errorf("%s differs between two runs of one commit: %s, then %s", name, sum, sumsB[name])
		}
		if got := fileSum(t, filepath.Join(first, name)); got != sum {
			t.Errorf("%s: SHA256SUMS says %s, the file is %s", name, sum, got)
		}
	}

	ref := strings.TrimSpace(readFile(t, filepath.Join(first, "filelink-operator-"+version+"-image.digest")))
	digest, ok := strings.CutPrefix(ref, repo+"@")
	if !ok || !digestPattern.MatchString(digest) {
		t.Fatalf("image digest file holds %q", ref)
	}
	install := readFile(t, filepath.Join(first, "install.yaml"))
	if images := regexp.MustCompile(`(?m)^\s+image: (.*)$`).FindAllStringSubmatch(install, -1); len(images) != 1 || images[0][1] != ref {
		t.Errorf("install.yaml images %v, want exactly %s", images, ref)
	}

	ch, err := loader.Load(filepath.Join(first, "filelink-operator-"+strings.TrimPrefix(version, "v")+".tgz"))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := ch.Values["image"].(map[string]any)
	if ch.Metadata.Version != strings.TrimPrefix(version, "v") || ch.Metadata.AppVersion != version || img["digest"] != digest || img["repository"] != repo {
		t.Errorf("chart %s appVersion %s, image %v", ch.Metadata.Version, ch.Metadata.AppVersion, img)
	}

	var sbom struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component struct{ Name, Version string } `json:"component"`
		} `json:"metadata"`
		Components []struct{ Name, Version string } `json:"components"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(first, "filelink-operator-"+version+".sbom.cdx.json"))), &sbom); err != nil {
		t.Fatal(err)
	}
	if sbom.BOMFormat != "CycloneDX" || sbom.Metadata.Component.Name != "github.com/filelink-dev/filelink-operator" {
		t.Errorf("SBOM %s of %q", sbom.BOMFormat, sbom.Metadata.Component.Name)
	}
	want := moduleVersion(t, "sigs.k8s.io/controller-runtime")
	found := false
	for _, c := range sbom.Components {
		found = found || (c.Name == "sigs.k8s.io/controller-runtime" && c.Version == want)
	}
	if !found {
		t.Errorf("the SBOM does not list sigs.k8s.io/controller-runtime %s, which the manager is built with", want)
	}
}

// release runs make release into a new directory.
func release(t *testing.T) string {
	t.Helper()
	dist := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", filepath.Join("..", "..", ".."), "release",
		"VERSION="+version, "DIST="+dist, "IMAGE_REPO="+repo)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	return dist
}

func readSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(readFile(t, filepath.Join(dir, "SHA256SUMS"))))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		sums[name] = sum
	}
	return sums
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	h := sha256.Sum256([]byte(readFile(t, path)))
	return hex.EncodeToString(h[:])
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// moduleVersion is the version of module in the operator's go.mod.
func moduleVersion(t *testing.T, module string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(module) + ` (v\S+)`).FindStringSubmatch(readFile(t, filepath.Join("..", "..", "..", "go.mod")))
	if m == nil {
		t.Fatalf("go.mod does not require %s", module)
	}
	return m[1]
}
