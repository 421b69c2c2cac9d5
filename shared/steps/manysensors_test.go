package steps

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// addSensors adds n sensors to the scenario's account, each an interface
// target on its own instance in us-east-1a, in a VPC of its own whose default
// ACL allows everything, behind a security group of its own that admits
// VXLAN from the scenario's VPC; so every step that filters on the
// candidates' ids gets n values or more. It returns the targets' ids.
func addSensors(f *ec2account.Account, sensorTag config.Tag, n int) []string {
	return addSensorsIn(f, sensorTag, n, "us-east-1a")
}

// addSensorsIn is addSensors with the sensors in zone.
func addSensorsIn(f *ec2account.Account, sensorTag config.Tag, n int, zone string) []string {
	var ids []string
	add := &snapshot.Snapshot{}
	for i := range n {
		id := func(prefix string) string { return fmt.Sprintf("%s-%017x", prefix, 0xbe0000+i) }
		target, eni, instance, group, vpcID := id("tmt"), id("eni"), id("i"), id("sg"), id("vpc")
		ip := fmt.Sprintf("10.1.%d.%d", i/200, 10+i%200)
		ids = append(ids, target)

		add.TrafficMirrorTargets = append(add.TrafficMirrorTargets, ec2types.TrafficMirrorTarget{
			TrafficMirrorTargetId: aws.String(target), Type: ec2types.TrafficMirrorTargetTypeNetworkInterface,
			NetworkInterfaceId: aws.String(eni), OwnerId: aws.String("123456789012"),
			Tags: []ec2types.Tag{{Key: aws.String(sensorTag.Key), Value: aws.String(sensorTag.Value)}},
		})
		add.NetworkInterfaces = append(add.NetworkInterfaces, ec2types.NetworkInterface{
			NetworkInterfaceId: aws.String(eni), SubnetId: aws.String(id("subnet")), VpcId: aws.String(vpcID),
			AvailabilityZone: aws.String(zone), PrivateIpAddress: aws.String(ip),
			PrivateIpAddresses: []ec2types.NetworkInterfacePrivateIpAddress{{Primary: aws.Bool(true), PrivateIpAddress: aws.String(ip)}},
			Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String(group)}},
			Attachment:         &ec2types.NetworkInterfaceAttachment{InstanceId: aws.String(instance), DeviceIndex: aws.Int32(0)},
			Status:             ec2types.NetworkInterfaceStatusInUse,
		})
		add.Reservations = append(add.Reservations, ec2types.Reservation{ReservationId: aws.String(id("r")),
			Instances: []ec2types.Instance{runningInstance(instance, eni, zone, ip)}})
		add.SecurityGroups = append(add.SecurityGroups, ec2types.SecurityGroup{
			GroupId: aws.String(group), GroupName: aws.String("sensor-" + group), VpcId: aws.String(vpcID),
			IpPermissions: []ec2types.IpPermission{{
				IpProtocol: aws.String("udp"), FromPort: aws.Int32(4789), ToPort: aws.Int32(4789),
				IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}},
			}},
		})
		allowAll := func(n int32, egress bool) ec2types.NetworkAclEntry {
			return ec2types.NetworkAclEntry{RuleNumber: aws.Int32(n), Egress: aws.Bool(egress), Protocol: aws.String("-1"),
				RuleAction: ec2types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0")}
		}
		add.NetworkAcls = append(add.NetworkAcls, ec2types.NetworkAcl{
			NetworkAclId: aws.String(id("acl")), VpcId: aws.String(vpcID), IsDefault: aws.Bool(true),
			Entries: []ec2types.NetworkAclEntry{allowAll(100, false), allowAll(100, true)},
		})
	}
	f.Put(add)
	return ids
}

// TestManySensorsAreDescribedInChunks places an instance in an account with
// 250 sensors, more than the 200 values EC2 accepts in one filter: each step
// must split its filter over two calls instead of failing the placement
// with FilterLimitExceeded, and still make one call per kind for what fits.
func TestManySensorsAreDescribedInChunks(t *testing.T) {
	const sensors = 250
	tests := []struct {
		name string
		// byTargetIDs configures the new sensors as TargetIds instead of finding them by tag.
		byTargetIDs bool
		gather      map[string]int
	}{
		{name: "sensors found by tag: one unfiltered DescribeTrafficMirrorTargets",
			gather: map[string]int{"DescribeTrafficMirrorTargets": 1, "DescribeNetworkInterfaces": 2, "DescribeInstances": 2}},
		{name: "sensors configured as TargetIds: their ids are described in two calls", byTargetIDs: true,
			gather: map[string]int{"DescribeTrafficMirrorTargets": 2, "DescribeNetworkInterfaces": 2, "DescribeInstances": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, cfg := loadScenario(t)
			ids := addSensors(acct, cfg.SensorTag, sensors)
			if tt.byTargetIDs {
				cfg.TargetIDs = ids
			}
			h := New(acct.Client, acct.ELBv2, cfg)
			want := map[string]map[string]int{
				workflow.StepCheckExistingSession: {"DescribeInstances": 1, "DescribeSubnets": 1, "DescribeTrafficMirrorSessions": 1, "DescribeTrafficMirrorTargets": 1},
				workflow.StepGatherCandidates:     tt.gather,
				workflow.StepFilterByZone:         {},
				workflow.StepFilterBySG:           {"DescribeSecurityGroups": 2},
				workflow.StepFilterByNACL:         {"DescribeNetworkAcls": 2},
				workflow.StepPickLeastLoaded:      {"DescribeTrafficMirrorSessions": 2},
				workflow.StepCreateSession:        {"CreateTrafficMirrorSession": 1},
			}
			acct.ResetCalls()
			p := primaryOf(t, h, app0)
			got := map[string]map[string]int{workflow.StepCheckExistingSession: acct.Calls()}
			for _, s := range workflow.Steps[1:] {
				acct.ResetCalls()
				var err error
				if p, err = laterSteps[s.Name](h, context.Background(), p); err != nil {
					t.Fatalf("%s: %v", s.Name, err)
				}
				got[s.Name] = acct.Calls()
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("calls per step (-want +got):\n%s", diff)
			}
			if p.Outcome != workflow.OutcomeCreated {
				t.Fatalf("outcome %q (%s), want %q", p.Outcome, p.Reason, workflow.OutcomeCreated)
			}
			if gathered := len(p.Steps[1].Kept); gathered < sensors {
				t.Errorf("%s kept %d sensors, want all %d new ones", workflow.StepGatherCandidates, gathered, sensors)
			}
			for _, r := range p.Steps[1:] {
				if len(r.Kept) < sensors && r.Step != workflow.StepPickLeastLoaded && r.Step != workflow.StepCreateSession {
					t.Errorf("%s kept %d sensors, want at least %d: %v", r.Step, len(r.Kept), sensors, r.Rejected)
				}
			}
		})
	}
}
