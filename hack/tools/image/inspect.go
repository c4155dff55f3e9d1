package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Report is what a runtime would see in an image tarball.
type Report struct {
	Name    string                    // io.containerd.image.name of the index
	Digest  string                    // of the image index: what a registry names the multi-arch image by
	Configs map[string]*v1.ConfigFile // by platform
	Files   map[string]map[string]*tar.Header
	Docker  []DockerEntry // manifest.json
}

// DockerEntry is one entry of manifest.json.
type DockerEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Inspect unpacks the tarball and reads it as an OCI layout, the way ctr import does,
// and manifest.json, the way docker load does.
func Inspect(tarPath string) (*Report, error) {
	dir, err := os.MkdirTemp("", "image-inspect-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := untar(tarPath, dir); err != nil {
		return nil, err
	}
	r := &Report{Configs: map[string]*v1.ConfigFile{}, Files: map[string]map[string]*tar.Header{}}
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("not an OCI layout: %w", err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(tm.Manifests) != 1 {
		return nil, fmt.Errorf("index.json lists %d entries, want one image index", len(tm.Manifests))
	}
	r.Name = tm.Manifests[0].Annotations["io.containerd.image.name"]
	r.Digest = tm.Manifests[0].Digest.String()
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			return nil, fmt.Errorf("manifest %s has no platform", d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		p := d.Platform.String()
		if cf.Platform().String() != p {
			return nil, fmt.Errorf("index says %s, config says %s", p, cf.Platform())
		}
		r.Configs[p] = cf
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		r.Files[p] = map[string]*tar.Header{}
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				return nil, err
			}
			tr := tar.NewReader(rc)
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					rc.Close()
					return nil, err
				}
				r.Files[p]["/"+strings.TrimSuffix(h.Name, "/")] = h
			}
			rc.Close()
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("no manifest.json for docker load: %w", err)
	}
	if err := json.Unmarshal(b, &r.Docker); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	for _, e := range r.Docker {
		for _, p := range append([]string{e.Config}, e.Layers...) {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				return nil, fmt.Errorf("manifest.json points at a missing blob: %w", err)
			}
		}
	}
	return r, nil
}

// Platforms are the image's platforms, sorted.
func (r *Report) Platforms() []string {
	var ps []string
	for p := range r.Configs {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// User is the user every platform's image runs as; "" if they differ.
func (r *Report) User() string { return r.same(func(c *v1.ConfigFile) string { return c.Config.User }) }
func (r *Report) Entrypoint() []string {
	return strings.Fields(r.same(func(c *v1.ConfigFile) string { return strings.Join(c.Config.Entrypoint, " ") }))
}

func (r *Report) same(f func(*v1.ConfigFile) string) string {
	var v string
	for i, p := range r.Platforms() {
		if i == 0 {
			v = f(r.Configs[p])
		} else if f(r.Configs[p]) != v {
			return ""
		}
	}
	return v
}

// CheckManager checks what the manager's image promises (SPEC §11): both platforms,
// the non-root user, the manager as entrypoint and no shell, and a manifest.json.
func (r *Report) CheckManager() error {
	var errs []error
	if got := r.Platforms(); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		errs = append(errs, fmt.Errorf("platforms %v, want linux/amd64 and linux/arm64", got))
	}
	if r.User() != User {
		errs = append(errs, fmt.Errorf("user %q, want %s", r.User(), User))
	}
	if got := r.Entrypoint(); !slices.Equal(got, []string{Entrypoint}) {
		errs = append(errs, fmt.Errorf("entrypoint %v, want [%s]", got, Entrypoint))
	}
	for p, files := range r.Files {
		m := files[Entrypoint]
		switch {
		case m == nil:
			errs = append(errs, fmt.Errorf("%s: no %s", p, Entrypoint))
		case m.Mode&0o111 == 0 || m.Uid != 0 || m.Mode&0o022 != 0:
			errs = append(errs, fmt.Errorf("%s: %s has mode %o, owner %d; want executable, root-owned, not writable by others", p, Entrypoint, m.Mode, m.Uid))
		}
		for _, sh := range []string{"/bin/sh", "/bin/bash", "/bin/busybox"} {
			if files[sh] != nil {
				errs = append(errs, fmt.Errorf("%s: has a shell, %s", p, sh))
			}
		}
	}
	if len(r.Docker) != 1 || len(r.Docker[0].RepoTags) != 1 {
		errs = append(errs, fmt.Errorf("manifest.json: %+v, want one image with one tag", r.Docker))
	}
	return errors.Join(errs...)
}

func untar(src, dir string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("tar entry %q leaves the archive", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			out, err := os.Create(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			out.Close()
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("tar entry %q: unexpected type %c", h.Name, h.Typeflag)
		}
	}
}
