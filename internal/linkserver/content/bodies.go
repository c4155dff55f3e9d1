package content

import (
	"bytes"
	"context"
	"io"
	"time"

	"golang.org/x/sync/singleflight"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// Body is what one answer sends: the bytes, their size, strong ETag and modification
// time, and what to call when the answer is done with them.
type Body struct {
	Content  io.ReadSeeker
	Size     int64
	ETag     string
	Modified time.Time
	Done     func()
}

// Bodies hands out file bodies: from the cache, or, on a miss, from one read of the API
// server shared by every request (and fetch ahead) waiting for the same version, bounded
// by a timeout, so a request that needs the API server while it is unreachable fails
// fast instead of hanging.
type Bodies struct {
	cache   *Cache
	source  client.Reader
	timeout time.Duration
	fetches singleflight.Group
}

// NewBodies reads bodies missing from cache through source (the API server), each read
// bounded by timeout.
func NewBodies(cache *Cache, source client.Reader, timeout time.Duration) *Bodies {
	return &Bodies{cache: cache, source: source, timeout: timeout}
}

// fetched is one read of a source, shared by every request that waited for it.
type fetched struct {
	key  Key
	data []byte
	etag string
}

// Cached returns the body under key, modified at modified, when the cache holds it.
func (b *Bodies) Cached(key Key, modified time.Time) (Body, bool) {
	bl, ok := b.cache.get(key)
	if !ok {
		return Body{}, false
	}
	content, done := bl.open()
	return Body{Content: content, Size: bl.size, ETag: bl.etag, Modified: modified, Done: done}, true
}

// Keep holds, as if fetched ahead, the body of file that someone else read from its
// source, the File reconciler of this process as it finds file Ready; sha256 is the hex
// digest of c.Data. A File whose body is not served from its source keeps nothing.
func (b *Bodies) Keep(file *filelinkv1.File, c filesource.Content, sha256 string) {
	if !servedFromSource(file) {
		return
	}
	entry := filesource.Of(file).Key
	b.cache.addAhead(Key{uid: string(c.UID), resourceVersion: c.ResourceVersion, entry: entry}, c.Data, `"`+sha256+`"`)
}

// Holds reports whether the cache holds the body under key.
func (b *Bodies) Holds(key Key) bool { return b.cache.has(key) }

// Get returns the body of ref's version key. The caller checked, from the metadata
// cache, that this version may be served; the read checks the label again on the
// object it reads. filesource's errors (source or key not found, not shareable) are
// returned as they are.
func (b *Bodies) Get(ctx context.Context, ref filesource.Ref, key Key, modified time.Time) (Body, error) {
	if body, ok := b.Cached(key, modified); ok {
		return body, nil
	}
	f, err := b.read(ctx, ref, key, b.cache.add)
	if err != nil {
		return Body{}, err
	}
	if body, ok := b.Cached(f.key, modified); ok {
		return body, nil
	}
	// Too large for the cache, or already evicted by other bodies: serve the bytes of
	// this read, which live only as long as the requests that share it.
	return Body{Content: bytes.NewReader(f.data), Size: int64(len(f.data)), ETag: f.etag, Modified: modified, Done: func() {}}, nil
}

// read fetches ref once for every caller waiting for key, and hands the bytes to keep,
// which decides whether the cache holds them.
func (b *Bodies) read(ctx context.Context, ref filesource.Ref, key Key, keep func(Key, []byte, string)) (*fetched, error) {
	v, err, _ := b.fetches.Do(key.String(), func() (any, error) {
		// Detached from this request, since others may be waiting on the same read, but
		// never longer than the read timeout.
		readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.timeout)
		defer cancel()
		c, err := filesource.Read(readCtx, b.source, ref)
		if err != nil {
			return nil, err
		}
		f := &fetched{key: Key{uid: string(c.UID), resourceVersion: c.ResourceVersion, entry: ref.Key}, data: c.Data, etag: etagOf(c.Data)}
		keep(f.key, f.data, f.etag)
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*fetched), nil
}
