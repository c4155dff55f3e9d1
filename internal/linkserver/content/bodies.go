package linkserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/lastmodified"
)

// body is what one answer sends: the bytes, their strong ETag and modification time, and
// what to call when the answer is done with them.
type body struct {
	content  io.ReadSeeker
	etag     string
	modified time.Time
	done     func()
}

// fetched is one read of a source, shared by every request that waited for it.
type fetched struct {
	key  contentKey
	data []byte
	etag string
}

// bodyOf returns the File's bytes, only from a source labelled shareable. The source's
// current resourceVersion and label come from the metadata cache (a label change bumps
// the resourceVersion, so a cached body is never served past its label's removal); the bytes from the content cache, or, on a miss, from one API read
// shared by all requests waiting for it and bounded by sourceReadTimeout, so a request
// that needs the API server while it is unreachable fails fast instead of hanging.
func (s *Server) bodyOf(ctx context.Context, file *filelinkv1.File) (body, error) {
	ref, key, modified, err := s.sourceVersion(ctx, file)
	if err != nil {
		return body{}, err
	}
	if b, ok := s.content.get(key); ok {
		return cachedBody(b, modified), nil
	}
	v, err, _ := s.fetches.Do(key.uid+"/"+key.resourceVersion+"/"+key.entry, func() (any, error) {
		// Detached from this request, since others may be waiting on the same read, but
		// never longer than the read timeout.
		readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.sourceReadTimeout)
		defer cancel()
		c, err := filesource.Read(readCtx, s.source, ref)
		if err != nil {
			return nil, err
		}
		f := &fetched{key: contentKey{uid: string(c.UID), resourceVersion: c.ResourceVersion, entry: ref.Key}, data: c.Data, etag: etagOf(c.Data)}
		s.content.add(f.key, f.data, f.etag)
		return f, nil
	})
	switch {
	case errors.Is(err, filesource.ErrSourceNotFound), errors.Is(err, filesource.ErrKeyNotFound), errors.Is(err, filesource.ErrNotShareable):
		return body{}, errNotServable
	case err != nil:
		return body{}, err
	}
	f := v.(*fetched)
	if b, ok := s.content.get(f.key); ok {
		return cachedBody(b, modified), nil
	}
	// Too large for the cache, or already evicted by other bodies: serve the bytes of
	// this read, which live only as long as the requests that share it.
	return body{content: bytes.NewReader(f.data), etag: f.etag, modified: modified, done: func() {}}, nil
}

// sourceVersion names the version of file's source that may be served, and its
// modification time, from the metadata cache alone; errNotServable when the source is
// absent or not labelled shareable.
func (s *Server) sourceVersion(ctx context.Context, file *filelinkv1.File) (filesource.Ref, contentKey, time.Time, error) {
	ref := filesource.RefOf(file.Namespace, file.Spec.Source)
	meta, err := get(ctx, s.objects, ref.NamespacedName, ref.MetadataKind(), ref.Metadata)
	if err != nil {
		if apierrors.IsNotFound(err) {
			// Absent, or not labelled shareable: the cache holds labelled sources only,
			// and a label's removal leaves it at once, whatever the File's status says.
			return ref, contentKey{}, time.Time{}, errNotServable
		}
		return ref, contentKey{}, time.Time{}, err
	}
	if !filesource.Shareable(meta) {
		// The cache should hold no such object; a cache built without the label
		// selector must still never serve one.
		return ref, contentKey{}, time.Time{}, errNotServable
	}
	key := contentKey{uid: string(meta.UID), resourceVersion: meta.ResourceVersion, entry: ref.Key}
	return ref, key, lastmodified.Of(meta), nil
}

func cachedBody(b *blob, modified time.Time) body {
	content, done := b.open()
	return body{content: content, etag: b.etag, modified: modified, done: done}
}
