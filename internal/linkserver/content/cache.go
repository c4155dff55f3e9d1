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

// entryID names an entry of a source across its versions.
type entryID struct{ uid, entry string }

func (k Key) id() entryID { return entryID{uid: k.uid, entry: k.entry} }

// Cache is a least-recently-used cache of file bodies bounded by the memory they take
// (blob.charge: whole pages for a memory file), so the link server's memory stays under
// a fixed cap however many files are linked.
// Bodies larger than the cap are not kept at all: they are served from the read that
// fetched them, so the cap bounds memory and never decides whether a file is served.
//
// It holds one version per entry of a source: a new version supersedes the old, which
// no download asks for again once the metadata informer has seen the new one. Keying
// the entries by entry rather than by version makes that replacement a map lookup; a
// scan for older versions on every store made filling the cache quadratic in the
// number of Files (1.2 s of CPU for 10,000 bodies, on every restart).
type Cache struct {
	mu       sync.Mutex
	maxBytes int64
	size     int64
	order    *list.List // front is most recently used; values are *cacheEntry
	entries  map[entryID]*list.Element
}

type cacheEntry struct {
	id              entryID
	resourceVersion string
	blob            *blob
	// read is set once a download has taken the body: until then it was only fetched
	// ahead, and may make room for another body fetched ahead.
	read bool
}

// NewCache returns a cache of at most maxBytes of bodies.
func NewCache(maxBytes int64) *Cache {
	return &Cache{maxBytes: maxBytes, order: list.New(), entries: map[entryID]*list.Element{}}
}

// lookup is the element holding exactly k; the caller holds mu.
func (c *Cache) lookup(k Key) (*list.Element, bool) {
	el, ok := c.entries[k.id()]
	if !ok || el.Value.(*cacheEntry).resourceVersion != k.resourceVersion {
		return nil, false
	}
	return el, true
}

// fits tells whether a body of n bytes may be cached at all.
func (c *Cache) fits(n int64) bool { return chargeOf(n) <= c.maxBytes }

// get returns the body under k with a reference taken for the caller, who must open it
// (or drop it). Taking the reference under the cache's lock means no eviction can free
// the body between the lookup and the download.
func (c *Cache) get(k Key) (*blob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.lookup(k)
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
	_, ok := c.lookup(k)
	return ok
}

// add stores a body a download read, in place of any other version of its entry,
// evicting the least recently used bodies to stay within the cap. A body larger than
// the whole cap is not stored.
func (c *Cache) add(k Key, data []byte, etag string) {
	c.store(k, data, etag, false)
}

// addAhead stores a body fetched before any download asked for it. It takes free room,
// the room of bodies fetched ahead and never read since (least recent first), and that
// of the other version of the same entry; it evicts
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
	_, ok := c.lookup(k)
	c.mu.Unlock()
	if ok {
		return true
	}
	b := newBlob(data, etag) // outside the lock: copying the bytes takes a while
	n = b.charge
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.lookup(k); ok {
		c.order.MoveToFront(el)
		b.evict()
		return true
	}
	if old, ok := c.entries[k.id()]; ok {
		c.remove(old) // superseded
	}
	if ahead && !c.makeRoomAhead(n) {
		b.evict()
		return false
	}
	c.entries[k.id()] = c.order.PushFront(&cacheEntry{id: k.id(), resourceVersion: k.resourceVersion, blob: b})
	c.size += n
	for c.size > c.maxBytes {
		c.remove(c.order.Back())
	}
	return true
}

// makeRoomAhead evicts bodies fetched ahead and never read, least recent first, until n
// more bytes fit; the caller holds mu. It evicts nothing unless that makes enough room.
func (c *Cache) makeRoomAhead(n int64) bool {
	free := c.maxBytes - c.size
	var victims []*list.Element
	for el := c.order.Back(); el != nil && free < n; el = el.Prev() {
		if e := el.Value.(*cacheEntry); !e.read {
			victims = append(victims, el)
			free += e.blob.charge
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
	delete(c.entries, e.id)
	c.size -= e.blob.charge
	e.blob.evict()
}

// usage reports the bytes and bodies held, for tests and metrics.
func (c *Cache) usage() (bytes int64, items int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size, len(c.entries)
}
