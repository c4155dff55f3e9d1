package linkserver

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
)

// answered is where every answer of every path is reported, once: the fast path's,
// net/http's handler's (serveLink) and net/http's own (fastpath's replayConn). Each
// consumer of answers is called from here: the metrics, the audit log and the download
// ledger (SPEC §13), which counts the downloads of links without a limit (a limited
// link's were reserved before they were served).
func (s *Server) answered(a answer.Answer) {
	s.metrics.record(a.Code, a.Written, a.Duration)
	s.audit.Write(&a)
	if a.Counted && a.Link.Known() && !a.Link.Limited {
		s.ledger.Count(a.Link.Namespace, a.Link.Name, a.Link.UID, a.Start)
	}
}

// requestAnswer starts the record of net/http's answer to r, begun at start, with what
// the request says; the link and the outcome are filled in as they are known.
func (s *Server) requestAnswer(r *http.Request, start time.Time) answer.Answer {
	peer, _ := netip.ParseAddrPort(r.RemoteAddr)
	return answer.Answer{
		Start: start,
		// A method is a token of any length net/http admits: bounded like the rest.
		Method:    answer.Cut(r.Method, answer.MaxMethod),
		Range:     answer.Cut(r.Header.Get("Range"), answer.MaxRange),
		Client:    s.proxies.Client(peer.Addr(), r.Header.Values("X-Forwarded-For")...),
		UserAgent: answer.Cut(r.UserAgent(), answer.MaxUserAgent),
	}
}

// reportAfterBody reports a once w's answer is written: its status, body bytes and
// whether it is a download, which the range asked for and the range sent decide.
func (s *Server) reportAfterBody(w *guard.Writer, a *answer.Answer, askedRange string) {
	w.AfterBody(func(code int, written int64) {
		a.Code, a.Written, a.Duration = code, written, time.Since(a.Start)
		a.Counted = answer.Counted(a.Method, code, w.Header().Get("Content-Range"), askedRange)
		s.answered(*a)
	})
}
