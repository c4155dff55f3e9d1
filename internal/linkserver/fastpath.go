package linkserver

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filelink-dev/filelink-operator/internal/requesthead"
)

// fastPath serves connections below net/http. Most downloads are a plain GET of a body
// the content cache holds, and for those net/http's own work per request (a goroutine
// for a background read, the header maps, a header write apart from the body) costs more
// than the download: under wrk, bare http.ServeContent from a file reaches about 0.6 of
// nginx's requests per second, this path 0.8 to 0.87 (bench/RESULTS.md, row 3).
//
// So each connection starts here. A request head that requesthead recognizes, for a link
// that serves a cached body whole, is answered with one write of the head and sendfile
// for the body. The first request that is anything else (a range, a condition, a 404, a
// body not cached yet, an object store, a malformed head) hands the connection, with the
// bytes read so far, to net/http, which answers it and keeps the connection to its end.
// Every limit of SPEC §5 holds here too: the connection cap (the same listener), the
// header and idle timeouts, the minimum transfer rate (pacer), the 16 KiB header cap (a
// head that does not fit the buffer is net/http's).
type fastPath struct {
	s       *Server
	handoff *handoffListener

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

func newFastPath(s *Server, handoff *handoffListener) *fastPath {
	return &fastPath{s: s, handoff: handoff, conns: map[net.Conn]struct{}{}}
}

// acceptLoop serves each connection ln accepts until ln is closed. Like net/http, it
// waits out errors that may pass (out of descriptors) instead of giving up.
func (fp *fastPath) acceptLoop(ctx context.Context, ln net.Listener) error {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				fp.s.log.Error(err, "accepting a connection; retrying", "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		tc, ok := c.(tcpConn)
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

func (fp *fastPath) track(c net.Conn) bool {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.closing.Load() {
		return false
	}
	fp.conns[c] = struct{}{}
	fp.active.Add(1)
	return true
}

func (fp *fastPath) untrack(c net.Conn) {
	fp.mu.Lock()
	delete(fp.conns, c)
	fp.mu.Unlock()
	fp.active.Done()
}

// serve answers c's requests while they are plain, then hands c to net/http or closes it.
func (fp *fastPath) serve(ctx context.Context, c tcpConn) {
	handedOff := false
	defer func() {
		if r := recover(); r != nil {
			fp.s.log.Error(nil, "panic serving a link; connection closed", "panic", r)
		}
		fp.untrack(c)
		if !handedOff {
			c.Close()
		}
	}()
	br := bufio.NewReaderSize(c, readBufferSize)
	// As with net/http, a new connection's first head is due ReadHeaderTimeout after the
	// accept; a kept-alive connection waits IdleTimeout for the next request, whose head
	// is then due ReadHeaderTimeout after its first byte. The head must arrive whole in
	// what one read brings; one that trickles in is handed to net/http with its deadline.
	headDue := time.Now().Add(fp.s.limits.ReadHeaderTimeout)
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
			headDue = time.Now().Add(fp.s.limits.ReadHeaderTimeout)
		}
		// As with net/http, a request read once shutdown has begun is not answered, even
		// one pipelined behind an answer already under way.
		if fp.closing.Load() {
			return
		}
		buf, _ := br.Peek(br.Buffered())
		req, ok := requesthead.ParsePlain(buf)
		if ok {
			answered, err := fp.s.answerPlain(ctx, c, req, &fp.closing)
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
				waitUntil, headDue = time.Now().Add(fp.s.limits.IdleTimeout), time.Time{}
				continue
			}
		}
		handedOff = fp.handOff(c, br, headDue)
		return
	}
}

// handOff gives c to net/http with the bytes br read from it and not yet answered, whose
// head is due at headDue.
func (fp *fastPath) handOff(c tcpConn, br *bufio.Reader, headDue time.Time) bool {
	// The fast path's last write deadline would cut net/http's answers, which set none of
	// their own outside the handler.
	if err := c.SetWriteDeadline(time.Time{}); err != nil {
		return false
	}
	return fp.handoff.give(&replayConn{tcpConn: c, buffered: br, headDue: headDue, metrics: fp.s.metrics})
}

// shutdown stops serving: connections waiting for a request close now, those in the
// middle of an answer once it is written. Past ctx, every one is closed.
func (fp *fastPath) shutdown(ctx context.Context) error {
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
