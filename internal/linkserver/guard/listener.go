package guard

import (
	"io"
	"net"
	"sync"
)

// LimitListener accepts at most n connections at once; further clients wait in the
// kernel's accept queue until one closes. It is x/net/netutil's LimitListener with one
// difference that matters here: its connections keep the TCP connection's ReadFrom and
// CloseWrite, so net/http can still hand bodies to sendfile, and its 431 answer reaches a
// client that is still sending headers.
type LimitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

// NewLimitListener lets l accept at most n connections open at once.
func NewLimitListener(l net.Listener, n int) *LimitListener {
	return &LimitListener{Listener: l, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

// Accept waits for a free slot, then for a connection, which frees its slot on Close.
func (l *LimitListener) Accept() (net.Conn, error) {
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
	tc, ok := c.(TCPConn)
	if !ok {
		return &limitedConn{Conn: c, release: l.release}, nil
	}
	return &limitedTCPConn{TCPConn: tc, release: l.release}, nil
}

// Close stops accepting; connections already accepted stay open.
func (l *LimitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *LimitListener) release() { <-l.slots }

// TCPConn is what net/http looks for on *net.TCPConn beyond net.Conn.
type TCPConn interface {
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
	TCPConn
	once    sync.Once
	release func()
}

func (c *limitedTCPConn) Close() error {
	err := c.TCPConn.Close()
	c.once.Do(c.release)
	return err
}
