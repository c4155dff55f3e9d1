package fastpath

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"net/textproto"
	"strconv"
	"sync"
	"time"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
	"github.com/filelink-dev/filelink-operator/internal/requesthead"
)

// answerPlain answers req on c when its link serves a body the content cache holds: a
// 200 with the whole body and the very headers the link server's net/http handler sends
// through http.ServeContent (linkserver's TestFastPathAnswersAsNetHTTPDoes compares them). For anything else it writes nothing and reports
// false, and net/http answers: that is every 404, 410 and 503, a body not cached yet, an
// object store's. An error is one of writing to c, which is then done with.
//
// Once shutdown has begun the connection ends after the answer: its head says
// Connection: close unless written before, as net/http's does.
func (fp *FastPath) answerPlain(ctx context.Context, c guard.TCPConn, peer netip.Addr, req requesthead.Plain) (bool, error) {
	start := time.Now()
	b, mediaType, filename, link, ok := fp.cfg.Decider.CachedBody(ctx, string(req.Path))
	if !ok {
		return false, nil
	}
	defer b.Done()
	// A memory file goes out by sendfile (guard.Pacer.ReadFrom); a small body the cache
	// keeps in the heap by a copy.
	f := b.Content
	// The disposition is built only of safe bytes (guard.Attachment); a contentType the
	// schema admits may still hold a CR or LF, which net/http would rewrite: let it. It
	// may also end in spaces or tabs, which net/http trims from every header value.
	mediaType = textproto.TrimString(mediaType)
	if !fieldValue(mediaType) {
		return false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, nil
	}

	buf := headBuffers.Get().(*[]byte)
	defer headBuffers.Put(buf)
	head := appendHead((*buf)[:0], start, b.Size, mediaType, guard.Attachment(filename), b.ETag, b.Modified, req.Close || fp.closing.Load())
	*buf = head
	fp.answers.Add(1) // before the client can see the answer
	var p guard.Pacer
	p.Start(c, c, fp.cfg.Limits.MinTransferRate, fp.cfg.Limits.TransferWindow)
	var sent int64
	_, err := p.Write(head)
	if err == nil && !req.Head {
		sent, err = p.ReadFrom(&io.LimitedReader{R: f, N: b.Size})
	}
	// Reported however it ended, as net/http's answers are: one cut by the transfer rate
	// or a failed write is an answer too, with the body bytes that did go out.
	fp.cfg.Answered(fp.answerOf(start, link, peer, req, sent))
	return true, err
}

// answerOf is the record of a 200 written here. What it keeps of req is copied: req's
// bytes are the connection's buffer, read into again for the next request.
func (fp *FastPath) answerOf(start time.Time, link answer.Link, peer netip.Addr, req requesthead.Plain, sent int64) answer.Answer {
	method := http.MethodGet
	if req.Head {
		method = http.MethodHead
	}
	client := peer
	if len(req.ForwardedFor) > 0 && fp.cfg.Proxies.Trusts(peer) {
		client = fp.cfg.Proxies.Client(peer, string(req.ForwardedFor))
	}
	return answer.Answer{
		Start: start, Duration: time.Since(start), Link: link, Method: method,
		Code: http.StatusOK, Written: sent, Client: client,
		UserAgent: answer.Cut(req.UserAgent, answer.MaxUserAgent),
		Counted:   answer.Counted(method, http.StatusOK, "", ""),
	}
}

// appendHead writes the status line and headers of a whole-body 200 the way net/http
// writes the link server handler's: its headers sorted, then Date and Connection.
func appendHead(b []byte, now time.Time, size int64, mediaType, disposition, etag string, modified time.Time, closing bool) []byte {
	b = append(b, "HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nCache-Control: "...)
	b = append(b, guard.HardenedHeaders["Cache-Control"][0]...)
	b = append(b, "\r\nContent-Disposition: "...)
	b = append(b, disposition...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, "\r\nContent-Security-Policy: "...)
	b = append(b, guard.HardenedHeaders["Content-Security-Policy"][0]...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, mediaType...)
	b = append(b, "\r\nEtag: "...)
	b = append(b, etag...)
	if !modified.IsZero() && !modified.Equal(time.Unix(0, 0)) {
		// http.ServeContent's rule: no Last-Modified for an unknown time.
		b = append(b, "\r\nLast-Modified: "...)
		b = modified.UTC().AppendFormat(b, http.TimeFormat)
	}
	b = append(b, "\r\nReferrer-Policy: "...)
	b = append(b, guard.HardenedHeaders["Referrer-Policy"][0]...)
	b = append(b, "\r\nX-Content-Type-Options: "...)
	b = append(b, guard.HardenedHeaders["X-Content-Type-Options"][0]...)
	b = append(b, "\r\nDate: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	if closing {
		b = append(b, "\r\nConnection: close"...)
	}
	return append(b, "\r\n\r\n"...)
}

// fieldValue reports whether v can be sent as a header value as it is.
func fieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

var headBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
