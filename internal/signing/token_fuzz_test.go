package signing

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// FuzzTokenFromPath feeds arbitrary request paths through the parser and the verifier.
// Whatever the input, parsing must not panic, must pass on only well-formed tokens, and
// verification must accept exactly the token issued for the UID and nothing else.
func FuzzTokenFromPath(f *testing.F) {
	signer, err := NewSigner(bytes.Repeat([]byte{7}, MinKeyLength))
	if err != nil {
		f.Fatal(err)
	}
	const uid = types.UID("0b7e8d52-5f0c-4a43-9f2c-3c8f4f4c2e11")
	issued := signer.Token(uid)
	f.Add("/links/" + issued)
	f.Add("/links/" + issued[:len(issued)-1])
	f.Add("/links/" + issued + "/")
	f.Add("/links/")
	f.Add("/links//" + issued)
	f.Add("/" + issued)
	f.Add("/links/" + strings.Repeat("=", TokenLength))
	f.Fuzz(func(t *testing.T, path string) {
		token, ok := TokenFromPath(path)
		if !ok {
			return
		}
		if !WellFormed(token) || path != PathPrefix+token {
			t.Fatalf("TokenFromPath(%q) accepted %q", path, token)
		}
		if got, want := signer.Verify(token, uid), token == issued; got != want {
			t.Fatalf("Verify(%q) = %v, want %v", token, got, want)
		}
	})
}
