package netguard_test

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

func networks(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	n, err := netguard.ParseNetworks(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPolicy(t *testing.T) {
	builtin := &netguard.Policy{}
	devLoopback := netguard.New(networks(t, "127.0.0.0/8,::1"), nil)
	// An operator exempting a private range but carving the Service range out of it,
	// and exempting the metadata address outright (deny still wins inside it).
	carved := netguard.New(networks(t, "10.0.0.0/8,169.254.169.254"), networks(t, "10.96.0.0/12,192.0.2.0/24,::ffff:198.51.100.0/120"))
	for _, tc := range []struct {
		policy  *netguard.Policy
		addr    string
		allowed bool
	}{
		// The built-in denials, each class in IPv4, IPv6 and IPv4-mapped form.
		{builtin, "127.0.0.1", false},
		{builtin, "127.255.0.9", false},
		{builtin, "::1", false},
		{builtin, "::ffff:127.0.0.1", false},
		{builtin, "169.254.169.254", false},
		{builtin, "::ffff:169.254.169.254", false},
		{builtin, "169.254.0.1", false},
		{builtin, "fe80::1", false},
		{builtin, "fe80::1%eth0", false},
		{builtin, "febf::1", false},
		{builtin, "fd00:ec2::254", false},
		{builtin, "0.0.0.0", false},
		{builtin, "::", false},
		{builtin, "::ffff:0.0.0.0", false},
		{builtin, "224.0.0.1", false},
		{builtin, "239.255.255.250", false},
		{builtin, "ff02::1", false},
		{builtin, "ff0e::1", false},
		{builtin, "255.255.255.255", false},
		{builtin, "::ffff:255.255.255.255", false},
		{builtin, "64:ff9b::a9fe:a9fe", false}, // 169.254.169.254 through NAT64
		// Public and private addresses stay reachable: stores live there.
		{builtin, "52.216.0.1", true},
		{builtin, "::ffff:52.216.0.1", true},
		{builtin, "2600:1f18::1", true},
		{builtin, "10.0.0.5", true},
		{builtin, "172.16.3.4", true},
		{builtin, "192.168.1.10", true},
		{builtin, "fd00::1", true}, // unique-local other than the metadata address
		{builtin, "fec0::1", true},
		{builtin, "64:ff9b::808:808", true},
		// --allow-store-networks exempts from the built-in denials.
		{devLoopback, "127.0.0.1", true},
		{devLoopback, "127.0.0.2", true},
		{devLoopback, "::ffff:127.0.0.1", true},
		{devLoopback, "::1", true},
		{devLoopback, "169.254.169.254", false},
		{devLoopback, "0.0.0.0", false},
		// --deny-store-networks adds networks and beats an allow.
		{carved, "10.1.2.3", true},
		{carved, "10.96.0.10", false},
		{carved, "::ffff:10.96.0.10", false},
		{carved, "192.0.2.7", false},
		{carved, "198.51.100.7", false}, // denied as an IPv4-mapped network
		{carved, "169.254.169.254", true},
		{carved, "169.254.169.253", false},
		{carved, "8.8.8.8", true},
	} {
		err := tc.policy.Check(netip.MustParseAddr(tc.addr))
		switch {
		case tc.allowed && err != nil:
			t.Errorf("%s under %s refused: %v", tc.addr, tc.policy, err)
		case !tc.allowed && !errors.Is(err, netguard.ErrAddressNotAllowed):
			t.Errorf("%s under %s: %v, want ErrAddressNotAllowed", tc.addr, tc.policy, err)
		}
	}
	var none *netguard.Policy
	if err := none.Check(netip.MustParseAddr("169.254.169.254")); !errors.Is(err, netguard.ErrAddressNotAllowed) {
		t.Errorf("a nil policy allowed the metadata address: %v", err)
	}
}

func TestParseNetworks(t *testing.T) {
	got := networks(t, " 10.1.2.3/8 ,::1, ::ffff:192.0.2.0/120,,192.0.2.9")
	want := []string{"10.0.0.0/8", "::1/128", "192.0.2.0/24", "192.0.2.9/32"}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("network %d: %s, want %s", i, got[i], want[i])
		}
	}
	if n := networks(t, ""); len(n) != 0 {
		t.Errorf("empty flag: %v", n)
	}
	for _, s := range []string{"10.0.0.0/33", "localhost", "10.0.0.0/8;10.1.0.0/16", "fe80::1%eth0", "10.0.0.0/8,x"} {
		if _, err := netguard.ParseNetworks(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// The check is on the address the dialer connects to after resolving, so a host name
// is judged by what it resolves to: "localhost" is loopback, whatever its text says.
func TestDialJudgesTheResolvedAddress(t *testing.T) {
	port, accepted := framework.CountingListener(t)
	for _, address := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::ffff:127.0.0.1]:" + port} {
		c, err := netguard.Default().DialContext(t.Context(), "tcp", address)
		if !errors.Is(err, netguard.ErrAddressNotAllowed) {
			if c != nil {
				_ = c.Close()
			}
			t.Errorf("dial %s: %v, want ErrAddressNotAllowed", address, err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("%d connections reached the loopback listener through the policy", n)
	}

	// A resolver that maps a name to a denied address, as a hostile DNS zone would.
	// Its own lookups go to a fake server: the resolver's Dial, not the policy, carries
	// them.
	hostile := netguard.Default().Dialer()
	hostile.Resolver = &net.Resolver{PreferGo: true, Dial: fakeDNS(t, netip.MustParseAddr("127.0.0.1"))}
	if c, err := hostile.DialContext(t.Context(), "tcp", "bucket.store.example:"+port); !errors.Is(err, netguard.ErrAddressNotAllowed) {
		if c != nil {
			_ = c.Close()
		}
		t.Errorf("dial of a name resolving to loopback: %v, want ErrAddressNotAllowed", err)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("%d connections reached the loopback listener through a name", n)
	}

	// The same dials with loopback exempted connect: the listener counts.
	allowed := netguard.New(networks(t, "127.0.0.0/8,::1"), nil).Dialer()
	allowed.Resolver = hostile.Resolver
	for _, address := range []string{"127.0.0.1:" + port, "bucket.store.example:" + port} {
		c, err := allowed.DialContext(t.Context(), "tcp", address)
		if err != nil {
			t.Fatalf("dial %s with loopback allowed: %v", address, err)
		}
		_ = c.Close()
	}
}

func TestDefaultIsTheBuiltInPolicy(t *testing.T) {
	loopback := netip.MustParseAddr("127.0.0.1")
	if err := netguard.Default().Check(loopback); !errors.Is(err, netguard.ErrAddressNotAllowed) {
		t.Fatalf("default policy allowed loopback: %v", err)
	}
}
