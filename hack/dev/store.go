package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/filelink-dev/filelink-operator/test/framework"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// The object the FileStore sample's File names, and its size: 5 MB, Stripe's limit for
// dispute evidence, more than a Secret can hold.
const (
	sampleBucket = "dispute-evidence"
	sampleKey    = "2026/11/receipt-0042.pdf"
	sampleSize   = 5 << 20
)

// startStore starts SeaweedFS on loopback with the sample's bucket and a 5 MB object in
// it, and applies config/samples/filestore pointed at it, with a FileLink to its File.
// The overlay goes next to the kubeconfig; the caller stops the returned server.
func startStore(ctx context.Context, cluster *framework.Cluster, samplesDir string) (*s3server.Server, error) {
	fmt.Println("starting SeaweedFS (the first run builds it, several minutes)...")
	s3, err := s3server.Start(ctx, s3server.Options{})
	if err != nil {
		return nil, err
	}
	if err := fillStore(ctx, s3); err != nil {
		_ = s3.Stop()
		return nil, err
	}
	if err := applyStoreSample(ctx, cluster, s3, samplesDir); err != nil {
		_ = s3.Stop()
		return nil, err
	}
	fmt.Printf("SeaweedFS S3 at %s holds s3://%s/%s (%d bytes)\n", s3.Endpoint, sampleBucket, sampleKey, sampleSize)
	return s3, nil
}

func fillStore(ctx context.Context, s3 *s3server.Server) error {
	if err := s3.CreateBucket(ctx, sampleBucket, true); err != nil {
		return err
	}
	body := make([]byte, sampleSize)
	if _, err := rand.Read(body); err != nil {
		return err
	}
	copy(body, "%PDF-1.7\n% not a real PDF: random bytes from make dev\n")
	_, err := s3.Put(ctx, sampleBucket, sampleKey, body, "application/pdf")
	return err
}

// applyStoreSample applies the FileStore sample as a user would, through a kustomize
// overlay that points it at the local server and adds a link to its File.
func applyStoreSample(ctx context.Context, cluster *framework.Cluster, s3 *s3server.Server, samplesDir string) error {
	dir := filepath.Join(filepath.Dir(cluster.Kubeconfig), "filestore")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	base, err := filepath.Rel(dir, samplesDir)
	if err != nil {
		return err
	}
	files := map[string]string{
		"kustomization.yaml": fmt.Sprintf(`resources:
- %s
- filelink.yaml
patches:
- path: store.yaml
- path: credentials.yaml
`, base),
		"store.yaml": fmt.Sprintf(`apiVersion: filelink.dev/v1alpha1
kind: FileStore
metadata:
  name: evidence
spec:
  s3:
    endpoint: %s
    region: %s
    bucket: %s
    forcePathStyle: true
    allowInsecureHTTP: true
  interval: 1m
`, s3.Endpoint, s3server.Region, sampleBucket),
		"credentials.yaml": fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: s3-reader
stringData:
  accessKeyID: %s
  secretAccessKey: %s
`, s3.AccessKeyID, s3.SecretAccessKey),
		"filelink.yaml": `apiVersion: filelink.dev/v1alpha1
kind: FileLink
metadata:
  name: evidence-0042
spec:
  file: evidence-0042
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	out, err := cluster.Kubectl(ctx, "apply", "-k", dir)
	if err != nil {
		return err
	}
	fmt.Print(out)
	return nil
}
