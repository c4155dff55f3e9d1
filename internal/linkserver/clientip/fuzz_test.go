package clientip

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// FuzzClient holds the client address to its contract for any X-Forwarded-For a client
// may send: it is the peer itself, or an address written in the header that only trusted
// hops stand between (so an untrusted peer's header is never believed, and no address
// comes from nowhere).
func FuzzClient(f *testing.F) {
	for _, seed := range []string{"", "198.51.100.7", "198.51.100.7, 10.0.0.2", "garbage, 10.0.0.2", " , ,", "::ffff:10.0.0.9,2001:db8::1", "fe80::1%eth0"} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	proxies, err := Parse("10.0.0.0/8,127.0.0.1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string, trustedPeer bool) {
		peer := netip.MustParseAddr("203.0.113.5")
		if trustedPeer {
			peer = netip.MustParseAddr("10.1.2.3")
		}
		got := proxies.Client(peer, header)
		if got == peer {
			return
		}
		if !trustedPeer {
			t.Fatalf("an untrusted peer's header was believed: %v from %q", got, header)
		}
		for _, hop := range slices.Backward(strings.Split(header, ",")) {
			hop = strings.TrimSpace(hop)
			if hop == "" {
				continue
			}
			a, err := netip.ParseAddr(hop)
			if err != nil || a.Zone() != "" {
				t.Fatalf("%v returned past an entry %q that is no address", got, hop)
			}
			if a.Unmap() == got {
				return
			}
			if !proxies.Trusts(a) {
				t.Fatalf("%v returned past the untrusted hop %v", got, a)
			}
		}
		t.Fatalf("%v is in neither the peer nor the header %q", got, header)
	})
}
