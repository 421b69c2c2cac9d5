package placement

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// FilterByNetworkACL keeps the sensors that network ACLs let VXLAN reach.
// When source and sensor are in different subnets, the packet leaves the
// source subnet (its ACL's egress entries must allow UDP 4789 to the sensor's
// address) and enters the sensor's subnet (its ACL's ingress entries must
// allow UDP 4789 from the source's address). In the same subnet no ACL is
// crossed and nothing is checked. acls are all the ACLs of the VPCs involved,
// defaults included: a subnet with no explicit association uses its VPC's
// default ACL. Load-balancer targets have no subnet of their own here and are
// kept with a note saying the check was not made.
func FilterByNetworkACL(src Source, sensors []Sensor, acls []ec2types.NetworkAcl) (kept []Sensor, rejected []Rejection) {
	idx := newACLIndex(acls)
	srcAddr, srcOK := parseIPv4(src.PrivateIP)
	for _, s := range sensors {
		if s.isLoadBalancer() {
			s = s.withNote(fmt.Sprintf(
				"network ACLs not checked: a %s target has no subnet of its own here; make sure the ACLs of its subnets allow UDP %d from %s",
				s.Type, VXLANPort, src.PrivateIP))
			kept = append(kept, s)
			continue
		}
		if s.SubnetID != "" && s.SubnetID == src.SubnetID {
			kept = append(kept, s)
			continue
		}
		dstAddr, dstOK := parseIPv4(s.PrivateIP)
		if !srcOK || !dstOK {
			rejected = append(rejected, Rejection{TargetID: s.TargetID, Reason: fmt.Sprintf(
				"cannot evaluate network ACLs between %s (%q) and %s (%q): both need a private IPv4 address",
				src.NetworkInterfaceID, src.PrivateIP, s.resourceName(), s.PrivateIP)})
			continue
		}
		var problems []string
		if p := idx.check(s.SubnetID, s.VPCID, false, srcAddr); p != "" {
			problems = append(problems, p)
		}
		if p := idx.check(src.SubnetID, src.VPCID, true, dstAddr); p != "" {
			problems = append(problems, p)
		}
		if len(problems) > 0 {
			rejected = append(rejected, Rejection{TargetID: s.TargetID, Reason: strings.Join(problems, "; ")})
			continue
		}
		kept = append(kept, s)
	}
	sortRejections(rejected)
	return kept, rejected
}

// aclIndex finds a subnet's ACL and holds each ACL's entries sorted by rule
// number. An ACL is compiled the first time a subnet needs it, once per
// call, so each sensor costs one walk of its entries and ACLs of subnets not
// involved cost nothing.
type aclIndex struct {
	bySubnet  map[string]*aclEntries
	defaultOf map[string]*aclEntries
}

type aclEntries struct {
	src             *ec2types.NetworkAcl
	id              string
	compiled        bool
	ingress, egress []aclEntry
}

// aclEntry is a NetworkAclEntry reduced to what decides VXLAN, its IPv4
// CIDR parsed once into a pointer-free network and mask: an entry that cannot
// match an IPv4 UDP 4789 packet whatever the address (IPv6, another protocol
// or port) is dropped up front.
type aclEntry struct {
	rule      int32
	order     int
	net, mask uint32
	allow     bool
}

func (e aclEntry) contains(addr uint32) bool { return addr&e.mask == e.net }

func ipv4Uint32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func newACLIndex(acls []ec2types.NetworkAcl) aclIndex {
	idx := aclIndex{bySubnet: make(map[string]*aclEntries), defaultOf: make(map[string]*aclEntries)}
	for i := range acls {
		a := &acls[i]
		e := &aclEntries{src: a, id: aws.ToString(a.NetworkAclId)}
		for _, as := range a.Associations {
			if sub := aws.ToString(as.SubnetId); sub != "" {
				idx.bySubnet[sub] = e
			}
		}
		if aws.ToBool(a.IsDefault) {
			idx.defaultOf[aws.ToString(a.VpcId)] = e
		}
	}
	return idx
}

func (e *aclEntries) compile() {
	if e.compiled {
		return
	}
	e.compiled = true
	for i, en := range e.src.Entries {
		ce, ok := compileACLEntry(en)
		if !ok {
			continue
		}
		ce.order = i
		if aws.ToBool(en.Egress) {
			e.egress = append(e.egress, ce)
		} else {
			e.ingress = append(e.ingress, ce)
		}
	}
	// EC2 evaluates entries lowest rule number first, whatever order
	// DescribeNetworkAcls lists them in. Rule numbers are unique per
	// direction; the listed order only keeps odd input deterministic.
	byRule := func(x, y aclEntry) int { return cmp.Or(cmp.Compare(x.rule, y.rule), cmp.Compare(x.order, y.order)) }
	slices.SortFunc(e.ingress, byRule)
	slices.SortFunc(e.egress, byRule)
}

// check evaluates the subnet's ACL for UDP 4789 to or from peer and returns
// "" when it allows the packet, else why not, naming the ACL, subnet,
// direction and deciding rule.
func (idx aclIndex) check(subnet, vpc string, egress bool, peer netip.Addr) string {
	dir, prep := "inbound", "from"
	if egress {
		dir, prep = "outbound", "to"
	}
	acl, ok := idx.bySubnet[subnet]
	if !ok && subnet != "" {
		acl, ok = idx.defaultOf[vpc]
	}
	if !ok {
		return fmt.Sprintf("no network ACL found for %s (%s): it has no association and no default ACL of %s was described",
			orUnknown(subnet, "subnet"), dir, orUnknown(vpc, "VPC"))
	}
	acl.compile()
	entries := acl.ingress
	if egress {
		entries = acl.egress
	}
	peer32 := ipv4Uint32(peer)
	for _, en := range entries {
		if !en.contains(peer32) {
			continue
		}
		if en.allow {
			return ""
		}
		return fmt.Sprintf("%s (%s %s): rule %d denies UDP %d %s %s", acl.id, subnet, dir, en.rule, VXLANPort, prep, peer)
	}
	return fmt.Sprintf("%s (%s %s): no rule matches UDP %d %s %s, so it is denied; add an allow rule", acl.id, subnet, dir, VXLANPort, prep, peer)
}

// compileACLEntry keeps an entry only if its protocol and ports cover
// UDP 4789 and its CidrBlock is a valid IPv4 prefix; any other entry can
// never be the first match for a VXLAN packet from an IPv4 address. An
// action other than allow denies, the safe reading of an unexpected value.
func compileACLEntry(en ec2types.NetworkAclEntry) (aclEntry, bool) {
	var from, to *int32
	if en.PortRange != nil {
		from, to = en.PortRange.From, en.PortRange.To
	}
	if !admitsVXLAN(aws.ToString(en.Protocol), from, to) {
		return aclEntry{}, false
	}
	p, ok := parseIPv4Prefix(aws.ToString(en.CidrBlock))
	if !ok {
		return aclEntry{}, false
	}
	mask := ^uint32(0) << (32 - p.Bits()) // a /0 shifts by 32, which Go defines as 0
	return aclEntry{
		rule:  aws.ToInt32(en.RuleNumber),
		net:   ipv4Uint32(p.Masked().Addr()),
		mask:  mask,
		allow: strings.EqualFold(string(en.RuleAction), string(ec2types.RuleActionAllow)),
	}, true
}

func orUnknown(id, what string) string {
	if id == "" {
		return "an unknown " + what
	}
	return id
}
