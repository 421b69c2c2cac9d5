package placement

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

// FuzzFilterBySecurityGroup feeds odd rules (any protocol string, ports
// inverted, absent or out of range, malformed CIDRs and addresses) and checks
// that the filter never panics, accounts for every sensor, and that two facts
// hold whatever the odd rule is: an extra all-traffic 0.0.0.0/0 group admits
// any IPv4 source, and the odd rule turned into tcp admits nothing.
func FuzzFilterBySecurityGroup(f *testing.F) {
	f.Add("udp", int32(4789), int32(4789), true, true, "10.0.0.0/16", "10.0.0.0/24", "10.0.0.25")
	f.Add("-1", int32(-1), int32(-1), false, false, "0.0.0.0/0", "", "10.0.0.25")
	f.Add("17", int32(5000), int32(4000), true, true, "10.0.0.25", "::/0", "10.0.0.25")
	f.Add("", int32(0), int32(65535), true, false, "not-a-cidr", "300.0.0.0/8", "")
	f.Add("UdP", int32(-5), int32(99999), true, true, "10.0.0.0/33", "10.0.0.0/8", "::ffff:10.0.0.25")
	f.Fuzz(func(t *testing.T, proto string, from, to int32, hasFrom, hasTo bool, cidr, plCIDR, ip string) {
		rule := ec2types.IpPermission{IpProtocol: aws.String(proto)}
		if hasFrom {
			rule.FromPort = aws.Int32(from)
		}
		if hasTo {
			rule.ToPort = aws.Int32(to)
		}
		rule = withPrefixLists(withGroupRefs(withCIDRs(rule, cidr), srcGroup, ""), "pl-1", "pl-missing", "")
		rule.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(cidr)}}
		groups := []ec2types.SecurityGroup{secGroup("sg-odd", rule), {}}
		pls := map[string][]string{"pl-1": {plCIDR}}
		src := testSource()
		src.PrivateIP = ip
		sensors := []Sensor{testSensor("tmt-1", "eni-1", "sg-odd"), testSensor("tmt-2", "eni-2", "sg-odd", "sg-missing"), lbSensor("tmt-nlb", TargetNetworkLB)}

		kept, rejected := FilterBySecurityGroup(src, sensors, groups, pls)
		if len(kept)+len(rejected) != len(sensors) {
			t.Fatalf("kept %d + rejected %d != %d sensors", len(kept), len(rejected), len(sensors))
		}
		for _, r := range rejected {
			if r.TargetID == "" || r.Reason == "" {
				t.Fatalf("rejection without target or reason: %+v", r)
			}
		}
		_ = PrefixListsReferenced(sensors, groups)

		open := append(slices.Clone(groups), secGroup("sg-open", withCIDRs(perm("-1", nil, nil), "0.0.0.0/0")))
		withOpen := []Sensor{testSensor("tmt-1", "eni-1", "sg-odd", "sg-open")}
		kept, _ = FilterBySecurityGroup(src, withOpen, open, pls)
		if _, ok := parseIPv4(ip); ok && len(kept) != 1 {
			t.Fatalf("an all-traffic 0.0.0.0/0 group did not admit IPv4 source %q", ip)
		}

		tcp := rule
		tcp.IpProtocol = aws.String("tcp")
		kept, _ = FilterBySecurityGroup(src, sensors[:1], []ec2types.SecurityGroup{secGroup("sg-odd", tcp)}, pls)
		if len(kept) != 0 {
			t.Fatalf("a tcp rule admitted UDP 4789: %+v", tcp)
		}
	})
}

// FuzzFilterByNetworkACL checks that odd entries never panic and that only
// rule numbers, never the order EC2 lists entries in, decide the outcome.
func FuzzFilterByNetworkACL(f *testing.F) {
	f.Add(int32(100), int32(90), "-1", "17", "allow", "deny", "0.0.0.0/0", "10.0.0.25/32", int32(4789), int32(4789), true, "10.0.100.10")
	f.Add(int32(1), int32(32767), "6", "-1", "deny", "allow", "garbage", "10.0.0.0/8", int32(5000), int32(1), false, "10.0.100.10")
	f.Add(int32(-1), int32(0), "", "udp", "", "ALLOW", "::/0", "0.0.0.0/0", int32(-1), int32(-1), true, "")
	f.Fuzz(func(t *testing.T, rule1, rule2 int32, proto1, proto2, action1, action2, cidr1, cidr2 string, from, to int32, hasPorts bool, dstIP string) {
		if rule1 == rule2 {
			// EC2 refuses two entries with one rule number in a direction.
			rule2 = rule1 + 1
			if rule2 < rule1 {
				rule2 = rule1 - 1
			}
		}
		var pr *ec2types.PortRange
		if hasPorts {
			pr = &ec2types.PortRange{From: aws.Int32(from), To: aws.Int32(to)}
		}
		entries := []ec2types.NetworkAclEntry{
			entry(rule1, false, proto1, action1, cidr1, pr),
			entry(rule2, false, proto2, action2, cidr2, nil),
			entry(rule1, true, proto1, action1, cidr2, pr),
			entry(rule2, true, proto2, action2, cidr1, pr),
			{},
		}
		sensor := testSensor("tmt-1", "eni-1")
		sensor.PrivateIP = dstIP
		sensors := []Sensor{sensor, lbSensor("tmt-gwlbe", TargetGatewayLBE)}
		run := func(es []ec2types.NetworkAcl) ([]Sensor, []Rejection) {
			return FilterByNetworkACL(testSource(), sensors, es)
		}
		forward := []ec2types.NetworkAcl{acl("acl-1", vpcID, true, nil, entries...)}
		reversed := slices.Clone(entries)
		slices.Reverse(reversed)
		backward := []ec2types.NetworkAcl{acl("acl-1", vpcID, true, nil, reversed...)}

		k1, r1 := run(forward)
		k2, r2 := run(backward)
		if len(k1)+len(r1) != len(sensors) {
			t.Fatalf("kept %d + rejected %d != %d sensors", len(k1), len(r1), len(sensors))
		}
		if !cmp.Equal(k1, k2) || !cmp.Equal(r1, r2) {
			t.Fatalf("entry order changed the outcome:\nforward  %v %v\nbackward %v %v", k1, r1, k2, r2)
		}
		for _, r := range r1 {
			if !strings.Contains(r.Reason, "acl-1") && !strings.Contains(r.Reason, "cannot evaluate") {
				t.Fatalf("reason does not name the ACL: %q", r.Reason)
			}
		}
	})
}
