package linkserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sync"
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

	// readers are spare descriptors of file, each with its own offset, kept so that a
	// download does not pay for opening one. Guarded by mu with released.
	mu       sync.Mutex
	readers  []*os.File
	released bool
}

// maxSpareReaders bounds the descriptors a blob keeps open between downloads: enough
// for a burst of concurrent downloads of one file, few enough for many cached files.
const maxSpareReaders = 8

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
	b.mu.Lock()
	if b.released {
		b.mu.Unlock()
		return nil, nil, errReleased
	}
	var f *os.File
	if n := len(b.readers); n > 0 {
		f, b.readers = b.readers[n-1], b.readers[:n-1]
	}
	b.mu.Unlock()
	if f == nil {
		var err error
		if f, err = reopen(b.file); err != nil {
			return nil, nil, err
		}
	}
	return f, func() { b.putBack(f) }, nil
}

// putBack keeps f for the next download, rewound by ServeContent's own Seek, unless
// enough are kept already or the body has left the cache.
func (b *blob) putBack(f *os.File) {
	b.mu.Lock()
	if !b.released && len(b.readers) < maxSpareReaders {
		b.readers = append(b.readers, f)
		f = nil
	}
	b.mu.Unlock()
	if f != nil {
		f.Close()
	}
}

// release frees the body once the cache has dropped it. Downloads still running hold
// their own descriptors, finish unharmed, and close them on the way out.
func (b *blob) release() {
	if b.file == nil {
		return
	}
	b.mu.Lock()
	b.released = true
	spare := b.readers
	b.readers = nil
	b.mu.Unlock()
	for _, f := range spare {
		f.Close()
	}
	b.file.Close()
}

// errReleased: the body left the cache between lookup and open; the caller reads again.
var errReleased = errors.New("cached body released")
