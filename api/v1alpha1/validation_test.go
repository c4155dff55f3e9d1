package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// These tests hold the CRD schema to SPEC §2: every rule that needs neither the clock nor
// another object is refused by the API server itself, webhooks or not.

var k8s client.Client

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithControlPlane(m, func(_ *rest.Config, c client.WithWatch) error {
		k8s = c
		return framework.CreateNamespaces(k8s, ns)
	}))
}

const ns = "validation"

func validFile(name string) *filelinkv1.File {
	return &filelinkv1.File{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: filelinkv1.FileSpec{
			Purpose: filelinkv1.PurposeDisputeEvidence,
			Source:  filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: "docs", Key: "evidence.pdf"}},
		},
	}
}

func validLink(name string) *filelinkv1.FileLink {
	return &filelinkv1.FileLink{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       filelinkv1.FileLinkSpec{File: "evidence"},
	}
}

func metadataOf(n int, key func(i int) string, value string) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[key(i)] = value
	}
	return m
}

// invalidCase is a change that must make a valid object fail admission, and the words
// (field path, rule message) the refusal must mention.
type invalidCase[T client.Object] struct {
	name   string
	mutate func(T)
	want   []string
}

// runInvalid creates, per case, an object from valid changed by the case's mutate, and
// asserts the API server refuses it as the case says.
func runInvalid[T client.Object](t *testing.T, valid func(name string) T, cases []invalidCase[T]) {
	t.Helper()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := valid(fmt.Sprintf("bad-%d", i))
			c.mutate(obj)
			framework.WantInvalid(t, k8s.Create(context.Background(), obj), c.want...)
		})
	}
}

func TestFileCreateValidation(t *testing.T) {
	cases := []invalidCase[*filelinkv1.File]{
		{"unknown purpose", func(f *filelinkv1.File) { f.Spec.Purpose = "cat_pictures" }, []string{"spec.purpose", "Unsupported value"}},
		{"empty purpose", func(f *filelinkv1.File) { f.Spec.Purpose = "" }, []string{"spec.purpose"}},
		{"no source", func(f *filelinkv1.File) { f.Spec.Source = filelinkv1.FileSource{} }, []string{"spec.source", "exactly one of source.secret, source.configMap or source.store"}},
		{"both sources", func(f *filelinkv1.File) {
			f.Spec.Source.ConfigMap = &filelinkv1.KeySelector{Name: "docs", Key: "evidence.pdf"}
		}, []string{"spec.source", "exactly one of source.secret, source.configMap or source.store"}},
		{"source without key", func(f *filelinkv1.File) { f.Spec.Source.Secret.Key = "" }, []string{"spec.source.secret.key"}},
		{"source key with slash", func(f *filelinkv1.File) { f.Spec.Source.Secret.Key = "a/b" }, []string{"spec.source.secret.key"}},
		{"filename with slash", func(f *filelinkv1.File) { f.Spec.Filename = "../etc/passwd" }, []string{"spec.filename", "must not contain '/'"}},
		{"filename with newline", func(f *filelinkv1.File) { f.Spec.Filename = "a\nb.pdf" }, []string{"spec.filename", "control characters"}},
		{"filename with NUL", func(f *filelinkv1.File) { f.Spec.Filename = "a\x00b.pdf" }, []string{"spec.filename", "control characters"}},
		{"filename with DEL", func(f *filelinkv1.File) { f.Spec.Filename = "a\x7fb.pdf" }, []string{"spec.filename", "control characters"}},
		{"filename of 256 bytes", func(f *filelinkv1.File) { f.Spec.Filename = strings.Repeat("a", 252) + ".pdf" }, []string{"spec.filename"}},
		{"filename of 128 characters but 256 bytes", func(f *filelinkv1.File) { f.Spec.Filename = strings.Repeat("é", 128) }, []string{"spec.filename", "at most 255 bytes"}},
		{"malformed content type", func(f *filelinkv1.File) { f.Spec.ContentType = "pdf" }, []string{"spec.contentType"}},
	}
	runInvalid(t, validFile, cases)
}

func TestFileAcceptsEdgeValues(t *testing.T) {
	ctx := context.Background()
	f := validFile("edge")
	f.Spec.Filename = strings.Repeat("é", 127) + "a" // 255 bytes exactly
	f.Spec.ContentType = "text/csv; charset=utf-8"
	f.Spec.Source = filelinkv1.FileSource{ConfigMap: &filelinkv1.KeySelector{Name: "docs", Key: "report.csv"}}
	if err := k8s.Create(ctx, f); err != nil {
		t.Fatalf("valid File refused: %v", err)
	}
	// Every one of Stripe's 21 purposes is accepted.
	purposes := []filelinkv1.Purpose{"account_requirement", "additional_verification", "business_icon", "business_logo",
		"customer_signature", "dispute_evidence", "document_provider_identity_document", "finance_report_run",
		"financial_account_statement", "identity_document", "identity_document_downloadable",
		"issuing_regulatory_reporting", "pci_document", "platform_terms_of_service", "selfie",
		"sigma_scheduled_query", "tax_document_user_upload", "terminal_android_apk",
		"terminal_reader_splashscreen", "terminal_wifi_certificate", "terminal_wifi_private_key"}
	for _, p := range purposes {
		f := validFile(strings.ReplaceAll("purpose-"+string(p), "_", "-"))
		f.Spec.Purpose = p
		if err := k8s.Create(ctx, f); err != nil {
			t.Errorf("purpose %s refused: %v", p, err)
		}
	}
}

func TestFilePurposeIsImmutable(t *testing.T) {
	ctx := context.Background()
	f := validFile("immutable-purpose")
	if err := k8s.Create(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.Spec.Purpose = filelinkv1.PurposeBusinessLogo
	framework.WantInvalid(t, k8s.Update(ctx, f), "spec.purpose", "purpose is immutable")
}

func TestStatusObservedGenerationDefaultsToMinusOne(t *testing.T) {
	ctx := context.Background()
	f, l := validFile("fresh"), validLink("fresh")
	for _, o := range []client.Object{f, l} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if f.Status.ObservedGeneration != -1 || l.Status.ObservedGeneration != -1 {
		t.Fatalf("observedGeneration = %d (File), %d (FileLink); want -1", f.Status.ObservedGeneration, l.Status.ObservedGeneration)
	}
}

func TestFileLinkCreateValidation(t *testing.T) {
	key := func(i int) string { return fmt.Sprintf("key-%d", i) }
	cases := []invalidCase[*filelinkv1.FileLink]{
		{"no file", func(l *filelinkv1.FileLink) { l.Spec.File = "" }, []string{"spec.file"}},
		{"51 metadata keys", func(l *filelinkv1.FileLink) { l.Spec.Metadata = metadataOf(51, key, "v") }, []string{"spec.metadata", "50"}},
		{"key with [", func(l *filelinkv1.FileLink) { l.Spec.Metadata = map[string]string{"order[id]": "1"} }, []string{"spec.metadata", "must not contain '[' or ']'"}},
		{"key with ]", func(l *filelinkv1.FileLink) { l.Spec.Metadata = map[string]string{"order]": "1"} }, []string{"spec.metadata", "must not contain '[' or ']'"}},
		{"41-character key", func(l *filelinkv1.FileLink) { l.Spec.Metadata = map[string]string{strings.Repeat("k", 41): "v"} }, []string{"spec.metadata", "keys must be at most 40 characters"}},
		{"501-character value", func(l *filelinkv1.FileLink) { l.Spec.Metadata = map[string]string{"k": strings.Repeat("v", 501)} }, []string{"spec.metadata", "values must be at most 500 characters"}},
	}
	runInvalid(t, validLink, cases)
}

func TestFileLinkAcceptsStripesLimits(t *testing.T) {
	ctx := context.Background()
	l := validLink("limits")
	l.Spec.Metadata = metadataOf(50, func(i int) string { return fmt.Sprintf("%040d", i) }, strings.Repeat("v", 500))
	expires := metav1.NewTime(time.Now().Add(time.Hour))
	l.Spec.ExpiresAt = &expires
	if err := k8s.Create(ctx, l); err != nil {
		t.Fatalf("link at Stripe's limits refused: %v", err)
	}
}

func TestFileLinkFileIsImmutable(t *testing.T) {
	ctx := context.Background()
	l := validLink("immutable-file")
	if err := k8s.Create(ctx, l); err != nil {
		t.Fatal(err)
	}
	l.Spec.File = "other"
	framework.WantInvalid(t, k8s.Update(ctx, l), "spec.file", "file is immutable")
}

func TestFileLinksSelectableByFile(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"sel-a", "sel-b"} {
		l := validLink(name)
		l.Spec.File = "selectable-" + name
		if err := k8s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	list := &filelinkv1.FileLinkList{}
	if err := k8s.List(ctx, list, client.InNamespace(ns), client.MatchingFields{"spec.file": "selectable-sel-b"}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "sel-b" {
		t.Fatalf("field selector spec.file=selectable-sel-b listed %d links", len(list.Items))
	}
}
