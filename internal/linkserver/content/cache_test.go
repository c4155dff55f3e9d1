package content

import (
	"fmt"
	"io"
	"testing"
)

func bytesOf(n int) []byte { return make([]byte, n) }

func TestContentCacheStaysWithinItsCap(t *testing.T) {
	c := NewCache(100)
	for i := range 10 {
		c.add(Key{uid: fmt.Sprint(i)}, bytesOf(30), "")
		if size, _ := c.usage(); size > 100 {
			t.Fatalf("after %d adds the cache holds %d bytes, cap 100", i+1, size)
		}
	}
	if size, items := c.usage(); size != 90 || items != 3 {
		t.Fatalf("cache holds %d bytes in %d items, want 90 in 3", size, items)
	}
	if _, ok := c.get(Key{uid: "0"}); ok {
		t.Error("oldest body still cached")
	}
	if _, ok := c.get(Key{uid: "9"}); !ok {
		t.Error("newest body evicted")
	}
}

func TestContentCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := NewCache(90)
	a, b, d := Key{uid: "a"}, Key{uid: "b"}, Key{uid: "d"}
	c.add(a, bytesOf(30), "")
	c.add(b, bytesOf(30), "")
	c.add(Key{uid: "c"}, bytesOf(30), "")
	c.get(a) // a is now more recent than b and c
	c.add(d, bytesOf(30), "")
	if _, ok := c.get(b); ok {
		t.Error("b, the least recently used, survived")
	}
	if _, ok := c.get(a); !ok {
		t.Error("a, recently used, was evicted")
	}
}

func TestContentCacheSkipsBodiesLargerThanTheCap(t *testing.T) {
	c := NewCache(10)
	c.add(Key{uid: "big"}, bytesOf(11), "")
	if size, items := c.usage(); size != 0 || items != 0 {
		t.Fatalf("oversized body cached: %d bytes, %d items", size, items)
	}
}

func TestContentCacheKeysByVersion(t *testing.T) {
	c := NewCache(100)
	c.add(Key{uid: "u", resourceVersion: "1", entry: "k"}, bytesOf(3), "")
	if _, ok := c.get(Key{uid: "u", resourceVersion: "2", entry: "k"}); ok {
		t.Fatal("a new resourceVersion hit the old body")
	}
	c.add(Key{uid: "u", resourceVersion: "1", entry: "k"}, bytesOf(3), "")
	if size, items := c.usage(); size != 3 || items != 1 {
		t.Fatalf("re-adding a key double-counted: %d bytes, %d items", size, items)
	}
}

func TestBlobReadersAreIndependent(t *testing.T) {
	b := newBlob([]byte("0123456789"), "")
	b.retain()
	r1, done1 := b.open()
	b.retain()
	r2, done2 := b.open()
	buf := make([]byte, 3)
	if _, err := r1.Read(buf); err != nil || string(buf) != "012" {
		t.Fatalf("first reader read %q, %v", buf, err)
	}
	if _, err := r2.Read(buf); err != nil || string(buf) != "012" {
		t.Fatalf("second reader shares the first's offset: read %q, %v", buf, err)
	}
	done1()
	done2()
}

// TestAnEvictedBodyFinishesItsDownloads evicts a body while a download holds it: the
// download reads on to the end, and only its end frees the memory file.
func TestAnEvictedBodyFinishesItsDownloads(t *testing.T) {
	c := NewCache(10)
	k := Key{uid: "a"}
	c.add(k, []byte("0123456789"), "")
	b, ok := c.get(k)
	if !ok {
		t.Fatal("body not cached")
	}
	r, done := b.open()
	c.add(Key{uid: "b"}, bytesOf(10), "") // evicts a
	if _, ok := c.get(k); ok {
		t.Fatal("a survived")
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "0123456789" {
		t.Fatalf("download of an evicted body read %q, %v", got, err)
	}
	done()
	if b.file != nil {
		if _, err := b.file.Stat(); err == nil {
			t.Error("the memory file outlived its last reference")
		}
	}
}

// TestBodiesFetchedAheadEvictNoBodyADownloadRead: a body fetched ahead takes free room,
// the room of older versions of its own entry and of bodies fetched ahead and never read
// (least recent first), and nothing else: a body a download read is known to be wanted.
func TestBodiesFetchedAheadEvictNoBodyADownloadRead(t *testing.T) {
	c := NewCache(90)
	read, cold1, cold2 := Key{uid: "read"}, Key{uid: "cold1"}, Key{uid: "cold2"}
	c.add(read, bytesOf(30), "")
	if b, ok := c.get(read); ok {
		b.drop()
	}
	if !c.addAhead(cold1, bytesOf(30), "") || !c.addAhead(cold2, bytesOf(30), "") {
		t.Fatal("bodies fetched ahead were refused free room")
	}
	if !c.addAhead(Key{uid: "cold3"}, bytesOf(30), "") {
		t.Fatal("a body fetched ahead was refused the room of one never read")
	}
	if c.has(cold1) || !c.has(cold2) || !c.has(read) {
		t.Fatalf("held: read %v, cold1 %v, cold2 %v; want the read body and the more recent cold one", c.has(read), c.has(cold1), c.has(cold2))
	}
	if c.addAhead(Key{uid: "big"}, bytesOf(70), "") {
		t.Fatal("a body fetched ahead evicted a body a download read")
	}
	if !c.has(read) || !c.has(cold2) {
		t.Fatal("a refused body fetched ahead evicted others all the same")
	}

	v1, v2 := Key{uid: "src", resourceVersion: "1", entry: "e"}, Key{uid: "src", resourceVersion: "2", entry: "e"}
	c = NewCache(50)
	c.add(v1, bytesOf(30), "")
	if b, ok := c.get(v1); ok {
		b.drop()
	}
	if !c.addAhead(v2, bytesOf(30), "") || c.has(v1) {
		t.Fatalf("the new version of an entry held %v, the old one %v; want the new one in its place", c.has(v2), c.has(v1))
	}
}
