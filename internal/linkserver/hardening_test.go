package linkserver_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
)

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// withBody makes the fixture's source hold b.
func withBody(b []byte) func(*fixture) {
	return func(f *fixture) { f.secret.Data = map[string][]byte{"evidence": b} }
}

// on rewrites a link URL to another server's base.
func on(base, linkURL string) string {
	u, _ := url.Parse(linkURL)
	return base + u.Path
}

// TestBodiesLargerThanTheCacheAreServed: a 256 KiB body behind a 64 KiB content cache is
// served in full, again and again, with one API read per download.
func TestBodiesLargerThanTheCacheAreServed(t *testing.T) {
	big := randomBytes(t, 256<<10)
	f := newFixture(t, withBody(big))
	// Once the suite's server serves it, that server holds the body and reads it no
	// more, ahead or not: only the downloads below read.
	eventuallyStatus(t, f.url(), http.StatusOK)
	small := startServer(t, linkserver.Options{ContentCacheBytes: 64 << 10})
	eventuallyStatus(t, on(small, f.url()), http.StatusOK)

	before := apiCalls.Load()
	for i := range 3 {
		resp, body := request(t, http.MethodGet, on(small, f.url()), nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, big) {
			t.Fatalf("download %d: %d with %d bytes, want 200 with the %d bytes", i+1, resp.StatusCode, len(body), len(big))
		}
		if resp.Header.Get("ETag") != etagOf(big) || resp.Header.Get("Content-Length") != fmt.Sprint(len(big)) {
			t.Errorf("download %d: ETag %q, Content-Length %q", i+1, resp.Header.Get("ETag"), resp.Header.Get("Content-Length"))
		}
	}
	if n := apiCalls.Load() - before; n != 3 {
		t.Errorf("3 downloads of an uncacheable body made %d API reads, want one each", n)
	}
	resp, body := request(t, http.MethodGet, on(small, f.url()), map[string]string{"Range": "bytes=100000-100009"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, big[100000:100010]) {
		t.Errorf("range of an uncached body: %d %x", resp.StatusCode, body)
	}
}

// rawRequest sends req as written over a new connection to base's host and reads the
// answer.
func rawRequest(t testing.TB, base, req string) (*received, []byte) {
	t.Helper()
	conn := connect(t, base)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(conn, req) }() // the server may answer before reading it all
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return receivedOf(resp), body
}

// getWithHeaderFields builds a GET whose header fields (Host included, each counted as
// "Name: value\r\n") total exactly n bytes.
func getWithHeaderFields(base, path string, n int) string {
	host := strings.TrimPrefix(base, "http://")
	fields := "Host: " + host + "\r\n"
	for i := 0; len(fields) < n; i++ {
		name := fmt.Sprintf("X-Pad-%d: ", i)
		value := n - len(fields) - len(name) - 2 // fills n exactly
		if value > 8000 {
			value = 4000 // and leaves more than enough for the last line
		}
		fields += name + strings.Repeat("v", value) + "\r\n"
	}
	return "GET " + path + " HTTP/1.1\r\n" + fields + "Connection: close\r\n\r\n"
}

func TestRequestHeadersAreCappedAt16KiB(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	path := strings.TrimPrefix(f.url(), base)
	// "Connection: close\r\n" is a header field too.
	const closeField = len("Connection: close\r\n")
	for _, c := range []struct {
		fields int
		want   int
	}{
		{16 << 10, http.StatusOK},
		{16<<10 + 1, http.StatusRequestHeaderFieldsTooLarge},
		{64 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(fmt.Sprint(c.fields), func(t *testing.T) {
			resp, body := rawRequest(t, base, getWithHeaderFields(base, path, c.fields-closeField))
			if resp.StatusCode != c.want {
				t.Fatalf("%d bytes of header fields: %d, want %d", c.fields, resp.StatusCode, c.want)
			}
			if c.want == http.StatusOK && !bytes.Equal(body, content) {
				t.Errorf("body %q", body)
			}
		})
	}
}

// TestHeaderTrickleIsCutOff sends a header byte every 50 ms: the server hangs up once
// ReadHeaderTimeout has passed, without answering.
func TestHeaderTrickleIsCutOff(t *testing.T) {
	const timeout = 400 * time.Millisecond
	srv := startServer(t, linkserver.Options{Limits: linkserver.Limits{ReadHeaderTimeout: timeout}})
	conn := connect(t, strings.TrimPrefix(srv, "http://"))
	defer conn.Close()
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		_, _ = io.WriteString(conn, "GET /links/x HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := io.WriteString(conn, "a"); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(make([]byte, 1))
	elapsed := time.Since(start)
	if n != 0 || err == nil || isTimeout(err) {
		t.Fatalf("after %v: read %d bytes, %v; want the connection closed unanswered", elapsed, n, err)
	}
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("cut after %v, want about %v", elapsed, timeout)
	}
	// A client that sends its request at once is served by the same server.
	if resp, _ := request(t, http.MethodGet, srv+"/links/x", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a prompt request: %d", resp.StatusCode)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// smallReceiveBuffer dials with a receive buffer of a few KiB, so what the client does
// not read holds the server back at once.
var smallReceiveBuffer = net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
}}

// TestMinimumTransferRate holds downloads to 32 KiB/s over 250 ms windows: a reader
// taking about 160 KiB/s gets a 256 KiB body in full although that takes many windows,
// while one that stops reading is cut off. Both paths are covered: a body from the
// content cache (sendfile) and one too large for it.
func TestMinimumTransferRate(t *testing.T) {
	big := randomBytes(t, 256<<10)
	f := newFixture(t, withBody(big))
	limits := linkserver.Limits{MinTransferRate: 32 << 10, TransferWindow: 250 * time.Millisecond}
	for name, cacheBytes := range map[string]int64{"cached": 0, "too large for the cache": 1 << 10} {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, linkserver.Options{ContentCacheBytes: cacheBytes, Limits: limits},
				func(s *linkserver.Server) { linkserver.SetSendBuffer(s, 4096) })
			eventuallyStatus(t, on(srv, f.url()), http.StatusOK)
			get := "GET " + strings.TrimPrefix(f.url(), base) + " HTTP/1.1\r\nHost: x\r\n\r\n"

			t.Run("slow but moving", func(t *testing.T) {
				conn, err := smallReceiveBuffer.DialContext(t.Context(), "tcp", strings.TrimPrefix(srv, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				start := time.Now()
				if _, err := io.WriteString(conn, get); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(bufio.NewReaderSize(&throttled{r: conn, chunk: 4 << 10, every: 25 * time.Millisecond}, 4<<10), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil || !bytes.Equal(body, big) {
					t.Fatalf("slow reader got %d of %d bytes: %v", len(body), len(big), err)
				}
				if took := time.Since(start); took < 4*limits.TransferWindow {
					t.Errorf("the slow download took only %v: not slow enough to prove anything", took)
				}
			})

			t.Run("stalled", func(t *testing.T) {
				conn, err := smallReceiveBuffer.DialContext(t.Context(), "tcp", strings.TrimPrefix(srv, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if _, err := io.WriteString(conn, get); err != nil {
					t.Fatal(err)
				}
				time.Sleep(limits.TransferWindow + time.Second) // reads nothing
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				got, err := io.Copy(io.Discard, conn)
				if isTimeout(err) {
					t.Fatalf("the stalled connection is still open after %d bytes", got)
				}
				if got >= int64(len(big)) {
					t.Fatalf("the stalled reader still got the whole body (%d bytes)", got)
				}
			})
		})
	}
}

// throttled reads at most chunk bytes per call, one call per interval.
type throttled struct {
	r     io.Reader
	chunk int
	every time.Duration
}

func (t *throttled) Read(p []byte) (int, error) {
	time.Sleep(t.every)
	return t.r.Read(p[:min(len(p), t.chunk)])
}

func TestManyRangesGetTheWholeBody(t *testing.T) {
	body := randomBytes(t, 4<<10)
	f := newFixture(t, withBody(body))
	eventuallyStatus(t, f.url(), http.StatusOK)

	ranges := make([]string, 1000)
	for i := range ranges {
		ranges[i] = fmt.Sprintf("%d-%d", i*2, i*2)
	}
	resp, got := request(t, http.MethodGet, f.url(), map[string]string{"Range": "bytes=" + strings.Join(ranges, ",")})
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("1,000 ranges: %d with %d bytes, want 200 with the whole body", resp.StatusCode, len(got))
	}

	resp, got = request(t, http.MethodGet, f.url(), map[string]string{"Range": "bytes=0-1,10-12"})
	mediaType, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusPartialContent || err != nil || mediaType != "multipart/byteranges" {
		t.Fatalf("2 ranges: %d %q %v, want a multipart 206", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	parts := multipart.NewReader(bytes.NewReader(got), params["boundary"])
	for _, want := range [][]byte{body[0:2], body[10:13]} {
		p, err := parts.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(p); !bytes.Equal(b, want) {
			t.Errorf("part %q: %x, want %x", p.Header.Get("Content-Range"), b, want)
		}
	}
}

// TestEveryAnswerCarriesTheContentSecurityPolicy covers each status the server gives.
func TestEveryAnswerCarriesTheContentSecurityPolicy(t *testing.T) {
	expires := metav1.NewTime(clk.Now().Add(time.Hour).Truncate(time.Second))
	f := newFixture(t, func(f *fixture) { f.file.Spec.ContentType = "text/html" })
	expiring := newFixture(t, func(f *fixture) { f.link.Spec.ExpiresAt = &expires })
	eventuallyStatus(t, f.url(), http.StatusOK)
	eventuallyStatus(t, expiring.url(), http.StatusOK)
	t.Cleanup(func() { clk.SetTime(time.Now()) })

	check := func(name string, resp *received, want int) {
		t.Helper()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, want)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != "default-src 'none'; sandbox" {
			t.Errorf("%s (%d): Content-Security-Policy %q", name, resp.StatusCode, got)
		}
		wantSecurityHeaders(t, resp.Header)
	}
	get := func(url string, h map[string]string) *received {
		resp, _ := request(t, http.MethodGet, url, h)
		return resp
	}
	check("text/html body", get(f.url(), nil), http.StatusOK)
	check("range", get(f.url(), map[string]string{"Range": "bytes=0-3"}), http.StatusPartialContent)
	check("not modified", get(f.url(), map[string]string{"If-None-Match": etagOf(content)}), http.StatusNotModified)
	check("precondition failed", get(f.url(), map[string]string{"If-Match": `"x"`}), http.StatusPreconditionFailed)
	check("unsatisfiable range", get(f.url(), map[string]string{"Range": "bytes=9999-"}), http.StatusRequestedRangeNotSatisfiable)
	check("unknown token", get(base+"/links/nope", nil), http.StatusNotFound)
	resp, _ := request(t, http.MethodPost, f.url(), nil)
	check("POST", resp, http.StatusMethodNotAllowed)
	tooLarge, _ := rawRequest(t, base, getWithHeaderFields(base, "/links/x", 17<<10))
	check("header fields too large", tooLarge, http.StatusRequestHeaderFieldsTooLarge)
	clk.SetTime(expires.Time)
	check("expired", get(expiring.url(), nil), http.StatusGone)
}

// TestConnectionsAreCapped: with two connections open, a third client waits until one
// closes.
func TestConnectionsAreCapped(t *testing.T) {
	f := newFixture(t, nil)
	srv := startServer(t, linkserver.Options{Limits: linkserver.Limits{MaxConnections: 2}})
	eventuallyStatus(t, on(srv, f.url()), http.StatusOK)
	http.DefaultClient.CloseIdleConnections() // its kept-alive connection would hold a slot
	var held []net.Conn
	for range 2 {
		c := connect(t, srv)
		defer c.Close()
		held = append(held, c)
	}
	time.Sleep(200 * time.Millisecond) // both accepted, the idle one closed
	fresh := func(timeout time.Duration) (*received, error) {
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, on(srv, f.url()), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return receivedOf(resp), nil
	}
	if resp, err := fresh(500 * time.Millisecond); err == nil {
		t.Fatalf("a third connection was served (%d) while two were open", resp.StatusCode)
	}
	held[0].Close()
	resp, err := fresh(5 * time.Second)
	if err != nil {
		t.Fatalf("once a connection closed: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("once a connection closed: %d", resp.StatusCode)
	}
}

// TestARequestBodyIsNotWaitedFor: a GET announcing a body that never comes is answered,
// and the connection closed, instead of being held while the body trickles.
func TestARequestBodyIsNotWaitedFor(t *testing.T) {
	f := newFixture(t, nil)
	eventuallyStatus(t, f.url(), http.StatusOK)
	conn := connect(t, strings.TrimPrefix(base, "http://"))
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET "+strings.TrimPrefix(f.url(), base)+" HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || !bytes.Equal(b, content) {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
	if _, err := r.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("connection still open after the answer: %v", err)
	}
}
