package fastpath

import (
	"bufio"
	"net"
	"sync"

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

// replayConn is a connection whose first bytes were already read into a bufio.Reader:
// net/http reads those again, then the connection itself. Everything else, ReadFrom for
// sendfile above all, is the connection's own.
type replayConn struct {
	guard.TCPConn
	buffered *bufio.Reader
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.buffered != nil {
		if c.buffered.Buffered() > 0 {
			return c.buffered.Read(p)
		}
		c.buffered = nil
	}
	return c.TCPConn.Read(p)
}
