package linkserver

import (
	"io"
	"net"
	"sync"
)

// limitListener accepts at most n connections at once; further clients wait in the
// kernel's accept queue until one closes. It is x/net/netutil's LimitListener with one
// difference that matters here: its connections keep the TCP connection's ReadFrom and
// CloseWrite, so net/http can still hand bodies to sendfile, and its 431 answer reaches a
// client that is still sending headers.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	tc, ok := c.(tcpConn)
	if !ok {
		return &limitedConn{Conn: c, release: l.release}, nil
	}
	return &limitedTCPConn{tcpConn: tc, release: l.release}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *limitListener) release() { <-l.slots }

// tcpConn is what net/http looks for on *net.TCPConn beyond net.Conn.
type tcpConn interface {
	net.Conn
	io.ReaderFrom
	CloseWrite() error
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

type limitedTCPConn struct {
	tcpConn
	once    sync.Once
	release func()
}

func (c *limitedTCPConn) Close() error {
	err := c.tcpConn.Close()
	c.once.Do(c.release)
	return err
}
