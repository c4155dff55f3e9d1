package objectstore

import (
	"context"
	"errors"
	"net"
	"net/url"
	"testing"

	"github.com/minio/minio-go/v7"
)

// The S3 error codes that SeaweedFS does not produce in the integration tests still map
// to the class their meaning calls for.
func TestClassify(t *testing.T) {
	code := func(c string, status int) error { return minio.ErrorResponse{Code: c, StatusCode: status} }
	cases := []struct {
		err    error
		want   error
		reason string
	}{
		{code("NoSuchBucket", 404), ErrBucketNotFound, "BucketNotFound"},
		{code("NoSuchKey", 404), ErrObjectNotFound, "ObjectNotFound"},
		{code("NoSuchVersion", 404), ErrObjectNotFound, "ObjectNotFound"},
		{code("AccessDenied", 403), ErrAccessDenied, "AccessDenied"},
		{code("InvalidAccessKeyId", 403), ErrAccessDenied, "AccessDenied"},
		{code("SignatureDoesNotMatch", 403), ErrAccessDenied, "AccessDenied"},
		{code("ExpiredToken", 400), ErrAccessDenied, "AccessDenied"},
		{code("PreconditionFailed", 412), ErrObjectChanged, "ObjectChanged"},
		{code("SlowDown", 503), ErrUnreachable, "Unreachable"},
		{code("InternalError", 500), ErrUnreachable, "Unreachable"},
		{&url.Error{Op: "Head", URL: "http://127.0.0.1:1", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, ErrUnreachable, "Unreachable"},
		{context.DeadlineExceeded, ErrUnreachable, "Unreachable"},
		{code("InvalidArgument", 400), nil, ""},
		{context.Canceled, nil, ""},
	}
	for _, c := range cases {
		got := classify(c.err, "test")
		if c.want != nil && !errors.Is(got, c.want) {
			t.Errorf("%v: classified as %v, want %v", c.err, got, c.want)
		}
		if r := Reason(got); r != c.reason {
			t.Errorf("%v: reason %q, want %q", c.err, r, c.reason)
		}
		if !errors.Is(got, c.err) && c.want == nil {
			t.Errorf("%v: the original error is lost: %v", c.err, got)
		}
	}
	if classify(nil, "test") != nil {
		t.Error("nil classified as an error")
	}
}

func TestFullObjectSHA256IgnoresCompositeChecksums(t *testing.T) {
	const sum = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" // SHA-256 of nothing
	cases := []struct {
		info minio.ObjectInfo
		want string
	}{
		{minio.ObjectInfo{ChecksumSHA256: sum}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{minio.ObjectInfo{ChecksumSHA256: sum, ChecksumMode: "FULL_OBJECT"}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{minio.ObjectInfo{ChecksumSHA256: sum, ChecksumMode: "COMPOSITE"}, ""},
		{minio.ObjectInfo{ChecksumSHA256: sum + "-3"}, ""},
		{minio.ObjectInfo{ChecksumSHA256: "bm90IGEgc2hhMjU2"}, ""},
		{minio.ObjectInfo{}, ""},
	}
	for _, c := range cases {
		if got := fullObjectSHA256(c.info); got != c.want {
			t.Errorf("%+v: %q, want %q", c.info.ChecksumSHA256, got, c.want)
		}
	}
}
