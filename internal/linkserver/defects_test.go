package linkserver_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
)

// Tests of the defects a review with raw sockets found (issue 17), each of which failed
// before its fix.

// dial opens a raw connection to the server at base ("http://host:port") with d.
func dial(t *testing.T, d *net.Dialer, base string) net.Conn {
	t.Helper()
	conn, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func send(t *testing.T, conn net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(conn, s); err != nil {
		t.Fatal(err)
	}
}

// exchange writes a GET on conn and reads its answer, returning the head as sent and the
// status.
func exchange(t *testing.T, conn net.Conn, br *bufio.Reader, req string) (string, int) {
	t.Helper()
	head, resp, _ := rawExchange(t, conn, br, req, http.MethodGet)
	return head, resp.StatusCode
}

// readUntilClosed reads what the server sends until it closes the connection (a reset
// counts as closing), failing the test if that takes more than 5 s.
func readUntilClosed(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading until the server closes: %v, after %d bytes", err, len(got))
	}
	return got
}

// answer is what a client received of one answer.
type answer struct {
	code  int
	close bool  // the head says Connection: close
	body  int64 // body bytes received
	whole bool  // the head and every body byte arrived
}

// parseAnswers splits what a client received into answers; the last may be cut short,
// down to a part of its head (code 0).
func parseAnswers(t *testing.T, b []byte) []answer {
	t.Helper()
	var out []answer
	for len(b) > 0 {
		end := bytes.Index(b, []byte("\r\n\r\n"))
		if end < 0 {
			return append(out, answer{})
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b[:end+4])), nil)
		if err != nil {
			t.Fatalf("an answer's head: %v\n%q", err, b[:end+4])
		}
		resp.Body.Close()
		b = b[end+4:]
		n, whole := min(resp.ContentLength, int64(len(b))), true
		if resp.ContentLength < 0 { // the body runs until the close
			n = int64(len(b))
		} else {
			whole = n == resp.ContentLength
		}
		out = append(out, answer{code: resp.StatusCode, close: resp.Close, body: n, whole: whole})
		b = b[n:]
	}
	return out
}

func wholeAnswers(answers []answer) int {
	n := 0
	for _, a := range answers {
		if a.whole {
			n++
		}
	}
	return n
}

// TestTheHeadDeadlineIsNotRenewedByTheHandOff: a head is due ReadHeaderTimeout after the
// accept (for the first request) or after its first byte (for a later one), whichever
// path reads it. Handing an unfinished head from the fast path to net/http, which sets a
// fresh ReadHeaderTimeout when it starts on a connection, must not give the client that
// time again; once the head is read, the connection is net/http's with its own timeouts.
func TestTheHeadDeadlineIsNotRenewedByTheHandOff(t *testing.T) {
	const headTimeout = time.Second
	f := newFixture(t, nil)
	var s *linkserver.Server
	srv := startServer(t, linkserver.Options{Limits: linkserver.Limits{ReadHeaderTimeout: headTimeout}},
		func(ls *linkserver.Server) { s = ls })
	eventuallyStatus(t, on(srv, f.url()), http.StatusOK)
	get := "GET " + strings.TrimPrefix(f.url(), base) + " HTTP/1.1\r\nHost: x\r\n\r\n"

	t.Run("first request", func(t *testing.T) {
		conn := dial(t, &net.Dialer{}, srv)
		start := time.Now()
		// The first byte halfway to the deadline; the rest after it, but within the
		// deadline a hand-off would renew.
		time.Sleep(headTimeout / 2)
		send(t, conn, get[:1])
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			time.Sleep(time.Until(start.Add(headTimeout * 7 / 5)))
			_, _ = io.WriteString(conn, get[1:])
		}()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, 64)
		n, err := conn.Read(got)
		elapsed := time.Since(start)
		<-wrote
		if n > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 400 ")) {
			status, _, _ := bytes.Cut(got[:n], []byte("\r\n"))
			t.Fatalf("after %v: answered %q; want the connection cut at the head's deadline, %v after the accept", elapsed, status, headTimeout)
		}
		if n == 0 && isTimeout(err) {
			t.Fatalf("the connection is still open after %v", elapsed)
		}
		if elapsed < headTimeout {
			t.Errorf("cut after %v, before the head's deadline (%v)", elapsed, headTimeout)
		}
	})

	t.Run("a later request", func(t *testing.T) {
		conn := dial(t, &net.Dialer{}, srv)
		br := bufio.NewReader(conn)
		before := linkserver.FastAnswers(s)
		if _, code := exchange(t, conn, br, get); code != http.StatusOK {
			t.Fatalf("first GET: %d", code)
		}
		// The next head begins after most of a deadline counted from the accept and ends
		// after it, within one counted from its own first byte.
		time.Sleep(headTimeout * 4 / 5)
		send(t, conn, get[:1])
		time.Sleep(headTimeout / 2)
		if _, code := exchange(t, conn, br, get[1:]); code != http.StatusOK {
			t.Fatalf("a head begun in time: %d", code)
		}
		// Past that head's deadline, the connection idles and serves as net/http's.
		time.Sleep(headTimeout)
		if _, code := exchange(t, conn, br, get); code != http.StatusOK {
			t.Fatalf("a request after the handed-off one: %d", code)
		}
		if got := linkserver.FastAnswers(s) - before; got != 1 {
			t.Errorf("the fast path answered %d requests, want the first only (the second was handed off)", got)
		}
	})
}

// TestMetricsCountAnswersCutShort: pipelined GETs of a large body to a client that takes
// two answers, then stops reading. The third answer is cut by the minimum transfer rate;
// it is counted all the same, with the body bytes the client did receive, on both paths.
func TestMetricsCountAnswersCutShort(t *testing.T) {
	const size = 256 << 10
	f := newFixture(t, withBody(randomBytes(t, size)))
	limits := linkserver.Limits{MinTransferRate: 32 << 10, TransferWindow: 250 * time.Millisecond}
	var s *linkserver.Server
	srv := startServer(t, linkserver.Options{Limits: limits}, func(ls *linkserver.Server) {
		linkserver.SetSendBuffer(ls, 4096)
		linkserver.CountOnManagerRegistry(t, ls)
		s = ls
	})
	const served = `filelink_link_request_duration_seconds_count{code="200"}`
	pre := gather(t)
	eventuallyStatus(t, on(srv, f.url()), http.StatusOK)
	// The fast path counts an answer once it is written, which can be after the client
	// has read it: wait for that 200 to be counted before counting from here.
	NewWithT(t).Eventually(func() float64 { return gather(t)[served] - pre[served] }).Should(Equal(1.0))
	for _, tc := range []struct {
		name, extra string
		code        int
		fast        int64 // answers of the fast path's
	}{
		{"fast path", "", http.StatusOK, 3},
		{"net/http", "Range: bytes=0-\r\n", http.StatusPartialContent, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dial(t, &smallReceiveBuffer, srv)
			before, fastBefore := gather(t), linkserver.FastAnswers(s)
			send(t, conn, strings.Repeat("GET "+strings.TrimPrefix(f.url(), base)+" HTTP/1.1\r\nHost: x\r\n"+tc.extra+"\r\n", 12))
			var got []byte
			buf := make([]byte, 64<<10)
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for wholeAnswers(parseAnswers(t, got)) < 2 {
				n, err := conn.Read(buf)
				if err != nil {
					t.Fatalf("reading the first two answers: %v", err)
				}
				got = append(got, buf[:n]...)
			}
			time.Sleep(4 * limits.TransferWindow) // reads nothing
			answers := parseAnswers(t, append(got, readUntilClosed(t, conn)...))
			if len(answers) != 3 || answers[2].whole {
				t.Fatalf("the client received %d answers, the last one whole: %v; want the third cut short", len(answers), answers)
			}
			var sent int64
			for _, a := range answers {
				sent += a.body
			}
			after := gather(t)
			code := strconv.Itoa(tc.code)
			for series, want := range map[string]float64{
				`filelink_link_requests_total{code="` + code + `"}`:                 3,
				`filelink_link_request_duration_seconds_count{code="` + code + `"}`: 3,
				"filelink_link_response_bytes_total":                                float64(sent),
			} {
				if got := after[series] - before[series]; got != want {
					t.Errorf("%s grew by %v, want %v", series, got, want)
				}
			}
			if got := linkserver.FastAnswers(s) - fastBefore; got != tc.fast {
				t.Errorf("the fast path answered %d requests, want %d", got, tc.fast)
			}
		})
	}
}

// TestOptionsAsteriskIsRefusedWithTheHardenedHeaders: net/http answers "OPTIONS *" itself
// unless told not to; the link server refuses it as any method but GET and HEAD, with the
// headers every answer carries.
func TestOptionsAsteriskIsRefusedWithTheHardenedHeaders(t *testing.T) {
	for _, target := range []string{"*", "/links/x"} {
		t.Run(target, func(t *testing.T) {
			resp, _ := rawRequest(t, base, "OPTIONS "+target+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%d, Allow %q; want 405 allowing GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != "default-src 'none'; sandbox" {
				t.Errorf("Content-Security-Policy %q", got)
			}
			wantSecurityHeaders(t, resp.Header)
		})
	}
}

// TestNetHTTPsOwnAnswersCarryTheHardenedHeaders: the answers net/http writes by itself,
// which no handler sees, carry the headers every answer carries too, on a new connection
// and after a handler's answer on a kept-alive one; a handler's answer carries them once.
func TestNetHTTPsOwnAnswersCarryTheHardenedHeaders(t *testing.T) {
	hardened := func(t *testing.T, resp *received, want int) {
		t.Helper()
		if resp.StatusCode != want {
			t.Errorf("%d, want %d", resp.StatusCode, want)
		}
		if got := resp.Header.Values("Content-Security-Policy"); len(got) != 1 || got[0] != "default-src 'none'; sandbox" {
			t.Errorf("%d: Content-Security-Policy %q", resp.StatusCode, got)
		}
		wantSecurityHeaders(t, resp.Header)
	}
	const get = "GET /links/x HTTP/1.1\r\nHost: a\r\n"
	for _, tc := range []struct {
		name, req string
		want      int
	}{
		{"malformed header", get + "Bad Header\r\n\r\n", http.StatusBadRequest},
		{"unknown expectation", get + "Expect: the unexpected\r\n\r\n", http.StatusExpectationFailed},
		{"header beyond net/http's limit", get + "X-Pad: " + strings.Repeat("p", 40<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"unknown transfer coding", get + "Transfer-Encoding: gzip\r\n\r\n", http.StatusNotImplemented},
		{"HTTP/2.0", "GET /links/x HTTP/2.0\r\nHost: a\r\n\r\n", http.StatusHTTPVersionNotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := rawRequest(t, base, tc.req) // fails the test if the body cannot be read
			hardened(t, resp, tc.want)
		})
	}
	t.Run("after a handler's answer", func(t *testing.T) {
		conn := dial(t, &net.Dialer{}, base)
		send(t, conn, get+"If-None-Match: \"x\"\r\n\r\n"+get+"Bad Header\r\n\r\n")
		br := bufio.NewReader(conn)
		for _, want := range []int{http.StatusNotFound, http.StatusBadRequest} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			hardened(t, receivedOf(resp), want)
		}
	})
}

// TestNetHTTPsOwnAnswersAreCounted: an answer net/http writes without the handler is
// counted too, by its status, with its body.
func TestNetHTTPsOwnAnswersAreCounted(t *testing.T) {
	before := gather(t)
	conn := dial(t, &net.Dialer{}, base)
	send(t, conn, "GET /links/x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n")
	// net/http closes the connection once the answer is written, and counted.
	answers := parseAnswers(t, readUntilClosed(t, conn))
	if len(answers) != 1 || answers[0].code != http.StatusBadRequest || !answers[0].whole {
		t.Fatalf("answers %v, want one whole 400", answers)
	}
	after := gather(t)
	for series, want := range map[string]float64{
		`filelink_link_requests_total{code="400"}`:                 1,
		`filelink_link_request_duration_seconds_count{code="400"}`: 1,
		"filelink_link_response_bytes_total":                       float64(answers[0].body),
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s grew by %v, want %v", series, got, want)
		}
	}
}

// TestShutdownEndsAConnectionAfterItsCurrentAnswer: when the server stops while a client
// has pipelined requests, the answer under way is finished and the connection closed;
// the requests behind it are not answered. net/http does so, and the fast path must too.
func TestShutdownEndsAConnectionAfterItsCurrentAnswer(t *testing.T) {
	f := newFixture(t, withBody(randomBytes(t, 256<<10)))
	get := "GET " + strings.TrimPrefix(f.url(), base) + " HTTP/1.1\r\nHost: x\r\n"
	outcomes := map[string]answer{}
	for _, tc := range []struct {
		name, extra string
		fast        int64
	}{
		{"fast path", "", 1},
		{"net/http", "If-None-Match: \"other\"\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, srv, cancel, done := startStoppable(t, func(s *linkserver.Server) { linkserver.SetSendBuffer(s, 4096) })
			eventuallyStatus(t, on(srv, f.url()), http.StatusOK)
			conn := dial(t, &smallReceiveBuffer, srv)
			before := linkserver.FastAnswers(s)
			send(t, conn, strings.Repeat(get+tc.extra+"\r\n", 3))
			// The first answer fills the socket buffers and waits for the client; the
			// server stops meanwhile, with the other two requests read.
			time.Sleep(200 * time.Millisecond)
			cancel()
			time.Sleep(200 * time.Millisecond)
			answers := parseAnswers(t, readUntilClosed(t, conn))
			if len(answers) != 1 || !answers[0].whole || answers[0].code != http.StatusOK {
				t.Fatalf("after the stop the client received %v; want the current answer whole and no other", answers)
			}
			if got := linkserver.FastAnswers(s) - before; got != tc.fast {
				t.Errorf("the fast path answered %d requests, want %d", got, tc.fast)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Start: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Start did not return within 5 s of the stop")
			}
			outcomes[tc.name] = answers[0]
		})
	}
	if fast, slow := outcomes["fast path"], outcomes["net/http"]; fast != slow {
		t.Errorf("the fast path's last answer %+v, net/http's %+v", fast, slow)
	}
}

// TestFastAndSlowHeadsAgreeOnATrimmedMediaType: the schema admits whitespace at the end
// of a contentType, which net/http trims from the header value; the fast path's head
// must be the same bytes.
func TestFastAndSlowHeadsAgreeOnATrimmedMediaType(t *testing.T) {
	f := newFixture(t, func(f *fixture) { f.file.Spec.ContentType = "text/plain; charset=utf-8 \t" })
	eventuallyStatus(t, f.url(), http.StatusOK)
	get := "GET " + strings.TrimPrefix(f.url(), base) + " HTTP/1.1\r\nHost: a\r\n"
	conn := dial(t, &net.Dialer{}, base)
	br := bufio.NewReader(conn)
	before := linkserver.FastAnswers(server)
	fastHead, _ := exchange(t, conn, br, get+"\r\n")
	slowHead, _ := exchange(t, conn, br, get+"If-None-Match: \"other\"\r\n\r\n")
	if got := linkserver.FastAnswers(server) - before; got != 1 {
		t.Fatalf("the fast path answered %d requests, want the first", got)
	}
	if !strings.Contains(slowHead, "\r\nContent-Type: text/plain; charset=utf-8\r\n") {
		t.Errorf("net/http's head does not carry the trimmed type:\n%q", slowHead)
	}
	if a, b := dateLine.ReplaceAllString(fastHead, "Date: -\r"), dateLine.ReplaceAllString(slowHead, "Date: -\r"); a != b {
		t.Errorf("the fast path's head differs from net/http's:\n%q\nnet/http:\n%q", a, b)
	}
}
