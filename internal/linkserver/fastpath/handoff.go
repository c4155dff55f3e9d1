package fastpath

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
)

// handoffListener is how the fast path gives net/http a connection: http.Server.Serve
// accepts from it the connections the fast path met a request on that it does not answer
// itself. net/http keeps such a connection to its end.
type handoffListener struct {
	addr      net.Addr
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// give hands c to net/http; false once net/http has stopped accepting, when c is the
// caller's to close.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

// replayConn is a connection the fast path read from: net/http reads the bytes the fast
// path buffered again, then the connection itself. Everything else, ReadFrom for sendfile
// above all, is the connection's own, but for read deadlines while the head the fast path
// began is unfinished, and for the answers net/http writes by itself (Write).
//
// That head is due at headDue, set by the fast path as net/http would have: a connection's
// first head ReadHeaderTimeout after the accept, a later one ReadHeaderTimeout after its
// first byte. net/http starts a fresh ReadHeaderTimeout on every connection it is given,
// which would give a client that time twice (SPEC §5: no hand-off renews it). So until
// net/http reports the head read (headRead, from http.Server.ConnState), no read deadline
// it sets reaches past headDue; the deadline it asked for last is then restored, which
// lets the connection idle and the answer's background read wait on net/http's terms.
type replayConn struct {
	guard.TCPConn
	buffered *bufio.Reader

	mu      sync.Mutex
	headDue time.Time // zero once the head is read; guarded by mu
	asked   time.Time // the read deadline net/http last set while headDue held; guarded by mu

	// answering is set while net/http writes the handler's answer: from the handler's
	// start until the connection is idle again. What net/http writes outside it is an
	// answer of its own (see Write).
	answering atomic.Bool
	// peer is the connection's remote address, the client of net/http's own answers:
	// they are given before any forwarding header is read.
	peer netip.Addr
	// answered reports net/http's own answers, which the handler's writer never sees.
	answered func(answer.Answer)
}

// Write stamps the headers every answer carries (guard.HardenedHeaders) on the answers
// net/http writes by itself, which no handler sees: 400 for a malformed head, 417 for an
// unknown expectation, 431 beyond its own header limit, 501, 505. net/http writes each
// in one write that starts with the status line; each is counted as the handler's are.
// The handler's answers are written as they are, body bytes that look like a status
// line included.
func (c *replayConn) Write(p []byte) (int, error) {
	if c.answering.Load() || len(p) < len("HTTP/1.1 200") || !bytes.HasPrefix(p, []byte("HTTP/1.")) {
		return c.TCPConn.Write(p)
	}
	line := bytes.Index(p, []byte("\r\n")) + len("\r\n")
	code, err := strconv.Atoi(string(p[len("HTTP/1.1 "):len("HTTP/1.1 200")]))
	if line < len("\r\n") || err != nil {
		return c.TCPConn.Write(p)
	}
	start := time.Now()
	stamped := make([]byte, 0, len(p)+len(hardenedHeaderLines))
	stamped = append(append(append(stamped, p[:line]...), hardenedHeaderLines...), p[line:]...)
	n, err := c.TCPConn.Write(stamped)
	if end := bytes.Index(stamped, []byte("\r\n\r\n")); end >= 0 {
		// No request was read, so no method, link or user agent is known.
		c.answered(answer.Answer{Start: start, Duration: time.Since(start), Code: code,
			Written: int64(max(n-end-len("\r\n\r\n"), 0)), Client: c.peer})
	}
	// Count what was written of p, not of the stamp.
	switch {
	case n <= line:
		return n, err
	case n < line+len(hardenedHeaderLines):
		return line, err
	default:
		return n - len(hardenedHeaderLines), err
	}
}

// hardenedHeaderLines are guard.HardenedHeaders as header lines, each ending in CRLF.
var hardenedHeaderLines = func() []byte {
	var b bytes.Buffer
	_ = guard.HardenedHeaders.Write(&b)
	return b.Bytes()
}()

func (c *replayConn) Read(p []byte) (int, error) {
	if c.buffered != nil {
		if c.buffered.Buffered() > 0 {
			return c.buffered.Read(p)
		}
		c.buffered = nil
	}
	return c.TCPConn.Read(p)
}

func (c *replayConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.headDue.IsZero() {
		c.asked = t
		if t.IsZero() || t.After(c.headDue) {
			t = c.headDue
		}
	}
	return c.TCPConn.SetReadDeadline(t)
}

func (c *replayConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

// headRead lifts headDue once net/http has read the head. Later calls do nothing.
func (c *replayConn) headRead() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.headDue.IsZero() {
		return
	}
	c.headDue = time.Time{}
	_ = c.TCPConn.SetReadDeadline(c.asked)
}

// ConnState is the server's http.Server.ConnState. net/http reports a connection active
// once it has read a request's head, before it starts the handler or reads on its own
// behalf: the moment a handed-off head's deadline has done its work. It reports it idle
// once an answer is written whole, before it reads the next request.
func ConnState(c net.Conn, state http.ConnState) {
	rc, ok := c.(*replayConn)
	if !ok {
		return
	}
	switch state {
	case http.StateActive:
		rc.headRead()
	case http.StateIdle:
		rc.answering.Store(false)
	}
}

type replayConnKey struct{}

// ConnContext is the server's http.Server.ConnContext: it lets the handler find the
// connection it answers on (Answering).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*replayConn); ok {
		return context.WithValue(ctx, replayConnKey{}, rc)
	}
	return ctx
}

// Answering tells r's connection, if the fast path handed it over, that what net/http
// writes next is the handler's answer to r.
func Answering(r *http.Request) {
	if rc, ok := r.Context().Value(replayConnKey{}).(*replayConn); ok {
		rc.answering.Store(true)
	}
}
