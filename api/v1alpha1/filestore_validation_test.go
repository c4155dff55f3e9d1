package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

func validStore(name string) *filelinkv1.FileStore {
	return &filelinkv1.FileStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: filelinkv1.FileStoreSpec{S3: filelinkv1.S3Bucket{
			Endpoint:    "https://s3.eu-west-1.amazonaws.com",
			Bucket:      "dispute-evidence",
			Credentials: filelinkv1.S3Credentials{SecretName: "s3-reader"},
		}},
	}
}

func TestFileStoreCreateValidation(t *testing.T) {
	cases := []invalidCase[*filelinkv1.FileStore]{
		{"no endpoint", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "" }, []string{"spec.s3.endpoint"}},
		{"endpoint without scheme", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "s3.amazonaws.com" }, []string{"spec.s3.endpoint", "absolute URL"}},
		{"endpoint not a URL", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "https://exa mple.com" }, []string{"spec.s3.endpoint", "absolute URL"}},
		{"ftp endpoint", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "ftp://s3.example.com" }, []string{"spec.s3.endpoint", "scheme must be https or http"}},
		{"http endpoint not allowed", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "http://minio.storage.svc:9000" }, []string{"spec.s3.endpoint", "allowInsecureHTTP"}},
		{"endpoint with path", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "https://s3.example.com/dispute-evidence" }, []string{"spec.s3.endpoint", "must not have a path"}},
		{"endpoint with query", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "https://s3.example.com?x=1" }, []string{"spec.s3.endpoint", "query"}},
		{"endpoint with fragment", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "https://s3.example.com#x" }, []string{"spec.s3.endpoint", "fragment"}},
		{"endpoint with user info", func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "https://key:secret@s3.example.com" }, []string{"spec.s3.endpoint", "credentials"}},
		{"no bucket", func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = "" }, []string{"spec.s3.bucket"}},
		{"bucket too short", func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = "ab" }, []string{"spec.s3.bucket"}},
		{"bucket too long", func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = strings.Repeat("a", 64) }, []string{"spec.s3.bucket"}},
		{"bucket upper case", func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = "Evidence" }, []string{"spec.s3.bucket"}},
		{"bucket with underscore", func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = "dispute_evidence" }, []string{"spec.s3.bucket"}},
		{"bucket ending in hyphen", func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = "evidence-" }, []string{"spec.s3.bucket"}},
		{"bucket with adjacent dots", func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = "dispute..evidence" }, []string{"spec.s3.bucket", "adjacent dots"}},
		{"bucket like an IP address", func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = "192.168.5.4" }, []string{"spec.s3.bucket", "IP address"}},
		{"region with slash", func(s *filelinkv1.FileStore) { s.Spec.S3.Region = "eu/west" }, []string{"spec.s3.region"}},
		{"no credentials secret", func(s *filelinkv1.FileStore) { s.Spec.S3.Credentials.SecretName = "" }, []string{"spec.s3.credentials.secretName"}},
		{"credentials secret not a name", func(s *filelinkv1.FileStore) { s.Spec.S3.Credentials.SecretName = "S3_Reader" }, []string{"spec.s3.credentials.secretName"}},
		{"unknown delivery", func(s *filelinkv1.FileStore) { s.Spec.Delivery = "email" }, []string{"spec.delivery", "Unsupported value"}},
		{"interval below a second", func(s *filelinkv1.FileStore) { s.Spec.Interval = &metav1.Duration{Duration: 500 * time.Millisecond} }, []string{"spec.interval", "at least 1s"}},
		{"negative interval", func(s *filelinkv1.FileStore) { s.Spec.Interval = &metav1.Duration{Duration: -time.Minute} }, []string{"spec.interval"}},
	}
	runInvalid(t, validStore, cases)
}

func TestFileStoreDefaultsAndAcceptedValues(t *testing.T) {
	ctx := context.Background()
	s := validStore("defaults")
	if err := k8s.Create(ctx, s); err != nil {
		t.Fatalf("valid FileStore refused: %v", err)
	}
	if s.Spec.Delivery != filelinkv1.DeliveryProxy || s.Spec.Interval == nil || s.Spec.Interval.Duration != 10*time.Minute || s.Status.ObservedGeneration != -1 {
		t.Fatalf("defaults: delivery %q, interval %v, observedGeneration %d; want proxy, 10m, -1",
			s.Spec.Delivery, s.Spec.Interval, s.Status.ObservedGeneration)
	}

	accepted := map[string]func(*filelinkv1.FileStore){
		"http allowed": func(s *filelinkv1.FileStore) {
			s.Spec.S3.Endpoint, s.Spec.S3.AllowInsecureHTTP = "http://127.0.0.1:8333", true
		},
		"https with port and slash": func(s *filelinkv1.FileStore) { s.Spec.S3.Endpoint = "https://minio.storage.svc:9000/" },
		"self-hosted": func(s *filelinkv1.FileStore) {
			s.Spec.S3.Region, s.Spec.S3.ForcePathStyle, s.Spec.S3.Bucket = "garage", true, "a.b-c.0"
		},
		"redirect every second": func(s *filelinkv1.FileStore) {
			s.Spec.Delivery, s.Spec.Interval = filelinkv1.DeliveryRedirect, &metav1.Duration{Duration: time.Second}
		},
		"longest bucket": func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = strings.Repeat("b", 63) },
	}
	i := 0
	for name, mutate := range accepted {
		s := validStore(fmt.Sprintf("good-%d", i))
		i++
		mutate(s)
		if err := k8s.Create(ctx, s); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
}

func TestFileStoreSourceValidation(t *testing.T) {
	ctx := context.Background()
	store := func(key, version string) filelinkv1.FileSource {
		return filelinkv1.FileSource{Store: &filelinkv1.StoreObjectSelector{Name: "evidence", Key: key, VersionID: version}}
	}
	cases := []struct {
		name   string
		source filelinkv1.FileSource
		want   []string
	}{
		{"store and secret", filelinkv1.FileSource{
			Store:  &filelinkv1.StoreObjectSelector{Name: "evidence", Key: "a.pdf"},
			Secret: &filelinkv1.KeySelector{Name: "docs", Key: "a.pdf"},
		}, []string{"spec.source", "exactly one of source.secret, source.configMap or source.store"}},
		{"store without name", filelinkv1.FileSource{Store: &filelinkv1.StoreObjectSelector{Key: "a.pdf"}}, []string{"spec.source.store.name"}},
		{"store without key", store("", ""), []string{"spec.source.store.key"}},
		{"key of 1025 bytes", store(strings.Repeat("k", 1025), ""), []string{"spec.source.store.key"}},
		{"key of 600 characters but 1200 bytes", store(strings.Repeat("é", 600), ""), []string{"spec.source.store.key", "at most 1024 bytes"}},
		{"store without version", filelinkv1.FileSource{Store: &filelinkv1.StoreObjectSelector{Name: "evidence", Key: "a.pdf"}}, nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := validFile(fmt.Sprintf("store-%d", i))
			f.Spec.Source = c.source
			err := k8s.Create(ctx, f)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			framework.WantInvalid(t, err, c.want...)
		})
	}

	good := validFile("store-good")
	good.Spec.Source = store("2026/11/receipt 0042 "+strings.Repeat("x", 1000), "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo")
	if err := k8s.Create(ctx, good); err != nil {
		t.Fatalf("a store source with a long key and a version refused: %v", err)
	}
}
