package placement

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// PrefixListsReferenced lists, sorted, the prefix-list ids named by inbound
// rules of the sensors' groups that could admit UDP 4789, so the caller
// fetches the entries of only those (GetManagedPrefixListEntries is one call
// per list) before FilterBySecurityGroup.
func PrefixListsReferenced(sensors []Sensor, groups []ec2types.SecurityGroup) []string {
	byID := groupsByID(groups)
	seen := make(map[string]bool)
	var out []string
	for _, s := range sensors {
		for _, gid := range s.SecurityGroupIDs {
			g, ok := byID[gid]
			if !ok || seen[gid] {
				continue
			}
			seen[gid] = true
			for _, r := range g.IpPermissions {
				if !sgRuleAdmitsVXLANPort(r) {
					continue
				}
				for _, pl := range r.PrefixListIds {
					if id := aws.ToString(pl.PrefixListId); id != "" {
						out = append(out, id)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// FilterBySecurityGroup keeps the sensors whose groups, taken together,
// admit inbound UDP 4789 from src: security groups are permissive and a
// packet is admitted when any rule of any group on the interface admits it.
// prefixLists maps a prefix-list id to its CIDRs. Load-balancer targets have
// no interface of their own and are kept with a note saying the check was
// not made.
func FilterBySecurityGroup(src Source, sensors []Sensor, groups []ec2types.SecurityGroup, prefixLists map[string][]string) (kept []Sensor, rejected []Rejection) {
	addr, addrOK := parseIPv4(src.PrivateIP)
	ev := sgEvaluator{
		groups:      groupsByID(groups),
		prefixLists: prefixLists,
		src:         src,
		addr:        addr,
		verdicts:    make(map[string]sgVerdict),
	}
	for _, s := range sensors {
		if s.isLoadBalancer() {
			s = s.withNote(fmt.Sprintf(
				"security groups not checked: a %s target has no network interface of its own; make sure the appliances behind it admit UDP %d from %s",
				s.Type, VXLANPort, src.PrivateIP))
			kept = append(kept, s)
			continue
		}
		if !addrOK {
			rejected = append(rejected, Rejection{TargetID: s.TargetID, Reason: fmt.Sprintf(
				"source %s has no valid private IPv4 address (%q), so no security group of %s can be shown to admit it",
				src.NetworkInterfaceID, src.PrivateIP, s.resourceName())})
			continue
		}
		if reason, ok := ev.admits(s); !ok {
			rejected = append(rejected, Rejection{TargetID: s.TargetID, Reason: reason})
			continue
		}
		kept = append(kept, s)
	}
	sortRejections(rejected)
	return kept, rejected
}

type sgVerdict struct {
	admits bool
	// unfetched are prefix lists that a UDP 4789 rule names but whose
	// entries were not passed in, so the rule could not be evaluated.
	unfetched []string
}

// sgEvaluator remembers each group's verdict for one source, since sensors
// usually share their groups and a group's rules do not depend on the sensor.
type sgEvaluator struct {
	groups      map[string]ec2types.SecurityGroup
	prefixLists map[string][]string
	src         Source
	addr        netip.Addr
	verdicts    map[string]sgVerdict
}

func (ev *sgEvaluator) admits(s Sensor) (reason string, ok bool) {
	if len(s.SecurityGroupIDs) == 0 {
		return fmt.Sprintf("%s was described without security groups; describe the interface again to check UDP %d from %s",
			s.resourceName(), VXLANPort, ev.src.PrivateIP), false
	}
	var found, missing, unfetched []string
	for _, gid := range s.SecurityGroupIDs {
		g, ok := ev.groups[gid]
		if !ok {
			missing = append(missing, gid)
			continue
		}
		found = append(found, gid)
		v, ok := ev.verdicts[gid]
		if !ok {
			v = ev.evaluate(g)
			ev.verdicts[gid] = v
		}
		if v.admits {
			return "", true
		}
		unfetched = append(unfetched, v.unfetched...)
	}
	var b strings.Builder
	if len(found) > 0 {
		fmt.Fprintf(&b, "%s: no inbound rule admits UDP %d from %s", strings.Join(found, ", "), VXLANPort, ev.src.PrivateIP)
	} else {
		fmt.Fprintf(&b, "%s of %s not described, so nothing is known to admit UDP %d from %s", strings.Join(missing, ", "), s.resourceName(), VXLANPort, ev.src.PrivateIP)
		missing = nil
	}
	if len(missing) > 0 {
		fmt.Fprintf(&b, " (%s not described)", strings.Join(missing, ", "))
	}
	if len(unfetched) > 0 {
		slices.Sort(unfetched)
		fmt.Fprintf(&b, " (prefix list %s not fetched)", strings.Join(slices.Compact(unfetched), ", "))
	}
	// The fix names the sensor's interface first, so the source's group
	// that follows cannot be read as belonging to it.
	fmt.Fprintf(&b, "; allow UDP %d into %s from %s/32", VXLANPort, s.resourceName(), ev.src.PrivateIP)
	if len(ev.src.SecurityGroupIDs) > 0 {
		fmt.Fprintf(&b, " or from the source's group %s", ev.src.SecurityGroupIDs[0])
	}
	return b.String(), false
}

func (ev *sgEvaluator) evaluate(g ec2types.SecurityGroup) sgVerdict {
	var v sgVerdict
	for _, r := range g.IpPermissions {
		if !sgRuleAdmitsVXLANPort(r) {
			continue
		}
		for _, ipr := range r.IpRanges {
			if cidrContains(aws.ToString(ipr.CidrIp), ev.addr) {
				return sgVerdict{admits: true}
			}
		}
		for _, pair := range r.UserIdGroupPairs {
			if gid := aws.ToString(pair.GroupId); gid != "" && slices.Contains(ev.src.SecurityGroupIDs, gid) {
				return sgVerdict{admits: true}
			}
		}
		for _, pl := range r.PrefixListIds {
			id := aws.ToString(pl.PrefixListId)
			cidrs, ok := ev.prefixLists[id]
			if !ok {
				if id != "" {
					v.unfetched = append(v.unfetched, id)
				}
				continue
			}
			for _, c := range cidrs {
				if cidrContains(c, ev.addr) {
					return sgVerdict{admits: true}
				}
			}
		}
	}
	return v
}

// sgRuleAdmitsVXLANPort reports whether a rule's protocol and ports cover
// UDP 4789, before looking at its sources.
func sgRuleAdmitsVXLANPort(r ec2types.IpPermission) bool {
	return admitsVXLAN(aws.ToString(r.IpProtocol), r.FromPort, r.ToPort)
}

func groupsByID(groups []ec2types.SecurityGroup) map[string]ec2types.SecurityGroup {
	m := make(map[string]ec2types.SecurityGroup, len(groups))
	for _, g := range groups {
		m[aws.ToString(g.GroupId)] = g
	}
	return m
}
