package linkserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// blob is a cached file body with its strong ETag. On Linux the bytes live in an
// anonymous in-memory file (memfd), so each download can hand the kernel an *os.File and
// let sendfile copy the body to the socket instead of copying it through user space.
// Elsewhere, or if memfd is unavailable, the bytes stay in a slice.
type blob struct {
	size int64
	etag string // quoted hex SHA-256 of the bytes
	file *os.File
	data []byte
}

// newBlob computes the ETag once, when a body enters the cache.
func newBlob(data []byte) *blob {
	sum := sha256.Sum256(data)
	b := &blob{size: int64(len(data)), etag: `"` + hex.EncodeToString(sum[:]) + `"`}
	if f, err := memfile(data); err == nil {
		b.file = f
	} else {
		b.data = data
	}
	return b
}

// open returns a reader positioned at the start, with its own offset so concurrent
// downloads do not disturb each other, and a function to release it.
func (b *blob) open() (io.ReadSeeker, func(), error) {
	if b.file == nil {
		return bytes.NewReader(b.data), func() {}, nil
	}
	f, err := reopen(b.file)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// release frees the body once the cache has dropped it. Downloads still running hold
// their own descriptors and finish unharmed.
func (b *blob) release() {
	if b.file != nil {
		b.file.Close()
	}
}
