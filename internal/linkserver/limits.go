package linkserver

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/ledger"
)

// retryAfter is what a limited link's 503 asks a client to wait: about the time a
// reservation is given, so a retry meets an API server back from a blip.
var retryAfter = strconv.Itoa(int(ledger.DefaultReserveTimeout.Seconds()))

// reserveCounted makes a limited link's download wait, at the last moment before its
// status line, for a reservation in the link's status (SPEC §13): only a won reservation
// is served; a lost one answers 410, and one that cannot be made 503 with Retry-After.
// HEAD, 304, 416 and every error answer are not downloads and reserve nothing.
//
// A download is a whole file or a range from its first byte, and a limited link serves
// nothing else: any other Range is ignored, so its answer is the whole file, counted. A
// link that honoured "bytes=1-" uncounted would hand out all but one byte of a one-time
// file any number of times.
func (s *Server) reserveCounted(w *guard.Writer, r *http.Request, link *filelinkv1.FileLink) {
	if !link.Limited() {
		return
	}
	if !rangeFromFirstByte(r.Header.Get("Range")) {
		r.Header.Del("Range")
	}
	if r.Method != http.MethodGet {
		return
	}
	w.Commit(func(code int) *guard.Refusal {
		if code != http.StatusOK && code != http.StatusPartialContent {
			return nil
		}
		err := s.ledger.Reserve(r.Context(), link)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ledger.ErrLimitReached):
			return &guard.Refusal{Status: http.StatusGone, Err: err}
		case errors.Is(err, ledger.ErrGone):
			return &guard.Refusal{Status: http.StatusNotFound, Err: err}
		}
		s.log.Error(err, "download not reserved", "fileLink", types.NamespacedName{Namespace: link.Namespace, Name: link.Name})
		w.Header().Set("Retry-After", retryAfter)
		return &guard.Refusal{Status: http.StatusServiceUnavailable, Err: err}
	})
}

// rangeFromFirstByte reports whether a Range header, if any, asks for one range that
// starts at byte 0: the only part of a file a limited link serves, and counts.
func rangeFromFirstByte(h string) bool {
	if h == "" {
		return true
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return false
	}
	start, _, ok := strings.Cut(strings.TrimSpace(spec), "-")
	return ok && start == "0"
}
