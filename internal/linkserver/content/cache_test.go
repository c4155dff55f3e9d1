package content

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
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

// TestANewVersionReplacesTheOld: whichever way a body arrives, a download's read or a
// fetch ahead, the cache holds one version of an entry, and other entries of the same
// source are left alone.
func TestANewVersionReplacesTheOld(t *testing.T) {
	c := NewCache(100)
	v1, v2 := Key{uid: "u", resourceVersion: "1", entry: "k"}, Key{uid: "u", resourceVersion: "2", entry: "k"}
	other := Key{uid: "u", resourceVersion: "1", entry: "other"}
	c.add(v1, bytesOf(10), "")
	c.addAhead(other, bytesOf(5), "")
	c.add(v2, bytesOf(20), "")
	if c.has(v1) || !c.has(v2) || !c.has(other) {
		t.Fatalf("held v1 %v, v2 %v, other entry %v; want v2 and the other entry", c.has(v1), c.has(v2), c.has(other))
	}
	if size, items := c.usage(); size != 25 || items != 2 {
		t.Fatalf("cache holds %d bytes in %d items, want 25 in 2", size, items)
	}
}

// BenchmarkFillAhead fills an empty cache with n bodies fetched ahead, as a replica
// does at start: the cost per body must not grow with n (it did, scanning every held
// body for older versions on each store).
func BenchmarkFillAhead(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		keys := make([]Key, n)
		for i := range keys {
			keys[i] = Key{uid: fmt.Sprintf("uid-%06d", i), resourceVersion: "1", entry: "data"}
		}
		data := bytesOf(64)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				c := NewCache(1 << 30)
				for _, k := range keys {
					c.addAhead(k, data, "")
				}
				b.StopTimer()
				c.order.Init()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/body")
		})
	}
}

// TestTheCapCountsWholePagesOfMemoryFiles: a small body stays in the heap, costing its
// size; a large one goes to a memory file, costing whole pages, and the cap counts
// those, not the bytes, since a memory cgroup charges the pages.
func TestTheCapCountsWholePagesOfMemoryFiles(t *testing.T) {
	small := newBlob(bytesOf(100), "")
	defer small.drop()
	if small.file != nil || small.charge != 100 {
		t.Fatalf("a 100-byte body: memory file %v, charge %d; want the heap, 100", small.file != nil, small.charge)
	}
	if !memfilesWork {
		return
	}
	n := int64(memfileMin + 1)
	pages := (n + pageSize - 1) / pageSize * pageSize
	large := newBlob(bytesOf(int(n)), "")
	defer large.drop()
	if large.file == nil || large.charge != pages {
		t.Fatalf("a %d-byte body: memory file %v, charge %d; want a memory file, %d", n, large.file != nil, large.charge, pages)
	}
	c := NewCache(2*n + 1) // room for two by their bytes, for one by their pages
	for i := range 3 {
		c.add(Key{uid: fmt.Sprint(i)}, bytesOf(int(n)), "")
	}
	if size, items := c.usage(); items != 1 || size != pages {
		t.Fatalf("cache holds %d items charged %d bytes, want 1 charged %d", items, size, pages)
	}
}

// digits is a body of n bytes, large enough (memfileMin) to live in a memory file where
// there are memory files: "0123456789" over and over.
func digits(n int) []byte {
	return bytes.Repeat([]byte("0123456789"), n/10+1)[:n]
}

func TestBlobReadersAreIndependent(t *testing.T) {
	b := newBlob(digits(memfileMin), "")
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
	body := digits(memfileMin)
	c := NewCache(chargeOf(memfileMin))
	k := Key{uid: "a"}
	c.add(k, body, "")
	b, ok := c.get(k)
	if !ok {
		t.Fatal("body not cached")
	}
	r, done := b.open()
	c.add(Key{uid: "b"}, bytesOf(memfileMin), "") // evicts a
	if _, ok := c.get(k); ok {
		t.Fatal("a survived")
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("download of an evicted body read %d bytes, %v; want the %d it held", len(got), err, len(body))
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

// TestKeepHoldsOnlyBodiesServedFromTheirSource: the File reconciler hands over every
// body it reads for a Ready File; the link server keeps those it would serve, not a
// File's of a purpose no link may share, nor a File's being deleted.
func TestKeepHoldsOnlyBodiesServedFromTheirSource(t *testing.T) {
	file := func(purpose filelinkv1.Purpose, deleting bool) *filelinkv1.File {
		f := &filelinkv1.File{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "f"},
			Spec: filelinkv1.FileSpec{Purpose: purpose,
				Source: filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: "docs", Key: "evidence"}}},
		}
		if deleting {
			f.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
		}
		return f
	}
	for _, tc := range []struct {
		name string
		file *filelinkv1.File
		kept bool
	}{
		{"linkable", file(filelinkv1.PurposeDisputeEvidence, false), true},
		{"not linkable", file(filelinkv1.PurposeIdentityDocument, false), false},
		{"being deleted", file(filelinkv1.PurposeDisputeEvidence, true), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := NewCache(1 << 20)
			c := filesource.Content{Data: bytesOf(10), UID: "uid", ResourceVersion: "7"}
			NewBodies(cache, nil, time.Second).Keep(tc.file, c, "abc")
			if got := cache.has(Key{uid: "uid", resourceVersion: "7", entry: "evidence"}); got != tc.kept {
				t.Fatalf("kept %v, want %v", got, tc.kept)
			}
		})
	}
}
