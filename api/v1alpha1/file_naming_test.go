package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFileNaming(t *testing.T) {
	cases := []struct {
		name, filename, contentType   string
		wantName, wantType, wantMedia string
	}{
		{"evidence", "Evidence.PDF", "", "Evidence.PDF", "pdf", "application/pdf"},
		{"report.csv", "", "", "report.csv", "csv", "text/csv"},
		{"logo", "", "", "logo", "", "application/octet-stream"},
		{"logo", "logo.png", "image/x-custom", "logo.png", "png", "image/x-custom"},
		{"blob", "blob.unknownext", "", "blob.unknownext", "unknownext", "application/octet-stream"},
		{"dotfile", ".hidden", "", ".hidden", "hidden", "application/octet-stream"},
	}
	for _, c := range cases {
		f := &File{ObjectMeta: metav1.ObjectMeta{Name: c.name}, Spec: FileSpec{Filename: c.filename, ContentType: c.contentType}}
		if got := f.DownloadName(); got != c.wantName {
			t.Errorf("%s/%s: DownloadName = %q, want %q", c.name, c.filename, got, c.wantName)
		}
		if got := f.FileType(); got != c.wantType {
			t.Errorf("%s/%s: FileType = %q, want %q", c.name, c.filename, got, c.wantType)
		}
		if got := f.MediaType(); got != c.wantMedia {
			t.Errorf("%s/%s: MediaType = %q, want %q", c.name, c.filename, got, c.wantMedia)
		}
	}
}

func TestStoreFileTypeFromKey(t *testing.T) {
	cases := []struct {
		name, filename, key string
		wantType, wantMedia string
	}{
		{"evidence-0042", "", "2026/11/receipt-0042.PDF", "pdf", "application/pdf"},
		{"evidence-0042", "evidence.csv", "2026/11/receipt-0042.pdf", "csv", "text/csv"},
		{"report.csv", "", "2026/11/report", "csv", "text/csv"},
		{"blob", "", "dir.d/blob", "", "application/octet-stream"},
	}
	for _, c := range cases {
		f := &File{ObjectMeta: metav1.ObjectMeta{Name: c.name}, Spec: FileSpec{Filename: c.filename,
			Source: FileSource{Store: &StoreObjectSelector{Name: "evidence", Key: c.key}}}}
		if got := f.FileType(); got != c.wantType {
			t.Errorf("%s/%s/%s: FileType = %q, want %q", c.name, c.filename, c.key, got, c.wantType)
		}
		if got := f.MediaType(); got != c.wantMedia {
			t.Errorf("%s/%s/%s: MediaType = %q, want %q", c.name, c.filename, c.key, got, c.wantMedia)
		}
	}
}
