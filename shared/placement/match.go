package placement

import (
	"net/netip"
	"strings"
)

// VXLANPort is the UDP port EC2 sends mirrored packets to, VXLAN's.
const VXLANPort = 4789

// sgProtocolAdmitsUDP reports whether a security-group rule's IpProtocol
// covers UDP. EC2 prints it as a name or a number and "-1" for all, so it is
// compared as a string: parsing "-1" as a number was how a script missed it.
func sgProtocolAdmitsUDP(p string) bool {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "-1", "udp", "17":
		return true
	}
	return false
}

// admitsVXLAN reports whether a rule's or entry's protocol and port range
// cover UDP 4789. Security-group IpProtocol is a name or number and NACL
// Protocol a number, so "udp" and "17" both count. Protocol "-1" is all
// traffic on all ports, whatever port range is attached, as EC2 documents
// for IpPermission.
func admitsVXLAN(protocol string, from, to *int32) bool {
	p := strings.ToLower(strings.TrimSpace(protocol))
	if p == "-1" {
		return true
	}
	return sgProtocolAdmitsUDP(p) && portsContain(from, to, VXLANPort)
}

// portsContain reports whether [from, to] contains port, inclusive of both
// ends (a script once dropped ToPort). An absent bound, or -1 (EC2's "all"
// for protocol -1), leaves that side open, so protocol -1 with no ports
// means every port.
func portsContain(from, to *int32, port int32) bool {
	lo, hi := int32(0), int32(65535)
	if from != nil && *from != -1 {
		lo = *from
	}
	if to != nil && *to != -1 {
		hi = *to
	}
	return lo <= port && port <= hi
}

// cidrContains reports whether the IPv4 CIDR contains addr. A malformed or
// IPv6 CIDR contains nothing: it cannot admit an IPv4 source.
func cidrContains(cidr string, addr netip.Addr) bool {
	p, ok := parseIPv4Prefix(cidr)
	return ok && p.Contains(addr)
}

// parseIPv4Prefix parses an IPv4 CIDR; ok is false for IPv6 or malformed ones.
func parseIPv4Prefix(cidr string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, false
	}
	return p, true
}

// parseIPv4 parses a source or target address; ok is false for anything but
// a plain IPv4 address.
func parseIPv4(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}
