package clientip

import (
	"net/netip"
	"testing"
)

func TestClient(t *testing.T) {
	proxies, err := Parse("10.0.0.0/8, 192.168.1.1, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no header, untrusted peer", "203.0.113.9", nil, "203.0.113.9"},
		{"spoofed header from an untrusted peer", "203.0.113.9", []string{"198.51.100.1"}, "203.0.113.9"},
		{"spoofed trusted address from an untrusted peer", "203.0.113.9", []string{"10.1.1.1"}, "203.0.113.9"},
		{"trusted peer without a header", "10.0.0.5", nil, "10.0.0.5"},
		{"trusted peer forwarding for a client", "10.0.0.5", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client's own spoofed entry left of the real one", "10.0.0.5", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"through two trusted proxies", "10.0.0.5", []string{"198.51.100.1, 192.168.1.1"}, "198.51.100.1"},
		{"over two field lines", "10.0.0.5", []string{"1.2.3.4, 198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"only trusted hops: the last one", "10.0.0.5", []string{"10.2.2.2, 10.3.3.3"}, "10.2.2.2"},
		{"garbage stops the walk at the last trusted hop", "10.0.0.5", []string{"198.51.100.1, unknown, 10.3.3.3"}, "10.3.3.3"},
		{"garbage right after the peer", "10.0.0.5", []string{"198.51.100.1, _hidden"}, "10.0.0.5"},
		{"an address with a port is not an address", "10.0.0.5", []string{"198.51.100.1:4000"}, "10.0.0.5"},
		{"empty elements are skipped", "10.0.0.5", []string{"198.51.100.1,, "}, "198.51.100.1"},
		{"IPv6 client through an IPv6 proxy", "fd00::1", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped peer is trusted as IPv4", "::ffff:10.0.0.5", []string{"198.51.100.1"}, "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := proxies.Client(netip.MustParseAddr(tc.peer), tc.xff...)
			if got.String() != tc.want {
				t.Errorf("client %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNoProxiesTrustNothing(t *testing.T) {
	var none Proxies
	peer := netip.MustParseAddr("127.0.0.1")
	if got := none.Client(peer, "198.51.100.1"); got != peer {
		t.Errorf("client %s without trusted proxies", got)
	}
}

func TestParseRefusesWhatIsNoNetwork(t *testing.T) {
	for _, s := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1/8/2"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
