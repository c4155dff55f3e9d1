package linkserver_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
)

// rawExchange writes req on conn and reads one answer: its head as sent and its body.
func rawExchange(t *testing.T, conn net.Conn, br *bufio.Reader, req string, method string) (string, *received, []byte) {
	t.Helper()
	if req != "" {
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answer: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	// The head alone is parsed; the body is read from br below, so closing the parsed
	// response's body reads nothing of the connection.
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head.String())), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var body []byte
	if method != http.MethodHead {
		body = make([]byte, resp.ContentLength)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatalf("reading %d body bytes: %v", resp.ContentLength, err)
		}
	}
	return head.String(), receivedOf(resp), body
}

var dateLine = regexp.MustCompile(`(?m)^Date: .*\r$`)

// TestFastPathAnswersAsNetHTTPDoes: a plain GET or HEAD of a cached body is answered by
// the fast path with exactly the head net/http writes for serveLink (Date aside) and the
// same bytes; a request with a condition on the same connection is net/http's, and so is
// everything after it.
func TestFastPathAnswersAsNetHTTPDoes(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK) // the body is now cached
	path := strings.TrimPrefix(f.url(), base)
	for _, tc := range []struct {
		name, method, extra string
	}{
		{"GET", http.MethodGet, ""},
		{"HEAD", http.MethodHead, ""},
		{"GET, Connection: close", http.MethodGet, "Connection: close\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := connect(t, strings.TrimPrefix(base, "http://"))
			defer conn.Close()
			br := bufio.NewReader(conn)
			plain := tc.method + " " + path + " HTTP/1.1\r\nHost: links.example\r\nUser-Agent: test\r\n" + tc.extra + "\r\n"
			before := linkserver.FastAnswers(server)
			fastHead, fastResp, fastBody := rawExchange(t, conn, br, plain, tc.method)
			if got := linkserver.FastAnswers(server) - before; got != 1 {
				t.Fatalf("the fast path answered %d requests, want 1", got)
			}
			if fastResp.StatusCode != http.StatusOK || (tc.method == http.MethodGet && !bytes.Equal(fastBody, content)) {
				t.Fatalf("fast path: %d, %q", fastResp.StatusCode, fastBody)
			}

			// A condition that does not match still gets the whole body, from net/http.
			conditional := tc.method + " " + path + " HTTP/1.1\r\nHost: links.example\r\nUser-Agent: test\r\nIf-None-Match: \"other\"\r\n" + tc.extra + "\r\n"
			if tc.extra != "" { // the fast path closed the connection as asked
				if _, err := br.ReadByte(); err != io.EOF {
					t.Fatalf("after Connection: close the connection is still open: %v", err)
				}
				conn.Close()
				conn = connect(t, base)
				defer conn.Close()
				br = bufio.NewReader(conn)
			}
			slowHead, slowResp, slowBody := rawExchange(t, conn, br, conditional, tc.method)
			if got := linkserver.FastAnswers(server) - before; got != 1 {
				t.Fatalf("the fast path answered a conditional request")
			}
			if slowResp.StatusCode != http.StatusOK || !bytes.Equal(slowBody, fastBody) {
				t.Fatalf("net/http: %d, %q", slowResp.StatusCode, slowBody)
			}
			if a, b := dateLine.ReplaceAllString(fastHead, "Date: -\r"), dateLine.ReplaceAllString(slowHead, "Date: -\r"); a != b {
				t.Errorf("the fast path's head differs from net/http's:\n%s\nnet/http:\n%s", a, b)
			}
			if tc.extra == "" {
				// The connection is net/http's now: a plain request is answered there.
				if _, resp, _ := rawExchange(t, conn, br, plain, tc.method); resp.StatusCode != http.StatusOK {
					t.Fatalf("after the hand-off: %d", resp.StatusCode)
				}
				if got := linkserver.FastAnswers(server) - before; got != 1 {
					t.Errorf("the fast path answered on a connection it handed off")
				}
			}
		})
	}
}

// TestPipelinedRequestsAreAnsweredInOrder: requests sent in one write, plain ones then a
// range, get their answers in order, the range's from net/http after the hand-off with
// the bytes the fast path had read.
func TestPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	path := strings.TrimPrefix(f.url(), base)
	get := "GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"
	ranged := "GET " + path + " HTTP/1.1\r\nHost: a\r\nRange: bytes=0-3\r\n\r\n"
	missing := "GET /links/nothing-here HTTP/1.1\r\nHost: a\r\n\r\n"
	conn := connect(t, strings.TrimPrefix(base, "http://"))
	defer conn.Close()
	before, metricsBefore := linkserver.FastAnswers(server), gather(t)
	if _, err := io.WriteString(conn, get+get+ranged+get+missing); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i, want := range []struct {
		code int
		body []byte
	}{{200, content}, {200, content}, {206, content[:4]}, {200, content}, {404, nil}} {
		_, resp, body := rawExchange(t, conn, br, "", http.MethodGet)
		if resp.StatusCode != want.code || (want.body != nil && !bytes.Equal(body, want.body)) {
			t.Fatalf("answer %d: %d %q, want %d %q", i, resp.StatusCode, body, want.code, want.body)
		}
	}
	if got := linkserver.FastAnswers(server) - before; got != 2 {
		t.Errorf("the fast path answered %d requests, want the 2 before the range", got)
	}
	// Both paths count their answers: the fast path's before it reads the next request.
	metricsAfter := gather(t)
	for series, want := range map[string]float64{`filelink_link_requests_total{code="200"}`: 3, `filelink_link_requests_total{code="206"}`: 1,
		`filelink_link_requests_total{code="404"}`: 1, `filelink_link_request_duration_seconds_count{code="200"}`: 3,
		"filelink_link_response_bytes_total": float64(3*len(content) + 4 + len("not found\n"))} {
		if got := metricsAfter[series] - metricsBefore[series]; got != want {
			t.Errorf("%s grew by %v, want %v", series, got, want)
		}
	}
}

// TestShutdownClosesFastPathConnections: a kept-alive connection the fast path serves is
// closed when the server stops, and Start returns at once rather than after its grace
// period.
func TestShutdownClosesFastPathConnections(t *testing.T) {
	f := newFixture(t, nil)
	s, srv, cancel, done := startStoppable(t, nil)
	eventuallyStatus(t, on(srv, f.url()), http.StatusOK)
	before := linkserver.FastAnswers(s)
	conn := connect(t, srv)
	defer conn.Close()
	br := bufio.NewReader(conn)
	if _, resp, _ := rawExchange(t, conn, br, "GET "+strings.TrimPrefix(f.url(), base)+" HTTP/1.1\r\nHost: a\r\n\r\n", http.MethodGet); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	if got := linkserver.FastAnswers(s) - before; got != 1 {
		t.Fatalf("the fast path answered %d requests, want 1", got)
	}
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("Start did not return within 4 s of the stop")
	}
	if took := time.Since(stopped); took > 2*time.Second {
		t.Errorf("Start returned %v after the stop; an idle connection should not hold it", took)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the idle connection after the stop: %v, want EOF", err)
	}
}

// TestAContentTypeWithALineBreakIsNetHTTPs: the schema lets a line break into a
// contentType's parameters; the fast path leaves such a File to net/http, which sends
// the value without it.
func TestAContentTypeWithALineBreakIsNetHTTPs(t *testing.T) {
	f := newFixture(t, func(f *fixture) { f.file.Spec.ContentType = "text/plain\r\n; charset=utf-8" })
	eventuallyStatus(t, f.url(), http.StatusOK)
	before := linkserver.FastAnswers(server)
	conn := connect(t, strings.TrimPrefix(base, "http://"))
	defer conn.Close()
	head, resp, body := rawExchange(t, conn, bufio.NewReader(conn), "GET "+strings.TrimPrefix(f.url(), base)+" HTTP/1.1\r\nHost: a\r\n\r\n", http.MethodGet)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, content) {
		t.Fatalf("%d, %q", resp.StatusCode, body)
	}
	if got := linkserver.FastAnswers(server) - before; got != 0 {
		t.Errorf("the fast path answered %d requests", got)
	}
	if strings.Count(head, "\n") != strings.Count(head, "\r\n") || !strings.Contains(head, "Content-Type: text/plain  ; charset=utf-8\r\n") {
		t.Errorf("the head carries the line break or lost the type:\n%q", head)
	}
}
