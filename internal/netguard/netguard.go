// Package netguard is the dial-time address policy for connections to object stores
// (SPEC §12). A FileStore's endpoint is written by whoever may create one, so the
// manager must not become their proxy to the cloud's instance metadata service, to its
// own ports, or to other internal services.
//
// The contract:
//
//   - The check is made on the address actually dialled, after name resolution:
//     Policy.Control runs as a net.Dialer's Control function, which the dialer calls
//     for every resolved address it tries, just before connecting. A host name that
//     resolves (or re-resolves) to a refused address is refused; a check of the
//     endpoint's text would be defeated by DNS.
//   - Refused by default: loopback, link-local (169.254.0.0/16, fe80::/10, with the
//     cloud metadata addresses 169.254.169.254 and fd00:ec2::254, which is unique-local
//     and named explicitly), unspecified, multicast and the IPv4 broadcast address.
//     IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the IPv4 address they
//     carry, and so are NAT64 addresses of the well-known prefix 64:ff9b::/96.
//   - Allow networks (--allow-store-networks) exempt addresses from those built-in
//     denials; deny networks (--deny-store-networks) add networks. An explicit deny
//     beats an explicit allow, so an exemption such as 10.0.0.0/8 can still carve out a
//     Service range inside it.
//   - A refusal wraps ErrAddressNotAllowed through every layer (net.OpError, url.Error,
//     the S3 client's errors), so errors.Is tells it from a store that did not answer:
//     nothing was sent, and only a change of the endpoint or of the policy helps.
//   - The policy judges the connection it is asked to make. A connection through an
//     HTTP proxy would be judged by the proxy's address, so store clients do not use
//     the proxy environment variables (objectstore).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrAddressNotAllowed is wrapped by every refusal of the policy.
var ErrAddressNotAllowed = errors.New("address not allowed for object stores")

// Policy decides which addresses a store connection may reach. The zero value (and a
// nil *Policy) refuses the built-in classes and exempts nothing. It is immutable and
// safe for concurrent use.
type Policy struct {
	allow, deny []netip.Prefix
}

// New returns the policy with allow exempt from the built-in denials and deny refused
// on top of them; deny beats allow.
func New(allow, deny []netip.Prefix) *Policy {
	return &Policy{allow: normalize(allow), deny: normalize(deny)}
}

var (
	// The cloud metadata address of AWS over IPv6 (Nitro): unique-local, so no class
	// of netip.Addr covers it.
	ec2MetadataV6 = netip.MustParseAddr("fd00:ec2::254")
	broadcast     = netip.MustParseAddr("255.255.255.255")
	// nat64 is the well-known NAT64 prefix (RFC 6052): a translator on the path turns
	// 64:ff9b::a9fe:a9fe into a connection to 169.254.169.254.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

// Check returns nil when a connection to addr is allowed, and otherwise an error
// wrapping ErrAddressNotAllowed that says why.
func (p *Policy) Check(addr netip.Addr) error {
	a := addr.WithZone("").Unmap()
	if p != nil {
		for _, n := range p.deny {
			if n.Contains(a) {
				return fmt.Errorf("%w: %s is in a denied network %s (--deny-store-networks)", ErrAddressNotAllowed, addr, n)
			}
		}
		for _, n := range p.allow {
			if n.Contains(a) {
				return nil
			}
		}
	}
	if class := builtin(a); class != "" {
		return fmt.Errorf("%w: %s is %s (exempt a network with --allow-store-networks)", ErrAddressNotAllowed, addr, class)
	}
	return nil
}

// builtin names the denied class a (already unmapped) belongs to, or "".
func builtin(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "no address"
	case a.IsLoopback():
		return "loopback"
	case a == ec2MetadataV6:
		return "the cloud metadata address"
	case a.IsLinkLocalUnicast():
		// 169.254.169.254 among them.
		return "link-local"
	case a.IsUnspecified():
		// Dialling 0.0.0.0 or :: reaches the host itself.
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	case a == broadcast:
		return "broadcast"
	case a.Is6() && nat64.Contains(a):
		b := a.As16()
		if class := builtin(netip.AddrFrom4([4]byte(b[12:]))); class != "" {
			return class + " behind the NAT64 prefix " + nat64.String()
		}
	}
	return ""
}

// Control is a net.Dialer Control function: it refuses address, the "ip:port" the
// dialer is about to connect to after resolving the host, unless the policy allows it.
func (p *Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// The dialer hands over resolved addresses only; anything else is not judged
		// and so not dialled.
		return fmt.Errorf("%w: %s %q is not an IP address and port", ErrAddressNotAllowed, network, address)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a net.Dialer with the timeouts of Go's default HTTP transport whose
// every connection is judged by the policy.
func (p *Policy) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.Control}
}

// DialContext dials address through Dialer: a transport's DialContext.
func (p *Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return p.Dialer().DialContext(ctx, network, address)
}

// String describes the exemptions and additions, for the manager's start-up log.
func (p *Policy) String() string {
	if p == nil {
		return "allow=[] deny=[]"
	}
	return fmt.Sprintf("allow=%v deny=%v", p.allow, p.deny)
}

// ParseNetworks parses a comma-separated list of CIDRs, as the manager's
// --allow-store-networks and --deny-store-networks take them. A bare address stands for
// itself alone (/32 or /128); an empty string is no network.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var n netip.Prefix
		var err error
		if strings.Contains(f, "/") {
			n, err = netip.ParsePrefix(f)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(f); err == nil {
				if a.Zone() != "" {
					return nil, fmt.Errorf("%q: an address with a zone names no network", f)
				}
				n = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR (such as 10.0.0.0/8 or fd00::/8) or an IP address", f)
		}
		out = append(out, n)
	}
	return normalize(out), nil
}

// normalize masks each network and turns IPv4-mapped ones into IPv4, as Check unmaps
// the addresses it judges.
func normalize(ns []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ns))
	for _, n := range ns {
		if n.Addr().Is4In6() && n.Bits() >= 96 {
			n = netip.PrefixFrom(n.Addr().Unmap(), n.Bits()-96)
		}
		out = append(out, n.Masked())
	}
	return out
}

// Default is the built-in denials alone: the policy of a store client that is given
// none. The manager gives the controllers and the link server its flags' policy.
func Default() *Policy { return &Policy{} }
