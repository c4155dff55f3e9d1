package filesource_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

const ns = "billing"

var consent = map[string]string{filelinkv1.ShareableLabel: filelinkv1.ShareableValue}

// TestRefOfEveryKind: RefOf is the one reading of spec.source, and every other answer
// about a source follows from the Ref it returns.
func TestRefOfEveryKind(t *testing.T) {
	for _, row := range []struct {
		source    filelinkv1.FileSource
		want      filesource.Ref
		inCluster bool
		name      string
		indexKey  string
		gvk       string
	}{{
		source:    filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: "docs", Key: "invoice.pdf"}},
		want:      filesource.Ref{Kind: filesource.KindSecret, NamespacedName: types.NamespacedName{Namespace: ns, Name: "docs"}, Key: "invoice.pdf"},
		inCluster: true, name: `Secret "docs" key "invoice.pdf"`, indexKey: "Secret/docs", gvk: "/v1, Kind=Secret",
	}, {
		source:    filelinkv1.FileSource{ConfigMap: &filelinkv1.KeySelector{Name: "brand", Key: "logo.png"}},
		want:      filesource.Ref{Kind: filesource.KindConfigMap, NamespacedName: types.NamespacedName{Namespace: ns, Name: "brand"}, Key: "logo.png"},
		inCluster: true, name: `ConfigMap "brand" key "logo.png"`, indexKey: "ConfigMap/brand", gvk: "/v1, Kind=ConfigMap",
	}, {
		source: filelinkv1.FileSource{Store: &filelinkv1.StoreObjectSelector{Name: "archive", Key: "2026/receipt.pdf", VersionID: "v1"}},
		want: filesource.Ref{Kind: filesource.KindFileStore, NamespacedName: types.NamespacedName{Namespace: ns, Name: "archive"},
			Key: "2026/receipt.pdf", VersionID: "v1"},
		name: `FileStore "archive" object "2026/receipt.pdf" version "v1"`, indexKey: "FileStore/archive",
		gvk: "filelink.dev/v1alpha1, Kind=FileStore",
	}, {
		source: filelinkv1.FileSource{Store: &filelinkv1.StoreObjectSelector{Name: "archive", Key: "latest.pdf"}},
		want:   filesource.Ref{Kind: filesource.KindFileStore, NamespacedName: types.NamespacedName{Namespace: ns, Name: "archive"}, Key: "latest.pdf"},
		name:   `FileStore "archive" object "latest.pdf"`, indexKey: "FileStore/archive", gvk: "filelink.dev/v1alpha1, Kind=FileStore",
	}, {
		// A spec that names nothing (the schema refuses it) is indexed under nothing.
		want: filesource.Ref{},
	}} {
		t.Run(row.name, func(t *testing.T) {
			file := &filelinkv1.File{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "f"}, Spec: filelinkv1.FileSpec{Source: row.source}}
			ref := filesource.Of(file)
			if ref != row.want {
				t.Fatalf("Of: %+v, want %+v", ref, row.want)
			}
			if ref.Kind.InCluster() != row.inCluster {
				t.Errorf("InCluster: %v", ref.Kind.InCluster())
			}
			if row.name != "" && ref.String() != row.name {
				t.Errorf("String: %s, want %s", ref, row.name)
			}
			if ref.IndexKey() != row.indexKey {
				t.Errorf("IndexKey: %q, want %q", ref.IndexKey(), row.indexKey)
			}
			if row.gvk != "" && ref.Metadata().GroupVersionKind().String() != row.gvk {
				t.Errorf("Metadata kind: %s, want %s", ref.Metadata().GroupVersionKind(), row.gvk)
			}
		})
	}
	// The index value of an event's object is the one its Files are indexed under.
	if filesource.IndexKey(filesource.KindSecret, "docs") != "Secret/docs" {
		t.Error("IndexKey of an event's Secret differs from its File's")
	}
}

// sources are what the API server holds in the tests below.
func sources() []client.Object {
	meta := func(name string, labels map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, ResourceVersion: "7"}
	}
	return []client.Object{
		&corev1.Secret{ObjectMeta: meta("shared", consent), Data: map[string][]byte{"invoice.pdf": []byte("%PDF")}},
		&corev1.Secret{ObjectMeta: meta("private", nil), Data: map[string][]byte{"invoice.pdf": []byte("secret")}},
		&corev1.Secret{ObjectMeta: meta("refused", map[string]string{filelinkv1.ShareableLabel: "false"}), Data: map[string][]byte{"invoice.pdf": []byte("secret")}},
		&corev1.ConfigMap{ObjectMeta: meta("brand", consent), Data: map[string]string{"terms.txt": "text"},
			BinaryData: map[string][]byte{"logo.png": {0x89, 'P', 'N', 'G'}}},
	}
}

func apiServer(objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithObjects(objs...).Build()
}

func ref(kind filesource.Kind, name, key string) filesource.Ref {
	return filesource.Ref{Kind: kind, NamespacedName: types.NamespacedName{Namespace: ns, Name: name}, Key: key}
}

// TestReadOnlyWithConsent: Read returns the bytes of a labelled source only, from a
// Secret, a ConfigMap's text or its binary data, and tells each kind of absence apart.
func TestReadOnlyWithConsent(t *testing.T) {
	api := apiServer(sources()...)
	for _, row := range []struct {
		situation string
		ref       filesource.Ref
		data      string
		err       error
		// version: the Content names the object even though the data is absent.
		version bool
	}{
		{situation: "labelled Secret", ref: ref(filesource.KindSecret, "shared", "invoice.pdf"), data: "%PDF", version: true},
		{situation: "ConfigMap text", ref: ref(filesource.KindConfigMap, "brand", "terms.txt"), data: "text", version: true},
		{situation: "ConfigMap binary data", ref: ref(filesource.KindConfigMap, "brand", "logo.png"), data: "\x89PNG", version: true},
		{situation: "unlabelled Secret", ref: ref(filesource.KindSecret, "private", "invoice.pdf"), err: filesource.ErrNotShareable},
		{situation: "label value other than true", ref: ref(filesource.KindSecret, "refused", "invoice.pdf"), err: filesource.ErrNotShareable},
		{situation: "missing Secret", ref: ref(filesource.KindSecret, "gone", "invoice.pdf"), err: filesource.ErrSourceNotFound},
		{situation: "missing key", ref: ref(filesource.KindSecret, "shared", "other.pdf"), err: filesource.ErrKeyNotFound, version: true},
		{situation: "no source named", ref: filesource.Ref{}, err: filesource.ErrSourceNotFound},
	} {
		t.Run(row.situation, func(t *testing.T) {
			c, err := filesource.Read(context.Background(), api, row.ref)
			if !errors.Is(err, row.err) || (row.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, row.err)
			}
			if string(c.Data) != row.data {
				t.Errorf("data %q, want %q", c.Data, row.data)
			}
			if (c.ResourceVersion != "") != row.version {
				t.Errorf("resourceVersion %q; want one: %v", c.ResourceVersion, row.version)
			}
			if errors.Is(err, filesource.ErrNotShareable) && (c.UID != "" || c.ResourceVersion != "") {
				t.Errorf("an unshareable source's identity leaked: %+v", c)
			}
		})
	}
}

// A FileStore's bytes are not in the cluster: asking this package for them is a
// caller's mistake, never reported as an absent source (which a File would publish).
func TestFileStoreRefsAreNotReadHere(t *testing.T) {
	store := filesource.Ref{Kind: filesource.KindFileStore, NamespacedName: types.NamespacedName{Namespace: ns, Name: "archive"}, Key: "a.pdf"}
	api := apiServer()
	if _, err := filesource.Read(context.Background(), api, store); err == nil || errors.Is(err, filesource.ErrSourceNotFound) {
		t.Errorf("Read: %v", err)
	}
	if err := filesource.CheckConsent(context.Background(), api, api, store); err == nil || errors.Is(err, filesource.ErrSourceNotFound) {
		t.Errorf("CheckConsent: %v", err)
	}
}

// recorder is a reader that records the type of every object asked of it.
type recorder struct {
	client.Reader
	asked []string
	err   error
}

func (r *recorder) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	switch obj.(type) {
	case *metav1.PartialObjectMetadata:
		r.asked = append(r.asked, "metadata")
	default:
		r.asked = append(r.asked, "object")
	}
	if r.err != nil {
		return r.err
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

// TestCheckConsentFetchesNoData: consent is decided on metadata alone, from the
// labelled cache when it holds the source and by a metadata-only read otherwise, so
// no byte of an unlabelled source ever reaches the caller's process.
func TestCheckConsentFetchesNoData(t *testing.T) {
	all := sources()
	var labelled []client.Object
	for _, o := range all {
		if filesource.Shareable(o) {
			labelled = append(labelled, o)
		}
	}
	boom := errors.New("API server unreachable")
	for _, row := range []struct {
		situation string
		ref       filesource.Ref
		apiErr    error
		want      error
		// asked is what the API server is asked for.
		asked []string
	}{
		{situation: "labelled, in the cache", ref: ref(filesource.KindSecret, "shared", "invoice.pdf")},
		{situation: "labelled ConfigMap, in the cache", ref: ref(filesource.KindConfigMap, "brand", "logo.png")},
		{situation: "unlabelled", ref: ref(filesource.KindSecret, "private", "invoice.pdf"), want: filesource.ErrNotShareable, asked: []string{"metadata"}},
		{situation: "missing", ref: ref(filesource.KindSecret, "gone", "invoice.pdf"), want: filesource.ErrSourceNotFound, asked: []string{"metadata"}},
		{situation: "API server failing", ref: ref(filesource.KindSecret, "private", "invoice.pdf"), apiErr: boom, want: boom, asked: []string{"metadata"}},
		{situation: "no source named", ref: filesource.Ref{}, want: filesource.ErrSourceNotFound},
	} {
		t.Run(row.situation, func(t *testing.T) {
			api := &recorder{Reader: apiServer(all...), err: row.apiErr}
			err := filesource.CheckConsent(context.Background(), apiServer(labelled...), api, row.ref)
			if !errors.Is(err, row.want) || (row.want == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, row.want)
			}
			if errors.Is(row.want, boom) && (errors.Is(err, filesource.ErrSourceNotFound) || errors.Is(err, filesource.ErrNotShareable)) {
				t.Errorf("a failing API server passed for a verdict: %v", err)
			}
			if len(api.asked) != len(row.asked) || (len(row.asked) > 0 && api.asked[0] != row.asked[0]) {
				t.Errorf("the API server was asked for %v, want %v", api.asked, row.asked)
			}
		})
	}
}

// A cache that lags behind a label's removal may still hold the source; Read checks the
// label on what it fetched, so the data stays in all the same.
func TestReadChecksTheLabelOnWhatItFetched(t *testing.T) {
	stale := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "docs", Labels: consent}}
	now := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "docs"}, Data: map[string][]byte{"a": []byte("secret")}}
	r := ref(filesource.KindSecret, "docs", "a")
	if err := filesource.CheckConsent(context.Background(), apiServer(stale), apiServer(now), r); err != nil {
		t.Fatalf("consent from the cache: %v", err)
	}
	if c, err := filesource.Read(context.Background(), apiServer(now), r); !errors.Is(err, filesource.ErrNotShareable) || c.Data != nil {
		t.Errorf("Read after the label's removal: %q, %v", c.Data, err)
	}
}
