package signing

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

var (
	keyA = bytes.Repeat([]byte{'a'}, MinKeyLength)
	keyB = bytes.Repeat([]byte{'b'}, MinKeyLength)
)

const uid = types.UID("6f1c2b7e-0a0b-4c4d-9e9f-123456789abc")

func mustSigner(t *testing.T, active []byte, retired ...[]byte) *Signer {
	t.Helper()
	s, err := NewSigner(active, retired...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenIsDeterministicURLSafeAndLongEnough(t *testing.T) {
	s := mustSigner(t, keyA)
	tok := s.Token(uid)
	if tok != mustSigner(t, keyA).Token(uid) {
		t.Fatal("token differs between two signers with the same key")
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("token %q is not unpadded base64url: %v", tok, err)
	}
	if len(raw)*8 < 128 {
		t.Fatalf("token carries %d bits, want at least 128", len(raw)*8)
	}
	if strings.Contains(tok, string(uid)) {
		t.Fatal("token reveals the uid")
	}
}

func TestTokenDependsOnKeyAndUID(t *testing.T) {
	a, b := mustSigner(t, keyA), mustSigner(t, keyB)
	if a.Token(uid) == b.Token(uid) {
		t.Error("two keys issue the same token")
	}
	if a.Token(uid) == a.Token("other") {
		t.Error("two uids get the same token")
	}
}

func TestVerify(t *testing.T) {
	old := mustSigner(t, keyA)
	rotated := mustSigner(t, keyB, keyA)
	revoked := mustSigner(t, keyB)
	tok := old.Token(uid)
	cases := []struct {
		name   string
		signer *Signer
		token  string
		uid    types.UID
		want   bool
	}{
		{"issued token", old, tok, uid, true},
		{"retired key still verifies", rotated, tok, uid, true},
		{"new active key verifies", rotated, rotated.Token(uid), uid, true},
		{"removed key no longer verifies", revoked, tok, uid, false},
		{"other uid", old, tok, "other", false},
		{"empty token", old, "", uid, false},
		{"truncated token", old, tok[:len(tok)-1], uid, false},
		{"tampered token", old, flipLast(tok), uid, false},
		{"token with suffix", old, tok + "A", uid, false},
	}
	for _, c := range cases {
		if got := c.signer.Verify(c.token, c.uid); got != c.want {
			t.Errorf("%s: Verify = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTokensListsActiveFirst(t *testing.T) {
	s := mustSigner(t, keyB, keyA)
	toks := s.Tokens(uid)
	if len(toks) != 2 || toks[0] != s.Token(uid) || toks[1] != mustSigner(t, keyA).Token(uid) {
		t.Fatalf("Tokens = %v", toks)
	}
}

func TestShortKeysAreRefused(t *testing.T) {
	if _, err := NewSigner(keyA[:MinKeyLength-1]); err == nil {
		t.Error("short active key accepted")
	}
	if _, err := NewSigner(keyA, []byte("short")); err == nil {
		t.Error("short retired key accepted")
	}
}

func TestFromSecret(t *testing.T) {
	s, err := FromSecret(&corev1.Secret{Data: map[string][]byte{ActiveKeyEntry: keyB, "2026-01": keyA}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Verify(mustSigner(t, keyA).Token(uid), uid) || s.Token(uid) != mustSigner(t, keyB).Token(uid) {
		t.Fatal("secret's active and retired keys not used as such")
	}
	if _, err := FromSecret(&corev1.Secret{Data: map[string][]byte{"other": keyA}}); err == nil {
		t.Fatal("secret without an active key accepted")
	}
}

func flipLast(tok string) string {
	b := []byte(tok)
	if b[len(b)-1] == 'A' {
		b[len(b)-1] = 'B'
	} else {
		b[len(b)-1] = 'A'
	}
	return string(b)
}

func BenchmarkVerify(b *testing.B) {
	s := mustSigner(&testing.T{}, keyA)
	tok := s.Token(uid)
	for b.Loop() {
		if !s.Verify(tok, uid) {
			b.Fatal("verify failed")
		}
	}
}
