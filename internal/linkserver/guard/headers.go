package guard

import (
	"net/http"
	"strings"
)

// ContentSecurityPolicy keeps any body inert in the link server's origin: a File of type
// text/html or image/svg+xml, opened in a browser, can run no script, load nothing and
// is treated as a unique origin.
const ContentSecurityPolicy = "default-src 'none'; sandbox"

// HardenedHeaders are set on every answer. The value slices are shared by all answers,
// which saves allocating them per request: net/http only reads them, and Header.Set
// replaces a slice rather than writing into it.
var HardenedHeaders = http.Header{
	"X-Content-Type-Options":  {"nosniff"},
	"Referrer-Policy":         {"no-referrer"},
	"Cache-Control":           {"private, no-store"},
	"Content-Security-Policy": {ContentSecurityPolicy},
}

// MaxHeaderBytes caps a request's header fields. Real browsers send a few KiB; 16 KiB
// leaves room for large cookies of a shared domain, and bounds what one connection costs.
const MaxHeaderBytes = 16 << 10

// HeaderBytes is the size of r's header fields as sent (name, ": ", value, CRLF), Host
// included; net/http parsed them already, so only the sum is left to check.
func HeaderBytes(r *http.Request) int {
	n := len("Host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// MaxRanges is the most byte ranges one request gets as a multipart 206. A many-part
// answer costs more in part headers than in bytes, and no download client needs more
// than a handful; beyond it the whole body is sent, as RFC 9110 allows a server to.
const MaxRanges = 8

// LimitRanges drops a Range header asking for more than MaxRanges ranges.
func LimitRanges(r *http.Request) {
	if v := r.Header.Get("Range"); strings.Count(v, ",") >= MaxRanges {
		r.Header.Del("Range")
	}
}

// RequestHasBody reports whether the client sent, or announced, a request body.
func RequestHasBody(r *http.Request) bool {
	return r.ContentLength != 0 || len(r.TransferEncoding) > 0
}
