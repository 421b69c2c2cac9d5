package placement

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

func TestSensorInstance(t *testing.T) {
	i0, i1 := aws.Int32(0), aws.Int32(1)
	nlb := ec2types.TrafficMirrorTarget{TrafficMirrorTargetId: aws.String("tmt-nlb"), Type: ec2types.TrafficMirrorTargetTypeNetworkLoadBalancer}
	targets := []ec2types.TrafficMirrorTarget{nlb, tmt("tmt-b", "eni-capture-b"), tmt("tmt-a", "eni-capture-a"), tmt("tmt-untagged", "eni-other")}
	efa := instanceNI("eni-capture-b", i1, i0, "10.0.2.2")
	efa.InterfaceType = aws.String(string(ec2types.NetworkInterfaceTypeEfa))
	tests := []struct {
		name   string
		inst   ec2types.Instance
		wantID string
	}{
		{"an instance whose primary interface is a target is a sensor",
			testInstance(instanceNI("eni-capture-a", i0, i0, srcIP)), "tmt-a"},
		{"an instance whose secondary interface is a target is a sensor, so its primary is skipped too",
			testInstance(instanceNI(srcENI, i0, i0, srcIP), instanceNI("eni-capture-a", i0, i1, "10.0.2.1")), "tmt-a"},
		{"an interface of any type that is a target makes a sensor",
			testInstance(instanceNI(srcENI, i0, i0, srcIP), efa), "tmt-b"},
		{"a target that is not a candidate still makes a sensor",
			testInstance(instanceNI("eni-other", i0, i0, srcIP)), "tmt-untagged"},
		{"of several target interfaces, the lowest target id is named",
			testInstance(instanceNI("eni-capture-b", i0, i0, srcIP), instanceNI("eni-capture-a", i0, i1, "10.0.2.1")), "tmt-a"},
		{"an instance none of whose interfaces is a target is not a sensor",
			testInstance(instanceNI(srcENI, i0, i0, srcIP), instanceNI("eni-2", i0, i1, "10.0.2.1")), ""},
		{"an interface without an id never matches a load-balancer target",
			testInstance(ec2types.InstanceNetworkInterface{}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := SensorInstance(tt.inst, targets)
			if id != tt.wantID || ok != (tt.wantID != "") {
				t.Errorf("SensorInstance = %q, %v; want %q, %v", id, ok, tt.wantID, tt.wantID != "")
			}
		})
	}
}

func TestOptedOut(t *testing.T) {
	exclude := config.Tag{Key: "mirrorflow:exclude", Value: "true"}
	tag := func(k, v string) ec2types.Tag { return ec2types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	tests := []struct {
		name    string
		tags    []ec2types.Tag
		exclude config.Tag
		want    bool
	}{
		{"an instance carrying ExcludeTag is opted out", []ec2types.Tag{tag("Name", "web"), tag("mirrorflow:exclude", "true")}, exclude, true},
		{"ExcludeTag with another value does not opt out", []ec2types.Tag{tag("mirrorflow:exclude", "false")}, exclude, false},
		{"tags are compared exactly, case included", []ec2types.Tag{tag("mirrorflow:exclude", "True"), tag("Mirrorflow:Exclude", "true")}, exclude, false},
		{"the value alone under another key does not opt out", []ec2types.Tag{tag("exclude", "true")}, exclude, false},
		{"an untagged instance is not opted out", nil, exclude, false},
		{"a configured ExcludeTag with an empty value matches that empty value", []ec2types.Tag{tag("no-mirror", "")}, config.Tag{Key: "no-mirror"}, true},
		{"an empty ExcludeTag key opts nothing out", []ec2types.Tag{{}, tag("", "")}, config.Tag{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OptedOut(tt.tags, tt.exclude); got != tt.want {
				t.Errorf("OptedOut = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIPv6Only(t *testing.T) {
	tests := []struct {
		name   string
		subnet ec2types.Subnet
		want   bool
	}{
		{"a subnet with Ipv6Native is IPv6-only", ec2types.Subnet{Ipv6Native: aws.Bool(true)}, true},
		{"a dual-stack subnet is not IPv6-only", ec2types.Subnet{Ipv6Native: aws.Bool(false), CidrBlock: aws.String("10.0.0.0/24")}, false},
		{"a subnet described without Ipv6Native is not IPv6-only", ec2types.Subnet{CidrBlock: aws.String("10.0.0.0/24")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IPv6Only(tt.subnet); got != tt.want {
				t.Errorf("IPv6Only = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIneligible(t *testing.T) {
	ofType := func(typ string) Source {
		s := testSource()
		s.InstanceType = typ
		return s
	}
	dualStack := ec2types.Subnet{SubnetId: aws.String(srcSubnet), Ipv6Native: aws.Bool(false)}
	v6Only := ec2types.Subnet{SubnetId: aws.String(srcSubnet), Ipv6Native: aws.Bool(true)}
	_, t2Why := SourceSupported("t2.micro")
	_, emptyWhy := SourceSupported("")
	const v6Reason = "network interface eni-src is in subnet subnet-src, which is IPv6-only (Ipv6Native), and Traffic Mirroring is not supported for IPv6-only subnets (AWS Traffic Mirroring guide, Traffic Mirroring limitations); to mirror it, use an interface in a subnet with IPv4 (dual-stack or IPv4-only)"
	tests := []struct {
		name        string
		src         Source
		subnet      ec2types.Subnet
		subnetKnown bool
		wantReason  string
	}{
		{"a supported type in a dual-stack subnet is eligible", testSource(), dualStack, true, ""},
		{"a type on no AWS list of exclusions is eligible, and EC2 decides", ofType("zz99.large"), dualStack, true, ""},
		{"T2 cannot be a source: skipped, naming the type",
			ofType("t2.micro"), dualStack, true,
			"instance i-src cannot be a traffic mirror source: " + t2Why + "; to mirror it, change it to an instance type that can be one"},
		{"an instance without a type cannot be judged a source",
			ofType(""), dualStack, true,
			"instance i-src cannot be a traffic mirror source: " + emptyWhy + "; to mirror it, change it to an instance type that can be one"},
		{"an interface in an IPv6-only subnet is skipped, naming the subnet", testSource(), v6Only, true, v6Reason},
		{"the subnet is named from the source when the described subnet has no id",
			testSource(), ec2types.Subnet{Ipv6Native: aws.Bool(true)}, true, v6Reason},
		{"an unknown subnet is not judged", testSource(), v6Only, false, ""},
		{"both causes are named when both apply",
			ofType("t2.micro"), v6Only, true,
			"instance i-src cannot be a traffic mirror source: " + t2Why + "; to mirror it, change it to an instance type that can be one; and " + v6Reason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, skip := Ineligible(tt.src, tt.subnet, tt.subnetKnown)
			if skip != (tt.wantReason != "") || reason != tt.wantReason {
				t.Errorf("Ineligible = %q, %v;\nwant %q, %v", reason, skip, tt.wantReason, tt.wantReason != "")
			}
		})
	}
}
