// Package stripeid derives Stripe-shaped object identifiers ("file_…", "link_…") from
// Kubernetes UIDs. The identifiers are a pure function of the UID, so they survive
// controller restarts and status loss without being stored anywhere else.
package stripeid

import (
	"crypto/sha256"
	"math/big"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// suffixLength is the number of base62 characters after the prefix, as in Stripe's
// own identifiers.
const suffixLength = 24

// File returns the "file_" identifier for the object with this UID.
func File(uid types.UID) string { return derive("file_", uid) }

// Link returns the "link_" identifier for the object with this UID.
func Link(uid types.UID) string { return derive("link_", uid) }

// derive hashes the prefix with the UID so that a File and a FileLink that happened to
// share a UID would still get unrelated suffixes.
func derive(prefix string, uid types.UID) string {
	sum := sha256.Sum256([]byte(prefix + string(uid)))
	// 256 bits are about 43 base62 digits; a leading-zero hash gives fewer, so pad.
	digits := new(big.Int).SetBytes(sum[:]).Text(62)
	if len(digits) < suffixLength {
		digits = strings.Repeat("0", suffixLength-len(digits)) + digits
	}
	return prefix + digits[:suffixLength]
}
