package decision

import (
	"bytes"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

func testSigner(t testing.TB, active byte, retired ...byte) *signing.Signer {
	t.Helper()
	var old [][]byte
	for _, b := range retired {
		old = append(old, bytes.Repeat([]byte{b}, signing.MinKeyLength))
	}
	s, err := signing.NewSigner(bytes.Repeat([]byte{active}, signing.MinKeyLength), old...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLink(name string, uid types.UID, rv string) *filelinkv1.FileLink {
	return &filelinkv1.FileLink{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid, ResourceVersion: rv}}
}

// finds reports which version of which link token leads to, as name@resourceVersion,
// counting only a link the returned Signer verifies, as the server does.
func finds(m *tokenMap, token string) string {
	l, s := m.lookup(token)
	if l == nil || s == nil || !s.Verify(token, l.UID) {
		return ""
	}
	return l.Name + "@" + l.ResourceVersion
}

func TestTokenMapFollowsLinksAndKeys(t *testing.T) {
	a, b, c := testSigner(t, 'a'), testSigner(t, 'b'), testSigner(t, 'c')
	m := newTokenMap()
	h := m.handler()
	m.rekey(a)

	h.OnAdd(testLink("one", "uid-1", "1"), false)
	h.OnAdd(testLink("two", "uid-2", "1"), false)
	steps := []struct {
		name  string
		do    func()
		token string
		want  string
	}{
		{"added link by its token", func() {}, a.Token("uid-1"), "one@1"},
		{"another key's token", func() {}, b.Token("uid-1"), ""},
		{"update replaces the version", func() { h.OnUpdate(testLink("one", "uid-1", "1"), testLink("one", "uid-1", "2")) }, a.Token("uid-1"), "one@2"},
		{"rotation: new key's token", func() { m.rekey(testSigner(t, 'b', 'a')) }, b.Token("uid-1"), "one@2"},
		{"rotation: retired key's token still found", func() {}, a.Token("uid-1"), "one@2"},
		{"added after rotation: retired key's token", func() { h.OnAdd(testLink("three", "uid-3", "1"), false) }, a.Token("uid-3"), "three@1"},
		{"revocation: retired key's token gone", func() { m.rekey(b) }, a.Token("uid-1"), ""},
		{"revocation: active key's token stays", func() {}, b.Token("uid-2"), "two@1"},
		{"same name, new UID (relist): old UID's token gone", func() { h.OnUpdate(testLink("two", "uid-2", "1"), testLink("two", "uid-4", "5")) }, b.Token("uid-2"), ""},
		{"same name, new UID (relist): new UID's token", func() {}, b.Token("uid-4"), "two@5"},
		{"delete", func() { h.OnDelete(testLink("one", "uid-1", "2")) }, b.Token("uid-1"), ""},
		{"delete of a tombstone", func() {
			h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/three", Obj: testLink("three", "uid-3", "1")})
		}, b.Token("uid-3"), ""},
		{"no usable key: nothing found", func() { m.rekey(nil) }, b.Token("uid-4"), ""},
		{"added while there is no key", func() { h.OnAdd(testLink("five", "uid-5", "1"), false) }, b.Token("uid-5"), ""},
		{"key back: links added meanwhile found", func() { m.rekey(c) }, c.Token("uid-5"), "five@1"},
		{"key back: earlier links found", func() {}, c.Token("uid-4"), "two@5"},
	}
	for _, s := range steps {
		s.do()
		if got := finds(m, s.token); got != s.want {
			t.Errorf("%s: found %q, want %q", s.name, got, s.want)
		}
	}
	if n := len(m.byToken); n != 2 {
		t.Errorf("%d tokens mapped, want 2 (two links, one key)", n)
	}
}

// Requests read while events and key changes write; run with -race.
func TestTokenMapReadsDuringWrites(t *testing.T) {
	a, b := testSigner(t, 'a'), testSigner(t, 'b', 'a')
	m := newTokenMap()
	m.rekey(a)
	h := m.handler()
	h.OnAdd(testLink("stable", "uid-stable", "1"), false)
	stable := a.Token("uid-stable")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			uid := types.UID("uid-" + string(rune('a'+i%26)))
			h.OnAdd(testLink("x", uid, "1"), false)
			h.OnDelete(testLink("x", uid, "1"))
			if i%50 == 0 {
				m.rekey([]*signing.Signer{a, b}[i/50%2])
			}
		}
	})
	for range 20000 {
		if finds(m, stable) != "stable@1" {
			t.Fatal("a link present throughout was not found during a write")
		}
	}
	close(stop)
	wg.Wait()
}
