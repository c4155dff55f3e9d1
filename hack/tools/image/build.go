package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The manager runs as distroless's "nonroot" user: no entry in /etc/passwd is needed
// for a numeric user, and Kubernetes' runAsNonRoot can verify a number.
const (
	User       = "65532:65532"
	Entrypoint = "/manager"
)

// Options say what goes into the image.
type Options struct {
	Name           string            // reference, e.g. registry.example.com/org/filelink-operator:v1
	Output         string            // tarball path
	Binaries       map[string]string // "linux/amd64" → static binary
	Labels         map[string]string
	CABundle       string // optional PEM bundle
	DockerPlatform string // the platform manifest.json lists
}

// Build writes an OCI image layout as a tarball: index.json names a multi-platform
// index (the annotations ctr import and kind read), and manifest.json lists the image
// for DockerPlatform, which is what `docker load` reads first.
func Build(o Options) error {
	ref, err := name.ParseReference(o.Name)
	if err != nil {
		return fmt.Errorf("--image %q: %w", o.Name, err)
	}
	if len(o.Binaries) == 0 {
		return errors.New("no --binary given")
	}
	var caBundle []byte
	if o.CABundle != "" {
		if caBundle, err = os.ReadFile(o.CABundle); err != nil {
			return err
		}
	}

	platforms := make([]string, 0, len(o.Binaries))
	for p := range o.Binaries {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	images := map[string]v1.Image{}
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return fmt.Errorf("--binary %s: %w", p, err)
		}
		bin, err := os.ReadFile(o.Binaries[p])
		if err != nil {
			return err
		}
		img, err := platformImage(*plat, bin, caBundle, o.Labels)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		images[p] = img
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: plat},
		})
	}
	dockerImg, ok := images[o.DockerPlatform]
	if !ok {
		return fmt.Errorf("--docker-platform %s has no --binary", o.DockerPlatform)
	}

	dir, err := os.MkdirTemp("", "image-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		// containerd (ctr import, kind load image-archive) names the image after this.
		"io.containerd.image.name": containerdName(ref),
		// The OCI spec's name for a tag inside a layout; docker load reads it too.
		"org.opencontainers.image.ref.name": ref.Identifier(),
	})); err != nil {
		return err
	}
	manifest, err := dockerManifest(dockerImg, containerdName(ref))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o644); err != nil {
		return err
	}
	return tarDir(dir, o.Output)
}

// containerdDefaultRegistry is how containerd spells the default registry, which
// go-containerregistry spells with an "index." host prefix.
var containerdDefaultRegistry = strings.TrimPrefix(name.DefaultRegistry, "index.")

// containerdName is the fully qualified name containerd and the kubelet use, so that
// "filelink-operator:latest" in a Pod spec finds the imported image.
func containerdName(ref name.Reference) string {
	reg := ref.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = containerdDefaultRegistry
	}
	return reg + "/" + ref.Context().RepositoryStr() + ":" + ref.Identifier()
}

func platformImage(p v1.Platform, bin, caBundle []byte, labels map[string]string) (v1.Image, error) {
	layer, err := rootfsLayer(bin, caBundle)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	// A fixed date keeps the image reproducible: the same binaries give the same digest.
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = v1.Config{
		User:       User,
		Entrypoint: []string{Entrypoint},
		WorkingDir: "/",
		Labels:     labels,
	}
	return mutate.ConfigFile(img, cf)
}

// rootfsLayer holds the binary, an empty /tmp and, optionally, the CA bundle; nothing
// else, so there is no shell or package manager to exploit. Files belong to root, so
// the process (uid 65532) cannot change its own binary.
func rootfsLayer(bin, caBundle []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	type entry struct {
		name string
		mode int64
		data []byte
		dir  bool
	}
	entries := []entry{
		{name: "manager", mode: 0o755, data: bin},
		{name: "tmp/", mode: 0o1777, dir: true},
	}
	if caBundle != nil {
		entries = append(entries,
			entry{name: "etc/", mode: 0o755, dir: true},
			entry{name: "etc/ssl/", mode: 0o755, dir: true},
			entry{name: "etc/ssl/certs/", mode: 0o755, dir: true},
			entry{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: caBundle})
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: epoch, Format: tar.FormatPAX, Typeflag: tar.TypeReg, Size: int64(len(e.data))}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// dockerManifest is docker save's manifest.json for one image, pointing into blobs/.
func dockerManifest(img v1.Image, repoTag string) ([]byte, error) {
	cfg, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	entry := struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{Config: blobPath(cfg), RepoTags: []string{strings.TrimPrefix(repoTag, containerdDefaultRegistry+"/library/")}}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		entry.Layers = append(entry.Layers, blobPath(d))
	}
	return json.Marshal([]any{entry})
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// tarDir archives dir with sorted names and fixed times, so equal inputs give equal bytes.
func tarDir(dir, out string) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(names)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	tw := tar.NewWriter(f)
	for _, p := range names {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: time.Unix(0, 0).UTC(), Format: tar.FormatPAX}
		if fi.IsDir() {
			h.Name += "/"
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
