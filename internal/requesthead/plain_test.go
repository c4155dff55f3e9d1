package requesthead

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

func TestParsePlain(t *testing.T) {
	const wrk = "GET /links/abc_-DEF HTTP/1.1\r\nHost: 127.0.0.1:8082\r\n\r\n"
	for _, tc := range []struct {
		name  string
		in    string
		ok    bool
		head  bool
		close bool
	}{
		{"wrk", wrk, true, false, false},
		{"curl", "GET /links/x HTTP/1.1\r\nHost: links.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n", true, false, false},
		{"HEAD", "HEAD /links/x HTTP/1.1\r\nhost: a\r\n\r\n", true, true, false},
		{"behind a proxy", "GET /links/x HTTP/1.1\r\nHost: a\r\nuser-agent:  Wget/1.21 \t\r\nX-Forwarded-For: 198.51.100.7, 10.0.0.1\r\n\r\n", true, false, false},
		{"two User-Agents", "GET /links/x HTTP/1.1\r\nHost: a\r\nUser-Agent: a\r\nUser-Agent: b\r\n\r\n", false, false, false},
		{"two X-Forwarded-Fors", "GET /links/x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\n\r\n", false, false, false},
		{"Connection: close", "GET /links/x HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n", true, false, true},
		{"Connection: keep-alive", "GET /links/x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true, false, false},
		{"a pipelined second request after the head", wrk + "GET /links/y HTTP/1.1\r\n", true, false, false},

		{"incomplete head", "GET /links/x HTTP/1.1\r\nHost: a\r\n", false, false, false},
		{"POST", "POST /links/x HTTP/1.1\r\nHost: a\r\n\r\n", false, false, false},
		{"lower-case method", "get /links/x HTTP/1.1\r\nHost: a\r\n\r\n", false, false, false},
		{"HTTP/1.0", "GET /links/x HTTP/1.0\r\nHost: a\r\n\r\n", false, false, false},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false, false, false},
		{"no Host", "GET /links/x HTTP/1.1\r\n\r\n", false, false, false},
		{"two Hosts", "GET /links/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false, false, false},
		{"empty Host", "GET /links/x HTTP/1.1\r\nHost: \r\n\r\n", false, false, false},
		{"odd Host", "GET /links/x HTTP/1.1\r\nHost: a/b\r\n\r\n", false, false, false},
		{"absolute form", "GET http://a/links/x HTTP/1.1\r\nHost: a\r\n\r\n", false, false, false},
		{"query", "GET /links/x?a=b HTTP/1.1\r\nHost: a\r\n\r\n", false, false, false},
		{"escape", "GET /links/%78 HTTP/1.1\r\nHost: a\r\n\r\n", false, false, false},
		{"two spaces", "GET  /links/x HTTP/1.1\r\nHost: a\r\n\r\n", false, false, false},
		{"Range", "GET /links/x HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n", false, false, false},
		{"If-None-Match", "GET /links/x HTTP/1.1\r\nHost: a\r\nif-none-match: \"x\"\r\n\r\n", false, false, false},
		{"Content-Length", "GET /links/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", false, false, false},
		{"Transfer-Encoding", "GET /links/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, false, false},
		{"Expect", "GET /links/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", false, false, false},
		{"Upgrade", "GET /links/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", false, false, false},
		{"other Connection", "GET /links/x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", false, false, false},
		{"folded line", "GET /links/x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", false, false, false},
		{"bare LF", "GET /links/x HTTP/1.1\nHost: a\r\n\r\n", false, false, false},
		{"bare LF in a value", "GET /links/x HTTP/1.1\r\nHost: a\r\nX-A: b\nContent-Length: 5\r\n\r\n", false, false, false},
		{"space before colon", "GET /links/x HTTP/1.1\r\nHost : a\r\n\r\n", false, false, false},
		{"no colon", "GET /links/x HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", false, false, false},
		{"NUL in a value", "GET /links/x HTTP/1.1\r\nHost: a\r\nX-A: \x00\r\n\r\n", false, false, false},
		{"non-ASCII in a value", "GET /links/x HTTP/1.1\r\nHost: a\r\nX-A: é\r\n\r\n", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, ok := ParsePlain([]byte(tc.in))
			if ok != tc.ok {
				t.Fatalf("recognized %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if req.Head != tc.head || req.Close != tc.close {
				t.Errorf("head %v close %v, want %v %v", req.Head, req.Close, tc.head, tc.close)
			}
			agreesWithNetHTTP(t, []byte(tc.in), req)
		})
	}
}

// FuzzParsePlain: whatever the fast path takes as a plain request, net/http reads
// the same way (method, path, connection, no body), ends at the same byte and, as a
// server, accepts (one valid Host, valid header names and values). A head they split
// differently would let a request smuggle another past one of them; one net/http's
// server refuses with 400 would be answered 200 by the fast path.
func FuzzParsePlain(f *testing.F) {
	for _, s := range []string{
		"GET /links/abc HTTP/1.1\r\nHost: 127.0.0.1:8082\r\n\r\n",
		"HEAD /links/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nUser-Agent: x\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"GET /links/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		"GET /links/x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
		"GET /links/x HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET /links/x HTTP/1.1\r\nHost: a\r\nHost: c\r\n\r\n",
		"GET /links/x HTTP/1.1\r\nHost: [::1]:80\r\nX-\x7f: \x01\r\n\r\n",
		"GET /links/x HTTP/1.1\r\nHost: a\r\nUser-Agent: \tcurl/8 \r\nx-forwarded-for: 1.2.3.4,\t5.6.7.8 \r\n\r\n",
		"GET /links/x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\nUser-Agent:\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if req, ok := ParsePlain(in); ok {
			agreesWithNetHTTP(t, in, req)
		}
	})
}

func agreesWithNetHTTP(t *testing.T, in []byte, req Plain) {
	t.Helper()
	src := bytes.NewReader(in)
	br := bufio.NewReader(src)
	r, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("net/http refuses what the fast path took: %v\n%q", err, in)
	}
	wantMethod := http.MethodGet
	if req.Head {
		wantMethod = http.MethodHead
	}
	if r.Method != wantMethod || r.URL.Path != string(req.Path) || r.RequestURI != string(req.Path) || r.Close != req.Close || r.ProtoMinor != 1 {
		t.Fatalf("net/http reads %s %q (URI %q) close %v HTTP/1.%d; the fast path %s %q close %v\n%q",
			r.Method, r.URL.Path, r.RequestURI, r.Close, r.ProtoMinor, wantMethod, req.Path, req.Close, in)
	}
	// A server also refuses what conn.readRequest in net/http's server.go does, from
	// the header fields as read, Host included (http.ReadRequest drops it).
	if r.ProtoMajor != 1 {
		t.Fatalf("net/http's server refuses HTTP/%d.%d in %q", r.ProtoMajor, r.ProtoMinor, in)
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(in)))
	if _, err := tp.ReadLine(); err != nil {
		t.Fatalf("the request line of %q: %v", in, err)
	}
	fields, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("the header fields of %q: %v", in, err)
	}
	if hosts := fields["Host"]; len(hosts) != 1 || !httpguts.ValidHostHeader(hosts[0]) {
		t.Fatalf("net/http's server refuses the Host fields %q of %q", hosts, in)
	}
	for name, values := range fields {
		if !httpguts.ValidHeaderFieldName(name) {
			t.Fatalf("net/http's server refuses the header name %q in %q", name, in)
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				t.Fatalf("net/http's server refuses the %s value %q in %q", name, v, in)
			}
		}
	}
	if r.UserAgent() != string(req.UserAgent) || strings.Join(r.Header.Values("X-Forwarded-For"), ",") != string(req.ForwardedFor) {
		t.Fatalf("net/http reads user agent %q, forwarded for %q; the fast path %q, %q\n%q",
			r.UserAgent(), r.Header.Values("X-Forwarded-For"), req.UserAgent, req.ForwardedFor, in)
	}
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 || r.Header.Get("Range") != "" || r.Header.Get("Expect") != "" {
		t.Fatalf("net/http sees a body, a range or an expectation in %q", in)
	}
	for name := range r.Header {
		if strings.HasPrefix(name, "If-") {
			t.Fatalf("net/http sees the condition %s in %q", name, in)
		}
	}
	if n, _ := io.Copy(io.Discard, r.Body); n != 0 {
		t.Fatalf("net/http read a body of %d bytes from %q", n, in)
	}
	if consumed := len(in) - src.Len() - br.Buffered(); consumed != req.Size {
		t.Fatalf("net/http ends the head at byte %d, the fast path at %d\n%q", consumed, req.Size, in)
	}
}
