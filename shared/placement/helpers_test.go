package placement

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The tests share one source and one interface sensor in another subnet of
// the same zone, so each case states only what it changes.
const (
	srcENI    = "eni-src"
	srcIP     = "10.0.0.25"
	srcSubnet = "subnet-src"
	srcGroup  = "sg-src"
	vpcID     = "vpc-1"
	zoneA     = "us-east-1a"
	zoneB     = "us-east-1b"
)

func testSource() Source {
	return Source{
		InstanceID:         "i-src",
		InstanceType:       "m5.large",
		NetworkInterfaceID: srcENI,
		SubnetID:           srcSubnet,
		VPCID:              vpcID,
		AvailabilityZone:   zoneA,
		PrivateIP:          srcIP,
		SecurityGroupIDs:   []string{srcGroup},
	}
}

func testSensor(targetID, eni string, groups ...string) Sensor {
	if len(groups) == 0 {
		groups = []string{"sg-sensor"}
	}
	return Sensor{
		TargetID:           targetID,
		Type:               TargetNetworkInterface,
		NetworkInterfaceID: eni,
		SubnetID:           "subnet-sensor",
		VPCID:              vpcID,
		AvailabilityZone:   zoneA,
		PrivateIP:          "10.0.100.10",
		SecurityGroupIDs:   groups,
		MaxSources:         10,
	}
}

func lbSensor(targetID, typ string) Sensor {
	return Sensor{TargetID: targetID, Type: typ}
}

// perm is an inbound rule; from and to are nil when passed as nil.
func perm(proto string, from, to *int32) ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: aws.String(proto), FromPort: from, ToPort: to}
}

func withCIDRs(p ec2types.IpPermission, cidrs ...string) ec2types.IpPermission {
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c)})
	}
	return p
}

func withGroupRefs(p ec2types.IpPermission, ids ...string) ec2types.IpPermission {
	for _, id := range ids {
		p.UserIdGroupPairs = append(p.UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: aws.String(id), UserId: aws.String("123456789012")})
	}
	return p
}

func withPrefixLists(p ec2types.IpPermission, ids ...string) ec2types.IpPermission {
	for _, id := range ids {
		p.PrefixListIds = append(p.PrefixListIds, ec2types.PrefixListId{PrefixListId: aws.String(id)})
	}
	return p
}

func secGroup(id string, inbound ...ec2types.IpPermission) ec2types.SecurityGroup {
	return ec2types.SecurityGroup{GroupId: aws.String(id), VpcId: aws.String(vpcID), IpPermissions: inbound}
}

func entry(rule int32, egress bool, proto, action, cidr string, ports *ec2types.PortRange) ec2types.NetworkAclEntry {
	return ec2types.NetworkAclEntry{
		RuleNumber: aws.Int32(rule),
		Egress:     aws.Bool(egress),
		Protocol:   aws.String(proto),
		RuleAction: ec2types.RuleAction(action),
		CidrBlock:  aws.String(cidr),
		PortRange:  ports,
	}
}

func ports(from, to int32) *ec2types.PortRange {
	return &ec2types.PortRange{From: aws.Int32(from), To: aws.Int32(to)}
}

func acl(id, vpc string, isDefault bool, subnets []string, entries ...ec2types.NetworkAclEntry) ec2types.NetworkAcl {
	a := ec2types.NetworkAcl{NetworkAclId: aws.String(id), VpcId: aws.String(vpc), IsDefault: aws.Bool(isDefault), Entries: entries}
	for _, s := range subnets {
		a.Associations = append(a.Associations, ec2types.NetworkAclAssociation{NetworkAclId: aws.String(id), SubnetId: aws.String(s)})
	}
	return a
}

// allowAll is what a default ACL holds: allow everything at 100, the
// implicit "*" deny at 32767.
func allowAll(egress bool) []ec2types.NetworkAclEntry {
	return []ec2types.NetworkAclEntry{
		entry(100, egress, "-1", "allow", "0.0.0.0/0", nil),
		entry(32767, egress, "-1", "deny", "0.0.0.0/0", nil),
	}
}

func session(id, targetID, eni string) ec2types.TrafficMirrorSession {
	return ec2types.TrafficMirrorSession{
		TrafficMirrorSessionId: aws.String(id),
		TrafficMirrorTargetId:  aws.String(targetID),
		NetworkInterfaceId:     aws.String(eni),
		SessionNumber:          aws.Int32(1),
	}
}

// checkOneSensor checks a filter's verdict on one sensor: kept when
// wantReason is empty, otherwise rejected with exactly wantReason.
func checkOneSensor(t *testing.T, sensor Sensor, kept []Sensor, rejected []Rejection, wantReason string) {
	t.Helper()
	var wantKept []Sensor
	var wantRejected []Rejection
	if wantReason == "" {
		wantKept = []Sensor{sensor}
	} else {
		wantRejected = []Rejection{{TargetID: sensor.TargetID, Reason: wantReason}}
	}
	if diff := cmp.Diff(wantKept, kept, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("kept mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRejected, rejected, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("rejected mismatch (-want +got):\n%s", diff)
	}
}
