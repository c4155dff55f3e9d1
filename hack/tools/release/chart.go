package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// chartRelease is what a packaged chart is pinned to.
type chartRelease struct {
	dir, version, appVersion, repository, digest, output string
	epoch                                                int64
}

func packageChartCommand(args []string) error {
	var r chartRelease
	fs := flag.NewFlagSet("chart", flag.ContinueOnError)
	fs.StringVar(&r.dir, "chart", "", "chart directory")
	fs.StringVar(&r.version, "version", "", "chart version (SemVer, no v)")
	fs.StringVar(&r.appVersion, "app-version", "", "appVersion: the release tag")
	fs.StringVar(&r.repository, "image-repository", "", "image.repository of the packaged values")
	fs.StringVar(&r.digest, "image-digest", "", "image.digest of the packaged values (sha256:...)")
	fs.StringVar(&r.output, "output", "", "directory the .tgz is written to")
	fs.Int64Var(&r.epoch, "epoch", 0, "modification time of every archived file, in Unix seconds (the commit's time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := packageChart(r)
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// packageChart writes <name>-<version>.tgz: the chart at r.dir with its version,
// appVersion and image pinned to r. Helm stamps each archived file with the time of
// packaging; the archive is written again with r.epoch instead, so two runs of one
// commit produce the same bytes and so the same digest.
func packageChart(r chartRelease) (string, error) {
	if !digestPattern.MatchString(r.digest) {
		return "", fmt.Errorf("--image-digest %q: want sha256:<64 hex>", r.digest)
	}
	ch, err := loader.Load(r.dir)
	if err != nil {
		return "", err
	}
	ch.Metadata.Version, ch.Metadata.AppVersion = r.version, r.appVersion
	if err := ch.Validate(); err != nil {
		return "", err
	}
	if err := pinImage(ch, r.repository, r.digest); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "chart-package-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	packaged, err := chartutil.Save(ch, tmp)
	if err != nil {
		return "", err
	}
	// What Helm will install from it: the schema must still accept the pinned values.
	back, err := loader.Load(packaged)
	if err != nil {
		return "", fmt.Errorf("the packaged chart does not load: %w", err)
	}
	if err := chartutil.ValidateAgainstSchema(back, back.Values); err != nil {
		return "", fmt.Errorf("the packaged values fail the chart's schema: %w", err)
	}
	if err := os.MkdirAll(r.output, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(r.output, filepath.Base(packaged))
	return out, rewriteTimes(packaged, out, time.Unix(r.epoch, 0).UTC())
}

// imageLines are values.yaml's image.repository and image.digest, as the chart writes
// them; values.yaml is edited as text so that its comments, the documentation of every
// value, survive into the package.
var imageLines = map[string]*regexp.Regexp{
	"repository": regexp.MustCompile(`(?m)^  repository: .*$`),
	"digest":     regexp.MustCompile(`(?m)^  digest: .*$`),
}

func pinImage(ch *chart.Chart, repository, digest string) error {
	for _, f := range ch.Raw {
		if f.Name != chartutil.ValuesfileName {
			continue
		}
		data := f.Data
		for key, value := range map[string]string{"repository": repository, "digest": digest} {
			re := imageLines[key]
			if n := len(re.FindAll(data, -1)); n != 1 {
				return fmt.Errorf("values.yaml: %d lines of image.%s, want exactly 1", n, key)
			}
			data = re.ReplaceAll(data, []byte("  "+key+": "+value))
		}
		f.Data = data
		values, err := chartutil.ReadValues(data)
		if err != nil {
			return err
		}
		ch.Values = values
		return nil
	}
	return errors.New("the chart has no values.yaml")
}

// rewriteTimes copies the gzipped tarball src to dst with every entry's times set to t,
// owners cleared and no time or name in the gzip header.
func rewriteTimes(src, dst string, t time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		h.ModTime, h.AccessTime, h.ChangeTime = t, time.Time{}, time.Time{}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}
