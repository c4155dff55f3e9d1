package signing

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Keys is where the reconciler and the link server get the Signer of the moment: the
// key Secret as every replica watches it (LiveKey), or one fixed key (Fixed).
type Keys interface {
	// Current is the Signer to issue and verify with now; nil while there is no usable
	// key, when nothing may be issued and nothing verifies.
	Current() *Signer
	// Notify calls f with the current Signer at once, then with each later one, in
	// order and never concurrently, so a holder of state derived from the keys (the
	// link server's token map) never misses a change. The subscription lasts until ctx
	// is done: no call begins after that, and nothing of it is kept, so a subscriber
	// that lives shorter than the keys (the reconcilers of one lease term) leaves
	// nothing behind. f must not call Notify.
	Notify(ctx context.Context, f func(*Signer))
}

// Fixed is a key set that never changes, for tests and benchmarks.
func Fixed(s *Signer) Keys { return fixed{s} }

type fixed struct{ s *Signer }

func (f fixed) Current() *Signer { return f.s }

// Notify calls fn once: the keys never change, so there is nothing to unsubscribe from.
func (f fixed) Notify(_ context.Context, fn func(*Signer)) { fn(f.s) }

// KeyID names the active key without revealing it (a MAC of a fixed message under the
// key), so logs show which key each replica uses and that they agree.
func (s *Signer) KeyID() string {
	h := hmac.New(sha256.New, s.keys[0])
	h.Write([]byte("filelink.dev/key-id"))
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// RetiredKeys is how many keys verify besides the active one.
func (s *Signer) RetiredKeys() int { return len(s.keys) - 1 }

// sameKeys reports whether a and b (either may be nil) issue and accept the same tokens,
// so that a Secret update that changes no key (a label, a resync) changes nothing.
func sameKeys(a, b *Signer) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.keys) != len(b.keys) {
		return false
	}
	for i := range a.keys {
		if !bytes.Equal(a.keys[i], b.keys[i]) {
			return false
		}
	}
	return true
}
