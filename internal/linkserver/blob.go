package linkserver

import (
	"crypto/sha256"
	"encoding/hex"
)

// newBlob computes the strong ETag once, when a body enters the cache.
func newBlob(data []byte) *blob {
	sum := sha256.Sum256(data)
	return &blob{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`}
}
