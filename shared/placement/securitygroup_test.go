package placement

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

// noRule is the reason FilterBySecurityGroup gives when the named groups of
// the test sensor admit nothing from the test source.
func noRule(groups string) string {
	return groups + ": no inbound rule admits UDP 4789 from 10.0.0.25; allow UDP 4789 into eni-1 from 10.0.0.25/32 or from the source's group sg-src"
}

func TestFilterBySecurityGroup(t *testing.T) {
	p := aws.Int32
	udp4789 := func() ec2types.IpPermission { return perm("udp", p(4789), p(4789)) }
	tests := []struct {
		name        string
		groups      []ec2types.SecurityGroup
		sensor      Sensor
		prefixLists map[string][]string
		source      func(Source) Source
		wantReason  string // "" means the sensor is kept
	}{
		{name: "udp 4789 from the source's /32 admits",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(udp4789(), "10.0.0.25/32"))}},
		{name: "protocol -1 admits UDP",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("-1", nil, nil), "10.0.0.0/16"))}},
		{name: "protocol -1 with ports -1 means all ports",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("-1", p(-1), p(-1)), "10.0.0.0/16"))}},
		{name: "protocol -1 ignores a port range that excludes 4789",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("-1", p(22), p(22)), "10.0.0.0/16"))}},
		{name: "protocol 17 admits UDP",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("17", p(4789), p(4789)), "10.0.0.0/16"))}},
		{name: "protocol name is compared without regard to case",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("UDP", p(4789), p(4789)), "10.0.0.0/16"))}},
		{name: "tcp 4789 does not admit UDP",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("tcp", p(4789), p(4789)), "10.0.0.0/16"))},
			wantReason: noRule("sg-sensor")},
		{name: "protocol 6 does not admit UDP",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("6", p(0), p(65535)), "10.0.0.0/16"))},
			wantReason: noRule("sg-sensor")},
		{name: "ToPort is inclusive",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("udp", p(4000), p(4789)), "10.0.0.0/16"))}},
		{name: "FromPort is inclusive",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("udp", p(4789), p(5000)), "10.0.0.0/16"))}},
		{name: "port range ending below 4789 does not admit",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("udp", p(4000), p(4788)), "10.0.0.0/16"))},
			wantReason: noRule("sg-sensor")},
		{name: "port range starting above 4789 does not admit",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("udp", p(4790), p(5000)), "10.0.0.0/16"))},
			wantReason: noRule("sg-sensor")},
		{name: "udp rule without ports means all ports",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("udp", nil, nil), "10.0.0.0/16"))}},
		{name: "0.0.0.0/0 admits any IPv4 source",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(udp4789(), "0.0.0.0/0"))}},
		{name: "CIDR that does not contain the source does not admit",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(udp4789(), "10.0.1.0/24", "10.0.0.26/32"))},
			wantReason: noRule("sg-sensor")},
		{name: "IPv6 ranges are ignored for an IPv4 source",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", func() ec2types.IpPermission {
				r := udp4789()
				r.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}
				return r
			}())},
			wantReason: noRule("sg-sensor")},
		{name: "an IPv6 CIDR in IpRanges contains no IPv4 source",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(udp4789(), "::/0", "::ffff:10.0.0.0/104"))},
			wantReason: noRule("sg-sensor")},
		{name: "malformed CIDR admits nothing and does not stop the next one",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(udp4789(), "10.0.0.25", "not-a-cidr", "10.0.0.0/24"))}},
		{name: "reference to a group the source belongs to admits",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withGroupRefs(udp4789(), "sg-other", srcGroup))}},
		{name: "reference to a group the source is not in does not admit",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withGroupRefs(udp4789(), "sg-other"))},
			wantReason: noRule("sg-sensor")},
		{name: "group reference on a tcp rule does not admit",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withGroupRefs(perm("tcp", p(0), p(65535)), srcGroup))},
			wantReason: noRule("sg-sensor")},
		{name: "prefix list containing the source admits",
			groups:      []ec2types.SecurityGroup{secGroup("sg-sensor", withPrefixLists(udp4789(), "pl-1", "pl-2"))},
			prefixLists: map[string][]string{"pl-1": {"192.168.0.0/16"}, "pl-2": {"172.16.0.0/12", "10.0.0.0/24"}}},
		{name: "prefix list without the source does not admit",
			groups:      []ec2types.SecurityGroup{secGroup("sg-sensor", withPrefixLists(udp4789(), "pl-1"))},
			prefixLists: map[string][]string{"pl-1": {"192.168.0.0/16"}},
			wantReason:  noRule("sg-sensor")},
		{name: "prefix list that was not fetched is named in the reason",
			groups: []ec2types.SecurityGroup{secGroup("sg-sensor", withPrefixLists(udp4789(), "pl-9"))},
			wantReason: "sg-sensor: no inbound rule admits UDP 4789 from 10.0.0.25 (prefix list pl-9 not fetched); " +
				"allow UDP 4789 into eni-1 from 10.0.0.25/32 or from the source's group sg-src"},
		{name: "any group of the interface may admit (union)",
			sensor: testSensor("tmt-1", "eni-1", "sg-a", "sg-b"),
			groups: []ec2types.SecurityGroup{
				secGroup("sg-a", withCIDRs(perm("tcp", p(443), p(443)), "0.0.0.0/0")),
				secGroup("sg-b", withCIDRs(udp4789(), "10.0.0.0/16")),
			}},
		{name: "rules of groups the interface is not in do not admit",
			sensor: testSensor("tmt-1", "eni-1", "sg-a", "sg-b"),
			groups: []ec2types.SecurityGroup{
				secGroup("sg-a"), secGroup("sg-b"),
				secGroup("sg-elsewhere", withCIDRs(udp4789(), "0.0.0.0/0")),
			},
			wantReason: noRule("sg-a, sg-b")},
		{name: "egress rules do not admit inbound VXLAN",
			groups: []ec2types.SecurityGroup{func() ec2types.SecurityGroup {
				g := secGroup("sg-sensor")
				g.IpPermissionsEgress = []ec2types.IpPermission{withCIDRs(perm("-1", nil, nil), "0.0.0.0/0")}
				return g
			}()},
			wantReason: noRule("sg-sensor")},
		{name: "a group that was not described is named in the reason",
			sensor: testSensor("tmt-1", "eni-1", "sg-a", "sg-gone"),
			groups: []ec2types.SecurityGroup{secGroup("sg-a")},
			wantReason: "sg-a: no inbound rule admits UDP 4789 from 10.0.0.25 (sg-gone not described); " +
				"allow UDP 4789 into eni-1 from 10.0.0.25/32 or from the source's group sg-src"},
		{name: "an admitting group is enough even when another was not described",
			sensor: testSensor("tmt-1", "eni-1", "sg-a", "sg-gone"),
			groups: []ec2types.SecurityGroup{secGroup("sg-a", withCIDRs(udp4789(), "10.0.0.0/16"))}},
		{name: "no group described at all",
			sensor:     testSensor("tmt-1", "eni-1", "sg-gone"),
			wantReason: "sg-gone of eni-1 not described, so nothing is known to admit UDP 4789 from 10.0.0.25; allow UDP 4789 into eni-1 from 10.0.0.25/32 or from the source's group sg-src"},
		{name: "interface described without groups",
			sensor: func() Sensor {
				s := testSensor("tmt-1", "eni-1")
				s.SecurityGroupIDs = nil
				return s
			}(),
			wantReason: "eni-1 was described without security groups; describe the interface again to check UDP 4789 from 10.0.0.25"},
		{name: "source without groups is told to allow its address",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor")},
			source:     func(s Source) Source { s.SecurityGroupIDs = nil; return s },
			wantReason: "sg-sensor: no inbound rule admits UDP 4789 from 10.0.0.25; allow UDP 4789 into eni-1 from 10.0.0.25/32"},
		{name: "source without a valid IPv4 is rejected",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(perm("-1", nil, nil), "0.0.0.0/0"))},
			source:     func(s Source) Source { s.PrivateIP = ""; return s },
			wantReason: `source eni-src has no valid private IPv4 address (""), so no security group of eni-1 can be shown to admit it`},
		{name: "rule without a protocol admits nothing",
			groups:     []ec2types.SecurityGroup{secGroup("sg-sensor", withCIDRs(ec2types.IpPermission{}, "0.0.0.0/0"))},
			wantReason: noRule("sg-sensor")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sensor := tt.sensor
			if sensor.TargetID == "" {
				sensor = testSensor("tmt-1", "eni-1")
			}
			src := testSource()
			if tt.source != nil {
				src = tt.source(src)
			}
			kept, rejected := FilterBySecurityGroup(src, []Sensor{sensor}, tt.groups, tt.prefixLists)
			checkOneSensor(t, sensor, kept, rejected, tt.wantReason)
		})
	}
}

func TestFilterBySecurityGroupSeveralSensors(t *testing.T) {
	p := aws.Int32
	groups := []ec2types.SecurityGroup{
		secGroup("sg-open", withCIDRs(perm("udp", p(4789), p(4789)), "10.0.0.0/16")),
		secGroup("sg-closed", withCIDRs(perm("tcp", p(22), p(22)), "10.0.0.0/16")),
	}
	sensors := []Sensor{
		testSensor("tmt-3", "eni-3", "sg-closed"),
		testSensor("tmt-1", "eni-1", "sg-open"),
		lbSensor("tmt-gwlbe", TargetGatewayLBE),
		testSensor("tmt-2", "eni-2", "sg-closed"),
	}
	kept, rejected := FilterBySecurityGroup(testSource(), sensors, groups, nil)

	lb := lbSensor("tmt-gwlbe", TargetGatewayLBE)
	lb.Notes = []string{"security groups not checked: a gateway-load-balancer-endpoint target has no network interface of its own; make sure the appliances behind it admit UDP 4789 from 10.0.0.25"}
	wantKept := []Sensor{testSensor("tmt-1", "eni-1", "sg-open"), lb}
	wantRejected := []Rejection{
		{TargetID: "tmt-2", Reason: "sg-closed: no inbound rule admits UDP 4789 from 10.0.0.25; allow UDP 4789 into eni-2 from 10.0.0.25/32 or from the source's group sg-src"},
		{TargetID: "tmt-3", Reason: "sg-closed: no inbound rule admits UDP 4789 from 10.0.0.25; allow UDP 4789 into eni-3 from 10.0.0.25/32 or from the source's group sg-src"},
	}
	if diff := cmp.Diff(wantKept, kept); diff != "" {
		t.Errorf("kept mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRejected, rejected); diff != "" {
		t.Errorf("rejected mismatch (-want +got), rejections sorted by target id:\n%s", diff)
	}
}

func TestPrefixListsReferenced(t *testing.T) {
	p := aws.Int32
	groups := []ec2types.SecurityGroup{
		secGroup("sg-a",
			withPrefixLists(perm("udp", p(4789), p(4789)), "pl-b", "pl-a"),
			withPrefixLists(perm("tcp", p(4789), p(4789)), "pl-tcp"),
			withPrefixLists(perm("udp", p(53), p(53)), "pl-dns"),
		),
		secGroup("sg-b",
			withPrefixLists(perm("-1", nil, nil), "pl-a", "pl-c"),
			withPrefixLists(perm("udp", p(4789), p(4789))),
		),
		secGroup("sg-unused", withPrefixLists(perm("-1", nil, nil), "pl-unused")),
	}
	sensors := []Sensor{
		testSensor("tmt-1", "eni-1", "sg-a", "sg-gone"),
		testSensor("tmt-2", "eni-2", "sg-b", "sg-a"),
		lbSensor("tmt-nlb", TargetNetworkLB),
	}
	want := []string{"pl-a", "pl-b", "pl-c"}
	if diff := cmp.Diff(want, PrefixListsReferenced(sensors, groups)); diff != "" {
		t.Errorf("only prefix lists on rules that can admit UDP 4789, sorted and once each (-want +got):\n%s", diff)
	}
	if got := PrefixListsReferenced(nil, groups); len(got) != 0 {
		t.Errorf("no sensors reference %v, want none", got)
	}
}

func TestFilterNotesDoNotAliasTheCallersSensors(t *testing.T) {
	lb := lbSensor("tmt-nlb", TargetNetworkLB)
	lb.Notes = make([]string, 1, 4) // spare capacity a careless append would write into
	lb.Notes[0] = "zone not checked"
	sensors := []Sensor{lb}

	srcA, srcB := testSource(), testSource()
	srcB.PrivateIP = "10.0.9.9"
	keptA, _ := FilterBySecurityGroup(srcA, sensors, nil, nil)
	keptB, _ := FilterBySecurityGroup(srcB, sensors, nil, nil)

	if len(sensors[0].Notes) != 1 {
		t.Errorf("caller's sensor notes changed to %q", sensors[0].Notes)
	}
	if got := keptA[0].Notes[1]; !strings.Contains(got, "10.0.0.25") {
		t.Errorf("first result's note was overwritten by the second call: %q", got)
	}
	if got := keptB[0].Notes[1]; !strings.Contains(got, "10.0.9.9") {
		t.Errorf("second result's note = %q, want it to name 10.0.9.9", got)
	}
}
