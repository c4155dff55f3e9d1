// Package answer is the one record of an answered link request that every path of the
// link server builds (the fast path, net/http's handler, net/http's own answers) and
// hands to the server's consumers: metrics, the audit log, the download ledger (SPEC
// §13). It holds copies of small values only, so a consumer may keep it past the request
// without holding an informer's object or a connection's buffer, and never the token or
// the path, which is the token.
package answer

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// Bounds of what a client controls, so a line's size is the server's choice.
const (
	// MaxUserAgent is SPEC §13's cut of the user agent.
	MaxUserAgent = 256
	// MaxRange keeps the ranges asked for legible without letting a client fill a
	// line with a 16 KiB header.
	MaxRange = 128
	// MaxMethod bounds a method net/http refuses with 405 yet admits at any length.
	MaxMethod = 32
)

// Link is the identity of the link a request named, when it named one the server knows.
type Link struct {
	Namespace, Name string
	UID             types.UID
	// ID is status.id, the Stripe-style id the sender sees.
	ID string
	// File is spec.file.
	File string
	// Limited: the link has spec.maxDownloads, so its downloads are reserved in status
	// before they are served rather than counted after.
	Limited bool
}

// LinkOf copies l's identity; a nil l is no link.
func LinkOf(l *filelinkv1.FileLink) Link {
	if l == nil {
		return Link{}
	}
	return Link{Namespace: l.Namespace, Name: l.Name, UID: l.UID, ID: l.Status.ID, File: l.Spec.File, Limited: l.Limited()}
}

// Known reports whether the request named a link the server knows.
func (l Link) Known() bool { return l.UID != "" }

// Answer is one answered request.
type Answer struct {
	Start    time.Time
	Duration time.Duration
	Link     Link
	// Method is empty for an answer net/http wrote before reading a request line.
	Method string
	Code   int
	// Written counts the body bytes sent.
	Written int64
	// Range is the Range header as asked, cut to MaxRange bytes.
	Range string
	// Client is the address the answer went to: the peer, or the address a trusted
	// proxy forwarded for (clientip).
	Client netip.Addr
	// UserAgent is cut to MaxUserAgent bytes.
	UserAgent string
	// Counted: the answer is a download (SPEC §13), see Counted.
	Counted bool
}

// Counted reports whether an answer is a download (SPEC §13): a GET answered 200, or
// 206 whose (first) range starts at byte 0. sent is the Content-Range the answer
// carried, which names the range actually served (a suffix range included); a
// many-part 206 has none, and then the first range asked for decides. HEAD, 304 and
// any other range are not downloads.
func Counted(method string, code int, sent, asked string) bool {
	if method != http.MethodGet {
		return false
	}
	switch code {
	case http.StatusOK:
		return true
	case http.StatusPartialContent:
		if sent != "" {
			return strings.HasPrefix(sent, "bytes 0-")
		}
		return firstRangeStartsAtZero(asked)
	}
	return false
}

// firstRangeStartsAtZero reads the first range of a Range header as net/http's
// ServeContent does (spaces around each part, a decimal start).
func firstRangeStartsAtZero(h string) bool {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return false
	}
	spec, _, _ = strings.Cut(spec, ",")
	start, _, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(start), 10, 64)
	return err == nil && n == 0
}

// Cut returns at most n bytes of s, ending on a character boundary so that a cut never
// makes valid UTF-8 invalid. Of a []byte it returns a copy: s may be a slice of a
// buffer the connection reuses.
func Cut[S string | []byte](s S, n int) string {
	if len(s) <= n {
		return string(s)
	}
	end := n
	// Back off over at most one character's continuation bytes; bytes that are not
	// UTF-8 at all are cut where they are, and the encoder replaces them.
	for i := 0; i < utf8.UTFMax-1 && end > 0 && !utf8.RuneStart(s[end]); i++ {
		end--
	}
	if !utf8.RuneStart(s[end]) {
		end = n
	}
	return string(s[:end])
}
