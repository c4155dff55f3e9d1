package linkserver

import (
	"container/list"
	"sync"
)

// contentKey identifies one version of one entry of a Secret or ConfigMap. A source's
// UID and resourceVersion change whenever its bytes can have, so an entry never needs
// invalidating: new versions get new keys and old ones age out.
type contentKey struct {
	uid, resourceVersion, entry string
}

// contentCache is a least-recently-used cache of file bodies bounded by their total size,
// so the link server's memory stays under a fixed cap however many files are linked.
// Bodies larger than the cap are not kept at all: they are served from the read that
// fetched them, so the cap bounds memory and never decides whether a file is served.
type contentCache struct {
	mu       sync.Mutex
	maxBytes int64
	size     int64
	order    *list.List // front is most recently used; values are *cacheEntry
	entries  map[contentKey]*list.Element
}

type cacheEntry struct {
	key  contentKey
	blob *blob
}

func newContentCache(maxBytes int64) *contentCache {
	return &contentCache{maxBytes: maxBytes, order: list.New(), entries: map[contentKey]*list.Element{}}
}

// fits tells whether a body of n bytes may be cached at all.
func (c *contentCache) fits(n int64) bool { return n <= c.maxBytes }

// get returns the body under k with a reference taken for the caller, who must open it
// (or drop it). Taking the reference under the cache's lock means no eviction can free
// the body between the lookup and the download.
func (c *contentCache) get(k contentKey) (*blob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	b := el.Value.(*cacheEntry).blob
	b.retain()
	return b, true
}

// add stores a body under k, evicting the least recently used bodies to stay within the
// cap. The memory file is made only here, once a body is known to be kept. A body larger
// than the whole cap is not stored.
func (c *contentCache) add(k contentKey, data []byte, etag string) {
	n := int64(len(data))
	if !c.fits(n) {
		return
	}
	c.mu.Lock()
	_, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		return
	}
	b := newBlob(data, etag) // outside the lock: copying the bytes takes a while
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.order.MoveToFront(el)
		b.evict()
		return
	}
	c.entries[k] = c.order.PushFront(&cacheEntry{key: k, blob: b})
	c.size += n
	for c.size > c.maxBytes {
		oldest := c.order.Back()
		e := oldest.Value.(*cacheEntry)
		c.order.Remove(oldest)
		delete(c.entries, e.key)
		c.size -= e.blob.size
		e.blob.evict()
	}
}

// usage reports the bytes and bodies held, for tests and metrics.
func (c *contentCache) usage() (bytes int64, items int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size, len(c.entries)
}
