// Package signing derives the unguessable token in every download URL from a FileLink's
// UID and a secret key, and verifies tokens presented to the link server.
//
// A token is the base64url HMAC-SHA256 of the UID under the key: 256 bits that reveal
// nothing about namespace, name or file, that any replica holding the key can recompute,
// and that stay the same across restarts and status loss. Replacing the key revokes every
// URL at once; keeping the old key as a retired key lets its URLs verify until it is
// removed.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// MinKeyLength is the shortest key accepted, in bytes: HMAC-SHA256's block of security.
const MinKeyLength = 32

// domain separates these MACs from any other use of the same key.
const domain = "filelink.dev/v1alpha1/FileLink\x00"

// Signer issues tokens with its active key and accepts tokens of every key it holds.
type Signer struct {
	// keys[0] is the active key; the rest are retired keys that still verify.
	keys [][]byte
}

// NewSigner returns a Signer issuing with active and also accepting retired keys.
func NewSigner(active []byte, retired ...[]byte) (*Signer, error) {
	keys := append([][]byte{active}, retired...)
	for i, k := range keys {
		if len(k) < MinKeyLength {
			return nil, fmt.Errorf("signing key %d is %d bytes; at least %d are required", i, len(k), MinKeyLength)
		}
	}
	return &Signer{keys: keys}, nil
}

// Token is the token issued for uid under the active key.
func (s *Signer) Token(uid types.UID) string {
	return mac(s.keys[0], uid)
}

// Tokens are the tokens that verify for uid: the active key's first, then each retired
// key's. The link server indexes links by all of them.
func (s *Signer) Tokens(uid types.UID) []string {
	out := make([]string, len(s.keys))
	for i, k := range s.keys {
		out[i] = mac(k, uid)
	}
	return out
}

// Verify reports, in time independent of where the token differs, whether token was
// issued for uid under any key this Signer holds.
func (s *Signer) Verify(token string, uid types.UID) bool {
	ok := 0
	for _, k := range s.keys {
		ok |= boolToInt(hmac.Equal([]byte(token), []byte(mac(k, uid))))
	}
	return ok == 1
}

func mac(key []byte, uid types.UID) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(domain))
	h.Write([]byte(uid))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TokenLength is the length of every token: 32 bytes of MAC in unpadded base64url.
const TokenLength = 43

// WellFormed reports whether s has the shape of a token. The link server rejects
// anything else before looking it up.
func WellFormed(s string) bool {
	if len(s) != TokenLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// PathPrefix is the path, under the link server's base URL, at which tokens are served.
const PathPrefix = "/links/"

// URL is the download URL for uid: base, then PathPrefix, then the active key's token.
func (s *Signer) URL(base string, uid types.UID) string {
	return strings.TrimSuffix(base, "/") + PathPrefix + s.Token(uid)
}

// TokenFromPath extracts the token from a request path, accepting only
// PathPrefix + a well-formed token, so nothing else reaches a lookup.
func TokenFromPath(path string) (string, bool) {
	token, ok := strings.CutPrefix(path, PathPrefix)
	return token, ok && WellFormed(token)
}
