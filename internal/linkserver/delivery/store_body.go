package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// objectReader is an object version as the io.ReadSeeker http.ServeContent wants, for
// any size: seeking costs nothing, and bytes are fetched by ranged GETs, pinned to the
// version, only as they are read. One GET carries one answer's single range or whole
// body; memory stays at the copy buffer's size.
type objectReader struct {
	// ctx is the request's, cancelled by Close: that ends any GET in flight from any
	// goroutine, which Close cannot otherwise reach without a race.
	ctx     context.Context
	stop    context.CancelFunc
	bucket  *objectstore.Bucket
	key     string
	version objectstore.Version
	size    int64
	// stale, when set, is called whenever the store says the version is gone or
	// changed, from whichever goroutine reads; it must be safe for concurrent use.
	stale func()

	off  int64
	body io.ReadCloser
	// end is one past the last byte the open body's GET asked for.
	end    int64
	cancel context.CancelFunc
}

func newObjectReader(ctx context.Context, b *objectstore.Bucket, key string, v objectstore.Version, size int64) *objectReader {
	ctx, stop := context.WithCancel(ctx)
	return &objectReader{ctx: ctx, stop: stop, bucket: b, key: key, version: v, size: size}
}

// Seek moves without a request; a body open at another offset is given up.
func (o *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.size
	default:
		return 0, errors.New("objectReader.Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("objectReader.Seek: negative position")
	}
	if offset != o.off {
		o.closeBody()
	}
	o.off = offset
	return offset, nil
}

// open starts a GET of [o.off, last], and tells stale when the store says the version is
// no longer there.
func (o *objectReader) open(last int64) error {
	err := o.get(last)
	o.noticeStale(err)
	return err
}

// get starts a GET of [o.off, last]. The object store's first answer must come within
// storeOpenTimeout; the body then flows at the downloader's pace.
func (o *objectReader) get(last int64) error {
	o.closeBody()
	ctx, cancel := context.WithCancel(o.ctx)
	timer := time.AfterFunc(storeOpenTimeout, cancel)
	var rng *objectstore.Range
	if o.off != 0 || last != o.size-1 {
		rng = &objectstore.Range{Start: o.off, End: last}
	}
	body, info, err := o.bucket.Open(ctx, o.key, o.version, rng)
	if !timer.Stop() && err == nil {
		body.Close()
		err = fmt.Errorf("get %s: %w: no answer within %s", o.key, objectstore.ErrUnreachable, storeOpenTimeout)
	}
	if err != nil {
		cancel()
		return err
	}
	if want := last - o.off + 1; info.Size != want {
		// A store that ignored the Range, or an object of another length: either way
		// not the bytes the File's status describes.
		body.Close()
		cancel()
		return fmt.Errorf("get %s: %w: %d bytes where %d were asked for", o.key, objectstore.ErrObjectChanged, info.Size, want)
	}
	o.body, o.end, o.cancel = body, last+1, cancel
	return nil
}

func (o *objectReader) Read(p []byte) (int, error) {
	for {
		if o.off >= o.size {
			return 0, io.EOF
		}
		if o.body == nil {
			// Only the parts of a multi-range answer get here: they are fetched one at
			// a time, each from its start to the object's end, given up at the next Seek.
			if err := o.open(o.size - 1); err != nil {
				return 0, err
			}
		}
		if left := o.end - o.off; int64(len(p)) > left {
			p = p[:left]
		}
		n, err := o.body.Read(p)
		o.off += int64(n)
		if o.off == o.end {
			o.closeBody()
			err = nil
		} else if errors.Is(err, io.EOF) {
			o.closeBody()
			err = fmt.Errorf("get %s: %w: body ended at %d of %d", o.key, objectstore.ErrObjectChanged, o.off, o.end)
			o.noticeStale(err)
			return n, err
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (o *objectReader) noticeStale(err error) {
	if o.stale != nil && staleVersion(err) {
		o.stale()
	}
}

func (o *objectReader) closeBody() {
	if o.body != nil {
		o.body.Close()
		o.cancel()
		o.body, o.cancel = nil, nil
	}
}

// Close ends any GET in flight. http.ServeContent reads the parts of a multipart answer
// in a goroutine of its own, which may still be reading when it returns, so Close only
// cancels: the transport then drops the connection and the reading goroutine fails.
func (o *objectReader) Close() error {
	o.stop()
	return nil
}

// proxied is a proxied body's answer: its object reader, and whether the request is a
// GET (HEAD sends no bytes) with its Range.
type proxied struct {
	content *objectReader
	get     bool
	ranges  string
	// multipart is set for a multipart 206, whose parts ServeContent reads from content
	// in a goroutine of its own, each opening as it is read.
	multipart bool
}

// open runs as http.ServeContent's status line is about to go out. A 200 or a
// single-range 206 of a GET commits to bytes, so the object store is asked for them now:
// an object that changed, or vanished, still gets a proper 503 or 404 instead of a 200
// cut short. Which bytes follows from the status and the Range ServeContent answered,
// by its own rules (singleRange), against the size the File's status records. The
// answers that need no bytes (HEAD, 304, 412, 416) never reach the object store.
func (p *proxied) open(code int) (string, *guard.Refusal) {
	if !p.get {
		return storeLocal, nil
	}
	var start, last int64
	switch size := p.content.size; code {
	case http.StatusOK:
		if size == 0 {
			return storeLocal, nil
		}
		start, last = 0, size-1
	case http.StatusPartialContent:
		var ok bool
		if start, last, ok = singleRange(p.ranges, size); !ok {
			p.multipart = true
			return storeFetched, nil
		}
		if last < start {
			return storeLocal, nil
		}
	default:
		return storeLocal, nil
	}
	if start != p.content.off {
		// ServeContent seeks to the range it sends before its status line: anywhere
		// else, reads open the bytes themselves.
		return storeFetched, nil
	}
	if err := p.content.open(last); err != nil {
		return storeOutcome(err), &guard.Refusal{Status: storeStatus(err), Err: err}
	}
	return storeFetched, nil
}
