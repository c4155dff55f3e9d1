package content

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"sync"
)

// blob is a cached file body with its strong ETag. On Linux the bytes of a body of
// memfileMin bytes or more live in an anonymous in-memory file (memfd), so each download
// can hand the kernel an *os.File and let sendfile copy the body to the socket instead
// of copying it through user space. Smaller bodies, and all of them elsewhere or if
// memfd is unavailable, stay in a slice.
//
// A blob counts its references: one for the content cache while it holds the blob, one
// per download in progress. The memory file is closed only when the last one goes, so a
// body evicted in the middle of a download finishes unharmed, and a descriptor number is
// never reopened after it may have been reused for another file.
type blob struct {
	size int64
	// charge is the memory the body takes: its size in a slice, whole pages in a memory
	// file. The cache counts this against its cap.
	charge int64
	etag   string // quoted hex SHA-256 of the bytes
	file   *os.File
	data   []byte

	// Guarded by mu. readers are spare descriptors of file, each with its own offset, kept
	// so that a download does not pay for opening one.
	mu      sync.Mutex
	refs    int
	evicted bool
	readers []*os.File
}

// maxSpareReaders bounds the descriptors a blob keeps open between downloads: enough
// for a burst of concurrent downloads of one file, few enough for many cached files.
const maxSpareReaders = 8

// memfileMin is the smallest body kept in a memory file. A memory file takes whole
// pages (a 100-byte body costs 4 KiB, charged to the container though outside the
// process's RSS) and a descriptor; below a few pages sendfile saves little over one
// write from memory. At 10,000 small Files, memory files cost 40 MiB of pages the cache
// did not count and 10,000 descriptors.
const memfileMin = 16 << 10

var pageSize = int64(os.Getpagesize())

// chargeOf is the memory a body of n bytes would take as a blob, if a memory file holds
// it whenever it may.
func chargeOf(n int64) int64 {
	if n < memfileMin || !memfilesWork {
		return n
	}
	return (n + pageSize - 1) / pageSize * pageSize
}

// newBlob computes nothing again: etag is the one computed when the bytes were read. The
// blob starts with the one reference its creator (the cache) holds.
func newBlob(data []byte, etag string) *blob {
	b := &blob{size: int64(len(data)), charge: int64(len(data)), etag: etag, refs: 1}
	if b.size >= memfileMin {
		if f, err := memfile(data); err == nil {
			b.file, b.charge = f, chargeOf(b.size)
			return b
		}
	}
	b.data = data
	return b
}

// etagOf is the strong validator of a body: its quoted SHA-256.
func etagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// retain adds a reference. The caller must already hold one, or hold the cache's lock
// while the cache holds one; so a retained blob is never closed.
func (b *blob) retain() {
	b.mu.Lock()
	b.refs++
	b.mu.Unlock()
}

// open returns a reader positioned at the start, with its own offset so concurrent
// downloads do not disturb each other, and a function that gives back the reader and
// the reference the caller held.
func (b *blob) open() (io.ReadSeeker, func()) {
	if b.file == nil {
		return bytes.NewReader(b.data), b.drop
	}
	b.mu.Lock()
	var f *os.File
	if n := len(b.readers); n > 0 {
		f, b.readers = b.readers[n-1], b.readers[:n-1]
	}
	b.mu.Unlock()
	if f == nil {
		var err error
		if f, err = reopen(b.file); err != nil {
			// Out of descriptors, say: read through the one the blob holds, by offset,
			// without sendfile but without failing the download.
			return io.NewSectionReader(b.file, 0, b.size), b.drop
		}
	}
	return f, func() { b.putBack(f) }
}

// putBack keeps f for the next download, rewound by ServeContent's own Seek, unless
// enough are kept already or the body has left the cache, then drops the reference.
func (b *blob) putBack(f *os.File) {
	b.mu.Lock()
	if !b.evicted && len(b.readers) < maxSpareReaders {
		b.readers = append(b.readers, f)
		f = nil
	}
	b.mu.Unlock()
	if f != nil {
		f.Close()
	}
	b.drop()
}

// evict is the cache letting go of the blob: no spare descriptors are kept any more, and
// the cache's reference is dropped.
func (b *blob) evict() {
	b.mu.Lock()
	b.evicted = true
	spare := b.readers
	b.readers = nil
	b.mu.Unlock()
	for _, f := range spare {
		f.Close()
	}
	b.drop()
}

// drop releases one reference and frees the memory file with the last one.
func (b *blob) drop() {
	b.mu.Lock()
	b.refs--
	last := b.refs == 0
	b.mu.Unlock()
	if last && b.file != nil {
		b.file.Close()
	}
}
