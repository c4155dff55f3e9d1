// Package clientip decides which address a request came from (SPEC §13): the TCP peer's,
// unless the peer is a proxy the operator trusts (--trusted-proxies), whose
// X-Forwarded-For is then believed as far as it runs through trusted proxies. A header
// from anyone else is the client's own say-so and is ignored, so a client cannot write
// an address of its choice into the audit log.
package clientip

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/filelink-dev/filelink-operator/internal/netguard"
)

// Proxies are the networks whose forwarding headers are believed; none by default.
type Proxies []netip.Prefix

// Parse reads --trusted-proxies: comma-separated CIDRs or addresses.
func Parse(s string) (Proxies, error) {
	p, err := netguard.ParseNetworks(s)
	return Proxies(p), err
}

// Trusts reports whether a is inside a trusted network.
func (p Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Client is the address a request from peer, carrying the X-Forwarded-For field lines
// forwardedFor in order, came from. From a trusted peer the list is walked right to
// left, each hop appended by the one after it: the first address not trusted is the
// client. An entry that is not an address ends the walk, since nothing left of it can
// be believed; so does the list's end: the last trusted hop is then the client.
func (p Proxies) Client(peer netip.Addr, forwardedFor ...string) netip.Addr {
	client := peer.Unmap()
	if !p.Trusts(client) {
		return client
	}
	for _, list := range slices.Backward(forwardedFor) {
		for list != "" {
			var hop string
			if comma := strings.LastIndexByte(list, ','); comma >= 0 {
				list, hop = list[:comma], list[comma+1:]
			} else {
				list, hop = "", list
			}
			hop = strings.TrimSpace(hop)
			if hop == "" {
				// "a, , b": an empty element is no hop (RFC 9110's list syntax).
				continue
			}
			a, err := netip.ParseAddr(hop)
			if err != nil || a.Zone() != "" {
				return client
			}
			client = a.Unmap()
			if !p.Trusts(client) {
				return client
			}
		}
	}
	return client
}
