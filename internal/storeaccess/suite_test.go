package storeaccess_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// The suite runs against envtest: Secrets and FileStores are real API objects, and
// Labelled is a real informer cache with the manager's labelled-only options, so
// consent is decided on what the manager would really hold.

var (
	k8s client.WithWatch
	// labelled is the manager's view of Secrets' metadata: labelled ones only.
	labelled cache.Cache
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithControlPlane(m, func(cfg *rest.Config, c client.WithWatch) error {
		k8s = c
		var err error
		labelled, err = cache.New(cfg, cache.Options{Scheme: framework.Scheme, ByObject: filesource.CacheByObject()})
		if err != nil {
			return err
		}
		// The suite's process ends with the tests; the cache needs no stopping.
		go func() { _ = labelled.Start(context.Background()) }()
		if !labelled.WaitForCacheSync(context.Background()) {
			return errors.New("cache did not sync")
		}
		return nil
	}))
}

// secretReads counts the reads a store access makes of Secrets through it: of their
// data (a Secret) apart from their metadata alone. hold, when set, keeps every read of
// data waiting until it is closed.
type secretReads struct {
	client.Reader
	data, metadata atomic.Int64
	hold           chan struct{}
}

func (r *secretReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	switch obj.(type) {
	case *corev1.Secret:
		r.data.Add(1)
		if r.hold != nil {
			<-r.hold
		}
	case *metav1.PartialObjectMetadata:
		r.metadata.Add(1)
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

// staleMetadata answers metadata reads with a copy taken earlier, as a cache that has not
// yet seen a change would.
type staleMetadata struct {
	mu   sync.Mutex
	meta *metav1.PartialObjectMetadata
}

func (s *staleMetadata) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta.DeepCopyInto(obj.(*metav1.PartialObjectMetadata))
	return nil
}

func (s *staleMetadata) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("staleMetadata lists nothing")
}

// failingReader is an API server that cannot be reached.
type failingReader struct{}

var errAPIDown = errors.New("API server unreachable")

func (failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errAPIDown
}

func (failingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errAPIDown
}

func newNamespace(t testing.TB) string { return framework.NewNamespace(t, k8s, "sa-") }

func create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

// newStore is a FileStore named name in ns over the bucket "evidence" at endpoint,
// reading its credentials from Secret "s3-reader".
func newStore(ns, name, endpoint string) *filelinkv1.FileStore {
	return &filelinkv1.FileStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: filelinkv1.FileStoreSpec{S3: filelinkv1.S3Bucket{
			Endpoint: endpoint, AllowInsecureHTTP: true, Region: "us-east-1", Bucket: "evidence", ForcePathStyle: true,
			Credentials: filelinkv1.S3Credentials{SecretName: "s3-reader"},
		}},
	}
}

// createStore creates, in a new namespace, the labelled credentials Secret
// "s3-reader" and the FileStore "evidence" at someEndpoint that reads it.
func createStore(t testing.TB) (ns string, sec *corev1.Secret, store *filelinkv1.FileStore) {
	t.Helper()
	ns = newNamespace(t)
	sec = framework.Secret(ns, "s3-reader", credentials("AKIA", "s3cr3t"))
	store = newStore(ns, "evidence", someEndpoint)
	create(t, sec, store)
	return ns, sec, store
}

// credentials is the data of a credentials Secret.
func credentials(accessKeyID, secretAccessKey string) map[string][]byte {
	return map[string][]byte{filelinkv1.CredentialsAccessKeyID: []byte(accessKeyID), filelinkv1.CredentialsSecretAccessKey: []byte(secretAccessKey)}
}
