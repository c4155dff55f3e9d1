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

func TestBlobReadersAreIndependentAndReleased(t *testing.T) {
	b := newBlob([]byte("0123456789"))
	r1, done1, err := b.open()
	if err != nil {
		t.Fatal(err)
	}
	r2, done2, err := b.open()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := r1.Read(buf); err != nil || string(buf) != "012" {
		t.Fatalf("first reader read %q, %v", buf, err)
	}
	if _, err := r2.Read(buf); err != nil || string(buf) != "012" {
		t.Fatalf("second reader shares the first's offset: read %q, %v", buf, err)
	}
	done1()
	done2()
	b.release()
	if _, _, err := b.open(); err == nil && b.file != nil {
		t.Fatal("a released body still opens")
	}
}
