package content

import (
	"container/list"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Key identifies one version of one entry of a Secret or ConfigMap. A source's UID and
// resourceVersion change whenever its bytes can have, so an entry never needs
// invalidating: new versions get new keys and old ones age out.
type Key struct {
	uid, resourceVersion, entry string
}

// KeyOf is the key of entry in the version of a source that meta describes.
func KeyOf(meta metav1.Object, entry string) Key {
	return Key{uid: string(meta.GetUID()), resourceVersion: meta.GetResourceVersion(), entry: entry}
}

func (k Key) String() string { return k.uid + "/" + k.resourceVersion + "/" + k.entry }

// Cache is a least-recently-used cache of file bodies bounded by their total size, so
// the link server's memory stays under a fixed cap however many files are linked.
// Bodies larger than the cap are not kept at all: they are served from the read that
// fetched them, so the cap bounds memory and never decides whether a file is served.
type Cache struct {
	mu       sync.Mutex
	maxBytes int64
	size     int64
	order    *list.List // front is most recently used; values are *cacheEntry
	entries  map[Key]*list.Element
}

type cacheEntry struct {
	key  Key
	blob *blob
	// read is set once a download has taken the body: until then it was only fetched
	// ahead, and may make room for another body fetched ahead.
	read bool
}

// NewCache returns a cache of at most maxBytes of bodies.
func NewCache(maxBytes int64) *Cache {
	return &Cache{maxBytes: maxBytes, order: list.New(), entries: map[Key]*list.Element{}}
}

// fits tells whether a body of n bytes may be cached at all.
func (c *Cache) fits(n int64) bool { return n <= c.maxBytes }

// get returns the body under k with a reference taken for the caller, who must open it
// (or drop it). Taking the reference under the cache's lock means no eviction can free
// the body between the lookup and the download.
func (c *Cache) get(k Key) (*blob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	e := el.Value.(*cacheEntry)
	e.read = true
	e.blob.retain()
	return e.blob, true
}

// has reports whether k is held, without counting as a use.
func (c *Cache) has(k Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[k]
	return ok
}

// add stores a body a download read, evicting the least recently used bodies to stay
// within the cap. A body larger than the whole cap is not stored.
func (c *Cache) add(k Key, data []byte, etag string) {
	c.store(k, data, etag, false)
}

// addAhead stores a body fetched before any download asked for it. It takes free room,
// the room of bodies fetched ahead and never read since (least recent first), and that
// of older versions of the same entry, which no download will ask for again; it evicts
// no body a download has read, since that one is known to be wanted. It reports whether
// the body is held.
func (c *Cache) addAhead(k Key, data []byte, etag string) bool {
	return c.store(k, data, etag, true)
}

func (c *Cache) store(k Key, data []byte, etag string, ahead bool) bool {
	n := int64(len(data))
	if !c.fits(n) {
		return false
	}
	c.mu.Lock()
	_, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		return true
	}
	b := newBlob(data, etag) // outside the lock: copying the bytes takes a while
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.order.MoveToFront(el)
		b.evict()
		return true
	}
	if ahead {
		c.dropSuperseded(k)
		if !c.makeRoomAhead(n) {
			b.evict()
			return false
		}
	}
	c.entries[k] = c.order.PushFront(&cacheEntry{key: k, blob: b})
	c.size += n
	for c.size > c.maxBytes {
		c.remove(c.order.Back())
	}
	return true
}

// dropSuperseded removes the other versions of k's entry; the caller holds mu.
func (c *Cache) dropSuperseded(k Key) {
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*cacheEntry); e.key.uid == k.uid && e.key.entry == k.entry && e.key != k {
			c.remove(el)
		}
		el = next
	}
}

// makeRoomAhead evicts bodies fetched ahead and never read, least recent first, until n
// more bytes fit; the caller holds mu. It evicts nothing unless that makes enough room.
func (c *Cache) makeRoomAhead(n int64) bool {
	free := c.maxBytes - c.size
	var victims []*list.Element
	for el := c.order.Back(); el != nil && free < n; el = el.Prev() {
		if e := el.Value.(*cacheEntry); !e.read {
			victims = append(victims, el)
			free += e.blob.size
		}
	}
	if free < n {
		return false
	}
	for _, el := range victims {
		c.remove(el)
	}
	return true
}

// remove evicts the entry at el; the caller holds mu.
func (c *Cache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.order.Remove(el)
	delete(c.entries, e.key)
	c.size -= e.blob.size
	e.blob.evict()
}

// usage reports the bytes and bodies held, for tests and metrics.
func (c *Cache) usage() (bytes int64, items int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size, len(c.entries)
}
