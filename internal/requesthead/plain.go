// Package requesthead recognizes the plainest HTTP/1.1 request heads: a GET or HEAD with
// no body, range or condition, every line well formed. The link server answers those
// below net/http and hands everything else to it, so this package never has to judge a
// request, only to agree with net/http on the ones it takes.
package requesthead

import "bytes"

// Plain is a request head the fast path may answer itself: a GET or HEAD of an
// HTTP/1.1 path with no body, no range and no condition, whose every line is plainly
// well formed.
type Plain struct {
	Head bool // HEAD rather than GET
	// Path is the request target, a slice of the parsed buffer.
	Path []byte
	// Close: the client sent "Connection: close".
	Close bool
	// UserAgent and ForwardedFor are the User-Agent and X-Forwarded-For values, trimmed
	// as net/http trims them, for the audit log; slices of the parsed buffer, so copy
	// what outlives it. A head with either field twice is net/http's.
	UserAgent, ForwardedFor []byte
	// Size is the length of the head, from the request line to the blank line included.
	Size int
}

// ParsePlain recognizes the request head at the start of buf. It does not judge
// requests: anything it does not recognize (an incomplete head, another method or
// version, a header that frames a body or asks for part of one or a condition, an odd
// byte anywhere) is for net/http to read. It only has to agree with net/http on what it
// accepts: FuzzParsePlain holds it to that.
func ParsePlain(buf []byte) (Plain, bool) {
	var req Plain
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		return req, false
	}
	req.Size = end + len(crlfcrlf)
	head := buf[:end+len(crlf)] // every line with its CRLF
	line, rest, _ := bytes.Cut(head, crlf)
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		line = line[len("GET "):]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		line, req.Head = line[len("HEAD "):], true
	default:
		return req, false
	}
	path, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok || len(path) == 0 || path[0] != '/' || !plainPath(path) {
		return req, false
	}
	req.Path = path
	var seen fieldCounts
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !isToken(name) || !plainValue(value) || !req.field(name, bytes.Trim(value, " \t"), &seen) {
			return req, false
		}
	}
	// HTTP/1.1 requires exactly one Host; net/http answers 400 otherwise. A repeated
	// User-Agent or X-Forwarded-For is left to net/http, which reads every line of them.
	return req, seen.hosts == 1 && seen.agents <= 1 && seen.forwarded <= 1
}

// fieldCounts count the header fields that may appear once only in a plain head.
type fieldCounts struct{ hosts, agents, forwarded int }

// field reads one header field of a well-formed line into req, counting it in seen;
// false when the field makes the head not plain.
func (req *Plain) field(name, value []byte, seen *fieldCounts) bool {
	switch {
	case bytes.EqualFold(name, []byte("Host")):
		seen.hosts++
		return plainHost(value)
	case bytes.EqualFold(name, []byte("Connection")):
		switch {
		case bytes.EqualFold(value, []byte("close")):
			req.Close = true
		case !bytes.EqualFold(value, []byte("keep-alive")):
			return false
		}
	case bytes.EqualFold(name, []byte("User-Agent")):
		seen.agents++
		req.UserAgent = value
	case bytes.EqualFold(name, []byte("X-Forwarded-For")):
		seen.forwarded++
		req.ForwardedFor = value
	case changesTheAnswer(name):
		return false
	}
	return true
}

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
)

// changesTheAnswer names the request headers that frame a body (Content-*,
// Transfer-Encoding, Expect), ask for part of the body or a condition on it (Range,
// If-*), or change the connection (Upgrade, TE, Trailer, Keep-Alive, Proxy-*): net/http
// handles requests carrying them. Others (User-Agent, Accept, cookies) do not change
// what the link server answers.
func changesTheAnswer(name []byte) bool {
	for _, prefix := range [][]byte{[]byte("Content-"), []byte("If-"), []byte("Proxy-")} {
		if len(name) >= len(prefix) && bytes.EqualFold(name[:len(prefix)], prefix) {
			return true
		}
	}
	for _, n := range [][]byte{[]byte("Transfer-Encoding"), []byte("Expect"), []byte("Range"), []byte("Upgrade"), []byte("TE"), []byte("Trailer"), []byte("Keep-Alive")} {
		if bytes.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// plainPath admits a path of unreserved characters and slashes only: no escapes, query
// or fragment, so the path net/http would decode is these very bytes. Tokens are
// base64url.
func plainPath(p []byte) bool {
	if len(p) > 1024 {
		return false
	}
	for _, c := range p {
		if !isAlnum(c) && c != '/' && c != '-' && c != '_' && c != '.' && c != '~' {
			return false
		}
	}
	return true
}

// plainHost admits a host name or address with an optional port, the way a browser or
// download client writes it.
func plainHost(h []byte) bool {
	if len(h) == 0 || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !isAlnum(c) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']' && c != '_' {
			return false
		}
	}
	return true
}

// plainValue admits visible ASCII, spaces and tabs.
func plainValue(v []byte) bool {
	for _, c := range v {
		if (c < ' ' && c != '\t') || c > '~' {
			return false
		}
	}
	return true
}

// isToken is RFC 9110's token, which a header name must be.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isAlnum(c) && !bytes.ContainsRune([]byte("!#$%&'*+-.^_`|~"), rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
