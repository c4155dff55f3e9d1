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

func (c *contentCache) get(k contentKey) (*blob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).blob, true
}

// add stores b under k, evicting the least recently used bodies to stay within the cap.
// A body larger than the whole cap is not stored; it is served, just not kept.
func (c *contentCache) add(k contentKey, b *blob) {
	n := b.size
	if n > c.maxBytes {
		b.release()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.order.MoveToFront(el)
		b.release()
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
		e.blob.release()
	}
}

// usage reports the bytes and bodies held, for tests and metrics.
func (c *contentCache) usage() (bytes int64, items int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size, len(c.entries)
}
