package objectstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/minio/minio-go/v7"

	"github.com/filelink-dev/filelink-operator/internal/netguard"
)

// The failures callers tell apart. Every error this package returns from talking to the
// store wraps at most one of them, so errors.Is picks the reaction: a condition reason,
// a 404 or a 503, a retry.
var (
	// ErrBucketNotFound: the bucket does not exist. Only a spec change, or somebody
	// creating the bucket, helps.
	ErrBucketNotFound = errors.New("bucket not found")
	// ErrObjectNotFound: the bucket has no object (or no such version) under the key.
	ErrObjectNotFound = errors.New("object not found")
	// ErrAccessDenied: the store refused the credentials, or they may not read this;
	// or the manager's address policy refused to connect to the store, and then the
	// error wraps netguard.ErrAddressNotAllowed too, for callers that tell the two
	// apart. Either way nothing is served and only a change of the FileStore (or of
	// the policy, or the credentials) helps.
	ErrAccessDenied = errors.New("access denied")
	// ErrUnreachable: the store did not answer, or answered with a server error; it
	// may recover by itself.
	ErrUnreachable = errors.New("object store unreachable")
	// ErrObjectChanged: the object is no longer the version a read was pinned to.
	ErrObjectChanged = errors.New("object changed")
)

// Reason names the class of err for a condition reason: EndpointNotAllowed (the
// address policy's refusal, before the AccessDenied it is also), BucketNotFound,
// ObjectNotFound, AccessDenied, Unreachable, ObjectChanged, or "" when err is nil or of
// none of these.
func Reason(err error) string {
	for _, c := range []struct {
		err    error
		reason string
	}{
		{netguard.ErrAddressNotAllowed, "EndpointNotAllowed"},
		{ErrBucketNotFound, "BucketNotFound"},
		{ErrObjectNotFound, "ObjectNotFound"},
		{ErrAccessDenied, "AccessDenied"},
		{ErrUnreachable, "Unreachable"},
		{ErrObjectChanged, "ObjectChanged"},
	} {
		if errors.Is(err, c.err) {
			return c.reason
		}
	}
	return ""
}

// classify wraps an error of the S3 client in the class it belongs to, keeping the
// store's own code and message for people to read. what says which request failed.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, netguard.ErrAddressNotAllowed) {
		// Checked before the transport failures it is one of (a url.Error): the store
		// was not asked, and asking again will not help.
		return fmt.Errorf("%s: %w: %w", what, ErrAccessDenied, err)
	}
	resp := minio.ToErrorResponse(err)
	var class error
	switch resp.Code {
	case minio.NoSuchBucket:
		class = ErrBucketNotFound
	case minio.NoSuchKey, "NoSuchVersion":
		class = ErrObjectNotFound
	case minio.AccessDenied, minio.InvalidAccessKeyID, minio.SignatureDoesNotMatch, "AllAccessDisabled", "InvalidToken", "ExpiredToken":
		class = ErrAccessDenied
	case minio.PreconditionFailed:
		class = ErrObjectChanged
	default:
		switch {
		case resp.StatusCode >= 500:
			class = ErrUnreachable
		case resp.StatusCode == 0 && unreachable(err):
			class = ErrUnreachable
		}
	}
	if class == nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if resp.Code != "" {
		return fmt.Errorf("%s: %w (%s: %s)", what, class, resp.Code, resp.Message)
	}
	return fmt.Errorf("%s: %w: %w", what, class, err)
}

// unreachable reports whether err is a transport failure rather than an answer: no
// connection, a DNS failure, a timeout.
func unreachable(err error) bool {
	var urlErr *url.Error
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	return errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.As(err, &opErr) ||
		errors.As(err, &dnsErr) || errors.Is(err, context.DeadlineExceeded)
}
