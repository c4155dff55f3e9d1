package linkserver

import (
	"fmt"
	"testing"
)

func body(n int) *blob { return &blob{size: int64(n)} }

func TestContentCacheStaysWithinItsCap(t *testing.T) {
	c := newContentCache(100)
	for i := range 10 {
		c.add(contentKey{uid: fmt.Sprint(i)}, body(30))
		if size, _ := c.usage(); size > 100 {
			t.Fatalf("after %d adds the cache holds %d bytes, cap 100", i+1, size)
		}
	}
	if size, items := c.usage(); size != 90 || items != 3 {
		t.Fatalf("cache holds %d bytes in %d items, want 90 in 3", size, items)
	}
	if _, ok := c.get(contentKey{uid: "0"}); ok {
		t.Error("oldest body still cached")
	}
	if _, ok := c.get(contentKey{uid: "9"}); !ok {
		t.Error("newest body evicted")
	}
}

func TestContentCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newContentCache(90)
	a, b, d := contentKey{uid: "a"}, contentKey{uid: "b"}, contentKey{uid: "d"}
	c.add(a, body(30))
	c.add(b, body(30))
	c.add(contentKey{uid: "c"}, body(30))
	c.get(a) // a is now more recent than b and c
	c.add(d, body(30))
	if _, ok := c.get(b); ok {
		t.Error("b, the least recently used, survived")
	}
	if _, ok := c.get(a); !ok {
		t.Error("a, recently used, was evicted")
	}
}

func TestContentCacheSkipsBodiesLargerThanTheCap(t *testing.T) {
	c := newContentCache(10)
	c.add(contentKey{uid: "big"}, body(11))
	if size, items := c.usage(); size != 0 || items != 0 {
		t.Fatalf("oversized body cached: %d bytes, %d items", size, items)
	}
}

func TestContentCacheKeysByVersion(t *testing.T) {
	c := newContentCache(100)
	c.add(contentKey{uid: "u", resourceVersion: "1", entry: "k"}, &blob{size: 3})
	if _, ok := c.get(contentKey{uid: "u", resourceVersion: "2", entry: "k"}); ok {
		t.Fatal("a new resourceVersion hit the old body")
	}
	c.add(contentKey{uid: "u", resourceVersion: "1", entry: "k"}, &blob{size: 3})
	if size, items := c.usage(); size != 3 || items != 1 {
		t.Fatalf("re-adding a key double-counted: %d bytes, %d items", size, items)
	}
}
