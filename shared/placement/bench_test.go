package placement

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// largeAccount is a realistic big deployment: 50 sensors over 3 zones and
// 10 subnets, 20 security groups of 50 inbound rules each (every sensor in 3
// of them, the admitting rule last), one 200-entry ACL per sensor subnet
// with the allow near the end, and 2,000 sessions from 400 sources.
type largeAccount struct {
	src      Source
	sensors  []Sensor
	groups   []ec2types.SecurityGroup
	pls      map[string][]string
	acls     []ec2types.NetworkAcl
	sessions []ec2types.TrafficMirrorSession
}

func newLargeAccount() largeAccount {
	var a largeAccount
	a.src = testSource()
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	for g := range 20 {
		var rules []ec2types.IpPermission
		for r := range 49 {
			// Half the rules could admit UDP 4789 but name other addresses,
			// so every one of them is looked at.
			proto, from, to := "tcp", int32(1000+10*r), int32(1005+10*r)
			if r%2 == 0 {
				proto, from, to = "udp", 4000, 5000
			}
			rules = append(rules, withCIDRs(perm(proto, aws.Int32(from), aws.Int32(to)), fmt.Sprintf("172.16.%d.0/24", r), fmt.Sprintf("192.168.%d.0/24", r)))
		}
		rules = append(rules, withPrefixLists(withGroupRefs(withCIDRs(perm("udp", aws.Int32(4789), aws.Int32(4789)), "10.0.0.0/16"), "sg-peer"), "pl-1"))
		a.groups = append(a.groups, secGroup(fmt.Sprintf("sg-%02d", g), rules...))
	}
	a.pls = map[string][]string{"pl-1": {"10.1.0.0/16", "10.2.0.0/16"}}
	for s := range 50 {
		sensor := testSensor(fmt.Sprintf("tmt-%03d", s), fmt.Sprintf("eni-s%03d", s),
			fmt.Sprintf("sg-%02d", s%20), fmt.Sprintf("sg-%02d", (s+7)%20), fmt.Sprintf("sg-%02d", (s+13)%20))
		sensor.AvailabilityZone = zones[s%3]
		sensor.SameZone = sensor.AvailabilityZone == a.src.AvailabilityZone
		sensor.SubnetID = fmt.Sprintf("subnet-s%d", s%10)
		sensor.PrivateIP = fmt.Sprintf("10.0.%d.%d", 100+s%10, 10+s)
		sensor.MaxSources = 100
		a.sensors = append(a.sensors, sensor)
	}
	for n := range 11 {
		subnet := fmt.Sprintf("subnet-s%d", n)
		if n == 10 {
			subnet = srcSubnet
		}
		var entries []ec2types.NetworkAclEntry
		// 99 entries per direction that could match UDP 4789 but name
		// other addresses, listed in descending rule order, then the allow.
		for r := 98; r >= 0; r-- {
			cidr := fmt.Sprintf("172.%d.%d.0/24", 16+r%16, r)
			proto := []string{"-1", "17"}[r%2]
			entries = append(entries,
				entry(int32(100+r), false, proto, "deny", cidr, ports(4000, 5000)),
				entry(int32(100+r), true, proto, "deny", cidr, ports(4000, 5000)))
		}
		entries = append(entries, entry(300, false, "17", "allow", "10.0.0.0/8", ports(4789, 4789)), entry(300, true, "17", "allow", "10.0.0.0/8", ports(4789, 4789)))
		a.acls = append(a.acls, acl(fmt.Sprintf("acl-%d", n), vpcID, n == 10, []string{subnet}, entries...))
	}
	for i := range 2000 {
		a.sessions = append(a.sessions, session(fmt.Sprintf("tms-%04d", i), fmt.Sprintf("tmt-%03d", i%50), fmt.Sprintf("eni-app-%03d", i%400)))
	}
	return a
}

func BenchmarkFilterBySecurityGroup(b *testing.B) {
	a := newLargeAccount()
	b.ReportAllocs()
	for b.Loop() {
		kept, _ := FilterBySecurityGroup(a.src, a.sensors, a.groups, a.pls)
		if len(kept) != len(a.sensors) {
			b.Fatalf("kept %d of %d sensors", len(kept), len(a.sensors))
		}
	}
}

func BenchmarkFilterByNetworkACL(b *testing.B) {
	a := newLargeAccount()
	b.ReportAllocs()
	for b.Loop() {
		kept, _ := FilterByNetworkACL(a.src, a.sensors, a.acls)
		if len(kept) != len(a.sensors) {
			b.Fatalf("kept %d of %d sensors", len(kept), len(a.sensors))
		}
	}
}

func BenchmarkPickLeastLoaded(b *testing.B) {
	a := newLargeAccount()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := PickLeastLoaded(a.src, a.sensors, a.sessions, nil); !ok {
			b.Fatal("no sensor picked")
		}
	}
}
