// Package fastpath serves link connections below net/http: a request head that
// requesthead recognizes as plain, for a body the decision serves whole from the content
// cache, is answered with one write of the head and sendfile for the body (a copy for
// a small body the cache keeps in the heap); the first request that is anything else
// hands the connection, with the bytes read so far, to net/http. It asks the decision
// one thing, through Decider, and holds every answer to the same guards as net/http's
// (connection cap, header and idle timeouts, minimum transfer rate, hardened headers).
package fastpath

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/clientip"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/content"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
	"github.com/filelink-dev/filelink-operator/internal/requesthead"
)

// Decider is what the fast path asks of the link server's decision.
type Decider interface {
	// CachedBody returns the body a plain GET of target answers whole with 200, when the
	// link serves it and the content cache holds it, with the File's media type and
	// download name and the link's identity; ok is false for anything else, which
	// net/http then answers.
	CachedBody(ctx context.Context, target string) (body content.Body, mediaType, filename string, link answer.Link, ok bool)
}

// Config is what a FastPath serves with.
type Config struct {
	Decider Decider
	// Limits must have their defaults filled in.
	Limits guard.Limits
	// Answered reports every answer written here, and net/http's own answers on the
	// connections handed to it, as the server's handler reports its.
	Answered func(answer.Answer)
	// Proxies decide the client address of an answer (clientip).
	Proxies clientip.Proxies
	Log     logr.Logger
}

// FastPath serves connections below net/http. Most downloads are a plain GET of a body
// the content cache holds, and for those net/http's own work per request (a goroutine
// for a background read, the header maps, a header write apart from the body) costs more
// than the download: under wrk, bare http.ServeContent from a file reaches about 0.6 of
// nginx's requests per second, this path 0.8 to 0.87 (bench/RESULTS.md, row 3).
//
// So each connection starts here. A request head that requesthead recognizes, for a link
// that serves a cached body whole, is answered with one write of the head and sendfile
// for the body (or a copy of a small one from the heap). The first request that is
// anything else (a range, a condition, a 404, a body not cached yet, an object store, a
// malformed head) hands the connection, with the bytes read so far, to net/http, which answers it and keeps the connection to its end.
// Every limit of SPEC §5 holds here too: the connection cap (the same listener), the
// header and idle timeouts, the minimum transfer rate (pacer), the 16 KiB header cap (a
// head that does not fit the buffer is net/http's).
type FastPath struct {
	cfg     Config
	handoff *handoffListener
	// answers counts the answers written here, so tests can tell which path answered.
	answers atomic.Int64

	mu      sync.Mutex
	conns   map[net.Conn]struct{} // served here now; guarded by mu
	closing atomic.Bool           // set under mu
	active  sync.WaitGroup
}

// readBufferSize is the most of a request head the fast path reads; a longer head goes
// to net/http whole. Browsers' heads fit in it, cookies of a shared domain aside.
const readBufferSize = 4 << 10

// rstAvoidanceDelay is net/http's pause between half-closing a connection and closing it.
const rstAvoidanceDelay = 500 * time.Millisecond

// New returns a fast path for connections accepted on addr.
func New(cfg Config, addr net.Addr) *FastPath {
	return &FastPath{cfg: cfg, handoff: newHandoffListener(addr), conns: map[net.Conn]struct{}{}}
}

// Handoff is the listener net/http serves: it accepts the connections the fast path
// gives up on.
func (fp *FastPath) Handoff() net.Listener { return fp.handoff }

// Answers is how many answers the fast path has written.
func (fp *FastPath) Answers() int64 { return fp.answers.Load() }

// Serve serves each connection ln accepts until ln is closed. Like net/http, it
// waits out errors that may pass (out of descriptors) instead of giving up.
func (fp *FastPath) Serve(ctx context.Context, ln net.Listener) error {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				fp.cfg.Log.Error(err, "accepting a connection; retrying", "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		tc, ok := c.(guard.TCPConn)
		if !ok || !fp.track(c) {
			// Not TCP (no sendfile to gain), or shutting down: net/http decides.
			if !fp.handoff.give(c) {
				c.Close()
			}
			continue
		}
		go fp.serve(ctx, tc)
	}
}

// isTemporary reports the accept errors net/http also retries.
func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (fp *FastPath) track(c net.Conn) bool {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.closing.Load() {
		return false
	}
	fp.conns[c] = struct{}{}
	fp.active.Add(1)
	return true
}

func (fp *FastPath) untrack(c net.Conn) {
	fp.mu.Lock()
	delete(fp.conns, c)
	fp.mu.Unlock()
	fp.active.Done()
}

// serve answers c's requests while they are plain, then hands c to net/http or closes it.
func (fp *FastPath) serve(ctx context.Context, c guard.TCPConn) {
	handedOff := false
	defer func() {
		if r := recover(); r != nil {
			fp.cfg.Log.Error(nil, "panic serving a link; connection closed", "panic", r)
		}
		fp.untrack(c)
		if !handedOff {
			c.Close()
		}
	}()
	peer := peerOf(c)
	br := bufio.NewReaderSize(c, readBufferSize)
	// As with net/http, a new connection's first head is due ReadHeaderTimeout after the
	// accept; a kept-alive connection waits IdleTimeout for the next request, whose head
	// is then due ReadHeaderTimeout after its first byte. The head must arrive whole in
	// what one read brings; one that trickles in is handed to net/http with its deadline.
	headDue := time.Now().Add(fp.cfg.Limits.ReadHeaderTimeout)
	waitUntil := headDue
	for {
		if br.Buffered() == 0 {
			if err := c.SetReadDeadline(waitUntil); err != nil {
				return
			}
			// After the deadline: shutdown sets closing, then cuts every read short.
			if fp.closing.Load() {
				return
			}
			if _, err := br.Peek(1); err != nil {
				return
			}
		}
		if headDue.IsZero() {
			headDue = time.Now().Add(fp.cfg.Limits.ReadHeaderTimeout)
		}
		// As with net/http, a request read once shutdown has begun is not answered, even
		// one pipelined behind an answer already under way.
		if fp.closing.Load() {
			return
		}
		buf, _ := br.Peek(br.Buffered())
		req, ok := requesthead.ParsePlain(buf)
		if ok {
			answered, err := fp.answerPlain(ctx, c, peer, req)
			switch {
			case err != nil:
				return
			case answered && (req.Close || fp.closing.Load()):
				// The client asked to close, or shutdown began during the answer. As
				// net/http does: the client may have sent more, and closing with unread
				// bytes would reset the connection under the answer.
				_ = c.CloseWrite()
				time.Sleep(rstAvoidanceDelay)
				return
			case answered:
				_, _ = br.Discard(req.Size)
				waitUntil, headDue = time.Now().Add(fp.cfg.Limits.IdleTimeout), time.Time{}
				continue
			}
		}
		handedOff = fp.handOff(c, peer, br, headDue)
		return
	}
}

// handOff gives c to net/http with the bytes br read from it and not yet answered, whose
// head is due at headDue.
func (fp *FastPath) handOff(c guard.TCPConn, peer netip.Addr, br *bufio.Reader, headDue time.Time) bool {
	// The fast path's last write deadline would cut net/http's answers, which set none of
	// their own outside the handler.
	if err := c.SetWriteDeadline(time.Time{}); err != nil {
		return false
	}
	return fp.handoff.give(&replayConn{TCPConn: c, buffered: br, headDue: headDue, peer: peer, answered: fp.cfg.Answered})
}

// Shutdown stops serving: connections waiting for a request close now, those in the
// middle of an answer once it is written. Past ctx, every one is closed.
func (fp *FastPath) Shutdown(ctx context.Context) error {
	fp.mu.Lock()
	fp.closing.Store(true)
	now := time.Now()
	for c := range fp.conns {
		_ = c.SetReadDeadline(now)
	}
	fp.mu.Unlock()
	done := make(chan struct{})
	go func() { fp.active.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		fp.mu.Lock()
		for c := range fp.conns {
			c.Close()
		}
		fp.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// peerOf is c's remote IP address, the zero Addr if it has none.
func peerOf(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
