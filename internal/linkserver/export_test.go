package linkserver

import (
	"context"
	"syscall"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/decision"
)

// SetSendBuffer makes the sockets s accepts buffer at most about n bytes, so a test sees
// a reader stall after a few KiB rather than after the megabytes loopback buffers hold.
func SetSendBuffer(s *Server, n int) {
	s.listen.Control = func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, n) }); cerr != nil {
			return cerr
		}
		return err
	}
}

// NewServer lets the external tests run extra servers with options of their own on the
// suite's manager.
var NewServer = newServer

// SharedGet reads through s's copy-free reader, as the decision does.
func SharedGet[T client.Object](ctx context.Context, s *Server, key types.NamespacedName, obj T) (T, error) {
	return decision.SharedGet(ctx, s.decider, key, obj)
}

// FileKind names the File kind for SharedGet.
var FileKind = decision.FileKind

// FastAnswers is how many answers s's fast path has written.
func FastAnswers(s *Server) int64 {
	if fp := s.fast.Load(); fp != nil {
		return fp.Answers()
	}
	return 0
}

// HoldsBody reports whether s's content cache holds the body file's link would serve
// now.
func HoldsBody(ctx context.Context, s *Server, file *filelinkv1.File) bool {
	_, key, err := s.decider.SourceVersion(ctx, file)
	return err == nil && s.bodies.Holds(key)
}

// FetchAheadIdle reports whether s has no body queued or being fetched ahead.
func FetchAheadIdle(s *Server) bool { return s.prefetch.Idle() }

// WithoutFetchAhead keeps s from fetching bodies ahead: it reads them on first download.
func WithoutFetchAhead(s *Server) { s.prefetch = nil }
