package controllers

import (
	"mime"
	"path"
	"strings"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// contentTypes maps the extensions of Stripe's file types to MIME types. It is consulted
// before the platform's MIME table so that a File's contentType does not depend on which
// /etc/mime.types the manager's image happens to ship.
var contentTypes = map[string]string{
	"csv":  "text/csv",
	"doc":  "application/msword",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"gif":  "image/gif",
	"jpeg": "image/jpeg",
	"jpg":  "image/jpeg",
	"json": "application/json",
	"pdf":  "application/pdf",
	"png":  "image/png",
	"svg":  "image/svg+xml",
	"tsv":  "text/tab-separated-values",
	"txt":  "text/plain; charset=utf-8",
	"webp": "image/webp",
	"xls":  "application/vnd.ms-excel",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"zip":  "application/zip",
	"apk":  "application/vnd.android.package-archive",
	"pem":  "application/x-pem-file",
}

// downloadName is the name a File is offered under: spec.filename, else metadata.name.
func downloadName(f *filelinkv1.File) string {
	if f.Spec.Filename != "" {
		return f.Spec.Filename
	}
	return f.Name
}

// fileType is Stripe's `type` for a filename: its extension, lower case, without the dot.
func fileType(filename string) string {
	return strings.ToLower(strings.TrimPrefix(path.Ext(filename), "."))
}

// contentType is spec.contentType, else the type registered for the extension, else
// application/octet-stream.
func contentType(f *filelinkv1.File, ext string) string {
	if f.Spec.ContentType != "" {
		return f.Spec.ContentType
	}
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
