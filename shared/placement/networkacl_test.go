package placement

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

func TestFilterByNetworkACL(t *testing.T) {
	// The source subnet's ACL allows everything out unless a case replaces
	// it; dst builds the sensor subnet's ACL from ingress entries.
	srcACL := acl("acl-src", vpcID, false, []string{srcSubnet}, allowAll(true)...)
	dst := func(entries ...ec2types.NetworkAclEntry) ec2types.NetworkAcl {
		return acl("acl-dst", vpcID, false, []string{"subnet-sensor"}, entries...)
	}
	const (
		in  = false
		out = true
	)
	tests := []struct {
		name       string
		acls       []ec2types.NetworkAcl
		sensor     func(Sensor) Sensor
		wantReason string // "" means kept
	}{
		{name: "allow entry for the source admits",
			acls: []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "17", "allow", "10.0.0.25/32", ports(4789, 4789)))}},
		{name: "NACL entries apply in rule-number order",
			acls: []ec2types.NetworkAcl{srcACL, dst(
				entry(200, in, "-1", "allow", "0.0.0.0/0", nil),
				entry(100, in, "17", "deny", "10.0.0.0/24", ports(4789, 4789)),
			)},
			wantReason: "acl-dst (subnet-sensor inbound): rule 100 denies UDP 4789 from 10.0.0.25"},
		{name: "lower-numbered allow wins over a deny listed first",
			acls: []ec2types.NetworkAcl{srcACL, dst(
				entry(200, in, "-1", "deny", "0.0.0.0/0", nil),
				entry(100, in, "-1", "allow", "10.0.0.0/16", nil),
			)}},
		{name: "deny entry below an allow wins",
			acls: []ec2types.NetworkAcl{srcACL, dst(
				entry(90, in, "17", "deny", "10.0.0.25/32", ports(4789, 4789)),
				entry(100, in, "-1", "allow", "0.0.0.0/0", nil),
			)},
			wantReason: "acl-dst (subnet-sensor inbound): rule 90 denies UDP 4789 from 10.0.0.25"},
		{name: "deny entry for another protocol is passed over",
			acls: []ec2types.NetworkAcl{srcACL, dst(
				entry(90, in, "6", "deny", "0.0.0.0/0", ports(0, 65535)),
				entry(100, in, "-1", "allow", "0.0.0.0/0", nil),
			)}},
		{name: "deny entry for other ports is passed over",
			acls: []ec2types.NetworkAcl{srcACL, dst(
				entry(90, in, "17", "deny", "0.0.0.0/0", ports(4790, 4800)),
				entry(100, in, "-1", "allow", "0.0.0.0/0", nil),
			)}},
		{name: "deny entry for other addresses is passed over",
			acls: []ec2types.NetworkAcl{srcACL, dst(
				entry(90, in, "-1", "deny", "10.0.0.26/32", nil),
				entry(100, in, "-1", "allow", "0.0.0.0/0", nil),
			)}},
		{name: "catch-all rule 32767 denies when nothing matches before it",
			acls: []ec2types.NetworkAcl{srcACL, dst(
				entry(100, in, "6", "allow", "0.0.0.0/0", ports(443, 443)),
				entry(32767, in, "-1", "deny", "0.0.0.0/0", nil),
			)},
			wantReason: "acl-dst (subnet-sensor inbound): rule 32767 denies UDP 4789 from 10.0.0.25"},
		{name: "no matching entry means deny",
			acls:       []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "-1", "allow", "192.168.0.0/16", nil))},
			wantReason: "acl-dst (subnet-sensor inbound): no rule matches UDP 4789 from 10.0.0.25, so it is denied; add an allow rule"},
		{name: "ACL without entries denies",
			acls:       []ec2types.NetworkAcl{srcACL, dst()},
			wantReason: "acl-dst (subnet-sensor inbound): no rule matches UDP 4789 from 10.0.0.25, so it is denied; add an allow rule"},
		{name: "PortRange To is inclusive",
			acls: []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "17", "allow", "0.0.0.0/0", ports(1024, 4789)))}},
		{name: "PortRange From is inclusive",
			acls: []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "17", "allow", "0.0.0.0/0", ports(4789, 65535)))}},
		{name: "port range without 4789 does not allow",
			acls:       []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "17", "allow", "0.0.0.0/0", ports(1024, 4788)))},
			wantReason: "acl-dst (subnet-sensor inbound): no rule matches UDP 4789 from 10.0.0.25, so it is denied; add an allow rule"},
		{name: "absent PortRange with protocol -1 means all ports",
			acls: []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "-1", "allow", "10.0.0.0/8", nil))}},
		{name: "protocol 6 entry does not allow UDP",
			acls:       []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "6", "allow", "0.0.0.0/0", ports(0, 65535)))},
			wantReason: "acl-dst (subnet-sensor inbound): no rule matches UDP 4789 from 10.0.0.25, so it is denied; add an allow rule"},
		{name: "IPv6 entry does not match an IPv4 source",
			acls: []ec2types.NetworkAcl{srcACL, dst(ec2types.NetworkAclEntry{
				RuleNumber: aws.Int32(100), Egress: aws.Bool(false), Protocol: aws.String("-1"),
				RuleAction: ec2types.RuleActionAllow, Ipv6CidrBlock: aws.String("::/0"),
			})},
			wantReason: "acl-dst (subnet-sensor inbound): no rule matches UDP 4789 from 10.0.0.25, so it is denied; add an allow rule"},
		{name: "ingress entries match the source address, not the sensor's",
			acls:       []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "-1", "allow", "10.0.100.0/24", nil))},
			wantReason: "acl-dst (subnet-sensor inbound): no rule matches UDP 4789 from 10.0.0.25, so it is denied; add an allow rule"},
		{name: "egress entries of the sensor's ACL do not admit inbound",
			acls:       []ec2types.NetworkAcl{srcACL, dst(allowAll(out)...)},
			wantReason: "acl-dst (subnet-sensor inbound): no rule matches UDP 4789 from 10.0.0.25, so it is denied; add an allow rule"},
		{name: "source subnet's ACL must allow the packet outbound",
			acls: []ec2types.NetworkAcl{
				acl("acl-src", vpcID, false, []string{srcSubnet}, entry(50, out, "17", "deny", "10.0.100.0/24", ports(4789, 4789))),
				dst(allowAll(in)...),
			},
			wantReason: "acl-src (subnet-src outbound): rule 50 denies UDP 4789 to 10.0.100.10"},
		{name: "egress entries match the sensor's address",
			acls: []ec2types.NetworkAcl{
				acl("acl-src", vpcID, false, []string{srcSubnet}, entry(100, out, "17", "allow", "10.0.100.10/32", ports(4789, 4789))),
				dst(allowAll(in)...),
			}},
		{name: "egress entry for the source's own range does not allow",
			acls: []ec2types.NetworkAcl{
				acl("acl-src", vpcID, false, []string{srcSubnet}, entry(100, out, "-1", "allow", "10.0.0.0/24", nil)),
				dst(allowAll(in)...),
			},
			wantReason: "acl-src (subnet-src outbound): no rule matches UDP 4789 to 10.0.100.10, so it is denied; add an allow rule"},
		{name: "both directions denied are both reported",
			acls: []ec2types.NetworkAcl{
				acl("acl-src", vpcID, false, []string{srcSubnet}),
				dst(entry(10, in, "-1", "deny", "0.0.0.0/0", nil)),
			},
			wantReason: "acl-dst (subnet-sensor inbound): rule 10 denies UDP 4789 from 10.0.0.25; " +
				"acl-src (subnet-src outbound): no rule matches UDP 4789 to 10.0.100.10, so it is denied; add an allow rule"},
		{name: "unassociated subnet uses the VPC default ACL",
			acls: []ec2types.NetworkAcl{
				srcACL,
				acl("acl-default", vpcID, true, []string{"subnet-other"}, entry(100, in, "-1", "deny", "0.0.0.0/0", nil)),
			},
			wantReason: "acl-default (subnet-sensor inbound): rule 100 denies UDP 4789 from 10.0.0.25"},
		{name: "explicit association wins over the default ACL",
			acls: []ec2types.NetworkAcl{
				srcACL,
				acl("acl-default", vpcID, true, nil, entry(100, in, "-1", "deny", "0.0.0.0/0", nil)),
				dst(allowAll(in)...),
			}},
		{name: "unassociated source subnet uses its VPC's default ACL outbound",
			acls: []ec2types.NetworkAcl{
				acl("acl-default", vpcID, true, nil, allowAll(out)...),
				dst(allowAll(in)...),
			}},
		{name: "default ACL of another VPC is not used",
			acls: []ec2types.NetworkAcl{
				srcACL,
				acl("acl-default-2", "vpc-2", true, nil, allowAll(in)...),
			},
			wantReason: "no network ACL found for subnet-sensor (inbound): it has no association and no default ACL of vpc-1 was described"},
		{name: "sensor with unknown subnet and VPC has no ACL",
			acls: []ec2types.NetworkAcl{srcACL, dst(allowAll(in)...)},
			sensor: func(s Sensor) Sensor {
				s.SubnetID, s.VPCID = "", ""
				return s
			},
			wantReason: "no network ACL found for an unknown subnet (inbound): it has no association and no default ACL of an unknown VPC was described"},
		{name: "same subnet crosses no network ACL",
			acls: []ec2types.NetworkAcl{acl("acl-src", vpcID, true, []string{srcSubnet}, entry(1, in, "-1", "deny", "0.0.0.0/0", nil), entry(1, out, "-1", "deny", "0.0.0.0/0", nil))},
			sensor: func(s Sensor) Sensor {
				s.SubnetID = srcSubnet
				return s
			}},
		{name: "sensor without a private IPv4 cannot be checked",
			acls: []ec2types.NetworkAcl{srcACL, dst(allowAll(in)...)},
			sensor: func(s Sensor) Sensor {
				s.PrivateIP = ""
				return s
			},
			wantReason: `cannot evaluate network ACLs between eni-src ("10.0.0.25") and eni-1 (""): both need a private IPv4 address`},
		{name: "rule action other than allow denies",
			acls:       []ec2types.NetworkAcl{srcACL, dst(entry(100, in, "-1", "", "0.0.0.0/0", nil))},
			wantReason: "acl-dst (subnet-sensor inbound): rule 100 denies UDP 4789 from 10.0.0.25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sensor := testSensor("tmt-1", "eni-1")
			if tt.sensor != nil {
				sensor = tt.sensor(sensor)
			}
			kept, rejected := FilterByNetworkACL(testSource(), []Sensor{sensor}, tt.acls)
			checkOneSensor(t, sensor, kept, rejected, tt.wantReason)
		})
	}
}

func TestFilterByNetworkACLLoadBalancerAndOrder(t *testing.T) {
	acls := []ec2types.NetworkAcl{
		acl("acl-src", vpcID, false, []string{srcSubnet}, allowAll(true)...),
		acl("acl-dst", vpcID, false, []string{"subnet-sensor"}, entry(100, false, "-1", "deny", "0.0.0.0/0", nil)),
	}
	sensors := []Sensor{testSensor("tmt-2", "eni-2"), lbSensor("tmt-nlb", TargetNetworkLB), testSensor("tmt-1", "eni-1")}
	kept, rejected := FilterByNetworkACL(testSource(), sensors, acls)

	lb := lbSensor("tmt-nlb", TargetNetworkLB)
	lb.Notes = []string{"network ACLs not checked: a network-load-balancer target has no subnet of its own here; make sure the ACLs of its subnets allow UDP 4789 from 10.0.0.25"}
	if diff := cmp.Diff([]Sensor{lb}, kept); diff != "" {
		t.Errorf("load-balancer target is kept with a note (-want +got):\n%s", diff)
	}
	want := []Rejection{
		{TargetID: "tmt-1", Reason: "acl-dst (subnet-sensor inbound): rule 100 denies UDP 4789 from 10.0.0.25"},
		{TargetID: "tmt-2", Reason: "acl-dst (subnet-sensor inbound): rule 100 denies UDP 4789 from 10.0.0.25"},
	}
	if diff := cmp.Diff(want, rejected); diff != "" {
		t.Errorf("rejections sorted by target id (-want +got):\n%s", diff)
	}
}
