package linkserver_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

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
		if _, resp, _ := rawExchange(t, conn, br, get, http.MethodGet); resp.StatusCode != http.StatusOK {
			t.Fatalf("first GET: %d", resp.StatusCode)
		}
		// The next head begins after most of a deadline counted from the accept and ends
		// after it, within one counted from its own first byte.
		time.Sleep(headTimeout * 4 / 5)
		send(t, conn, get[:1])
		time.Sleep(headTimeout / 2)
		if _, resp, _ := rawExchange(t, conn, br, get[1:], http.MethodGet); resp.StatusCode != http.StatusOK {
			t.Fatalf("a head begun in time: %d", resp.StatusCode)
		}
		// Past that head's deadline, the connection idles and serves as net/http's.
		time.Sleep(headTimeout)
		if _, resp, _ := rawExchange(t, conn, br, get, http.MethodGet); resp.StatusCode != http.StatusOK {
			t.Fatalf("a request after the handed-off one: %d", resp.StatusCode)
		}
		if got := linkserver.FastAnswers(s) - before; got != 1 {
			t.Errorf("the fast path answered %d requests, want the first only (the second was handed off)", got)
		}
	})
}
