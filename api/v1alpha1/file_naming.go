package v1alpha1

import (
	"mime"
	"path"
	"strings"
)

// contentTypes maps the extensions of Stripe's file types to MIME types. It is consulted
// before the platform's MIME table so that a File's content type does not depend on
// which /etc/mime.types the manager's image happens to ship.
var contentTypes = map[string]string{
	"apk":  "application/vnd.android.package-archive",
	"csv":  "text/csv",
	"doc":  "application/msword",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"gif":  "image/gif",
	"jpeg": "image/jpeg",
	"jpg":  "image/jpeg",
	"json": "application/json",
	"pdf":  "application/pdf",
	"pem":  "application/x-pem-file",
	"png":  "image/png",
	"svg":  "image/svg+xml",
	"tsv":  "text/tab-separated-values",
	"txt":  "text/plain; charset=utf-8",
	"webp": "image/webp",
	"xls":  "application/vnd.ms-excel",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"zip":  "application/zip",
}

// DownloadName is the name the file is offered under: spec.filename, else metadata.name.
func (f *File) DownloadName() string {
	if f.Spec.Filename != "" {
		return f.Spec.Filename
	}
	return f.Name
}

// FileType is Stripe's `type` of the file: the download name's extension, lower case,
// without the dot; empty when there is none. A File of a store object without
// spec.filename takes the extension of the object's key, which names the object far
// more often than the File's metadata.name does ("2026/11/receipt-0042.pdf").
func (f *File) FileType() string {
	if f.Spec.Filename == "" && f.Spec.Source.Store != nil {
		if ext := extension(f.Spec.Source.Store.Key); ext != "" {
			return ext
		}
	}
	return extension(f.DownloadName())
}

func extension(name string) string {
	return strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
}

// MediaType is the Content-Type the file is served with: spec.contentType, else the
// type registered for its extension, else application/octet-stream.
func (f *File) MediaType() string {
	if f.Spec.ContentType != "" {
		return f.Spec.ContentType
	}
	ext := f.FileType()
	if ext == "" {
		return "application/octet-stream"
	}
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension("." + ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
