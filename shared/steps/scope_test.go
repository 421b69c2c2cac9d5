package steps

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// More of testdata/snapshots/three-zones.json.
const (
	app0Subnet   = "subnet-effd20edc218da048" // us-east-1a, 10.0.0.0/24
	sensorSubnet = "subnet-05f421c502822d6a7" // us-east-1a, where sensor0 and sensor3 are
	appGroup     = "sg-fd2bfbaf5ed131092"
	filter0      = "tmf-028da7ec9b76b272f"
	filter1      = "tmf-0f1f1f1f1f1f1f1f1" // added by the cases that need a rule's own filter
	nlbARN       = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/sensors/0123456789abcdef"
	nlbTarget    = "tmt-0b0b0b0b0b0b0b0b0"
	gwlbe        = "vpce-0e0e0e0e0e0e0e0e0"
	gwlbeTarget  = "tmt-0e0e0e0e0e0e0e0e0"
)

// withInterfaces gives app0 more interfaces: each in subnet, at device
// indexes 1, 2, ..., with an address of its own.
func withInterfaces(t testing.TB, a *ec2account.Account, subnets ...string) []string {
	t.Helper()
	snap := a.Snapshot()
	var enis []string
	for _, r := range snap.Reservations {
		for _, inst := range r.Instances {
			if aws.ToString(inst.InstanceId) != app0 {
				continue
			}
			for i, subnet := range subnets {
				eni := "eni-0" + strings.Repeat(string(rune('a'+i)), 16)
				enis = append(enis, eni)
				inst.NetworkInterfaces = append(inst.NetworkInterfaces, ec2types.InstanceNetworkInterface{
					NetworkInterfaceId: aws.String(eni), SubnetId: aws.String(subnet), VpcId: aws.String(vpc),
					PrivateIpAddress: aws.String("10.0.0." + string(rune('7'+i)) + "0"), InterfaceType: aws.String("interface"),
					Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(int32(i + 1)), NetworkCardIndex: aws.Int32(0), Status: ec2types.AttachmentStatusAttached},
					Groups:     []ec2types.GroupIdentifier{{GroupId: aws.String(appGroup)}},
				})
			}
			a.AddInstances(inst)
		}
	}
	return enis
}

// tagApp0 puts a tag on app0.
func tagApp0(a *ec2account.Account, key, value string) {
	for _, r := range a.Snapshot().Reservations {
		for _, inst := range r.Instances {
			if aws.ToString(inst.InstanceId) == app0 {
				inst.Tags = append(inst.Tags, ec2types.Tag{Key: aws.String(key), Value: aws.String(value)})
				a.AddInstances(inst)
			}
		}
	}
}

// foreignSessions gives eni n sessions made by someone else, numbers 1..n.
func foreignSessions(eni string, targets ...string) []ec2types.TrafficMirrorSession {
	var out []ec2types.TrafficMirrorSession
	for i, target := range targets {
		out = append(out, ec2types.TrafficMirrorSession{
			TrafficMirrorSessionId: aws.String("tms-0" + strings.Repeat(string(rune('a'+i)), 16)), NetworkInterfaceId: aws.String(eni),
			TrafficMirrorTargetId: aws.String(target), TrafficMirrorFilterId: aws.String(filter0), SessionNumber: aws.Int32(int32(i + 1)),
		})
	}
	return out
}

// sessionsOf lists the account's sessions from eni.
func sessionsOf(a *ec2account.Account, eni string) []ec2types.TrafficMirrorSession {
	return slices.DeleteFunc(a.Sessions(), func(s ec2types.TrafficMirrorSession) bool { return aws.ToString(s.NetworkInterfaceId) != eni })
}

// byENI finds an interface's placement in the instance's.
func byENI(t *testing.T, in workflow.Instance, eni string) workflow.Placement {
	t.Helper()
	for _, p := range in.Interfaces {
		if p.Source != nil && p.Source.NetworkInterfaceID == eni {
			return p
		}
	}
	t.Fatalf("no placement of %s among %d interfaces (%s)", eni, len(in.Interfaces), in.Reason)
	return workflow.Placement{}
}

// TestScopeAndEligibility runs whole placements of app0 as the state
// machine runs them (CheckExistingSession, then each interface through the
// candidate steps), one case per rule of the snapshot format's "What a
// placement must decide".
func TestScopeAndEligibility(t *testing.T) {
	tests := []struct {
		name  string
		setup func(testing.TB, *ec2account.Account, *config.Config)
		check func(*testing.T, *ec2account.Account, workflow.Instance)
	}{
		{name: "rule 2: an instance carrying ExcludeTag is opted out",
			setup: func(_ testing.TB, a *ec2account.Account, _ *config.Config) { tagApp0(a, "mirrorflow:exclude", "true") },
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				if in.Outcome != workflow.OutcomeSkipped || !strings.Contains(in.Reason, "opted out") {
					t.Errorf("%s (%s), want skipped as opted out", in.Outcome, in.Reason)
				}
			}},
		{name: "rule 3: an interface no rule matches is out of scope",
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				c.Rules = []config.Rule{{Name: "prod", Match: config.Match{Tags: []config.Tag{{Key: "env", Value: "prod"}}}}}
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				if p := byENI(t, in, app0ENI); p.Outcome != workflow.OutcomeSkipped || !strings.Contains(p.Reason, "out of scope") {
					t.Errorf("%s (%s), want skipped as out of scope", p.Outcome, p.Reason)
				}
			}},
		{name: "rule 3: the first matching rule decides, with its own filter, session number and candidates",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				a.Put(&snapshot.Snapshot{TrafficMirrorFilters: []ec2types.TrafficMirrorFilter{{TrafficMirrorFilterId: aws.String(filter1)}}})
				c.Rules = []config.Rule{
					{Name: "app-subnet", Match: config.Match{SubnetIDs: []string{app0Subnet}}, FilterID: filter1, SessionNumber: 7, TargetIDs: []string{sensor3}},
					{Name: "everything", FilterID: filter0},
				}
			},
			check: func(t *testing.T, a *ec2account.Account, in workflow.Instance) {
				p := byENI(t, in, app0ENI)
				if p.Outcome != workflow.OutcomeCreated || p.TargetID != sensor3 || p.Scope == nil || p.Scope.Rule != "app-subnet" {
					t.Fatalf("%s on %s under %+v (%s), want created on the rule's only candidate %s", p.Outcome, p.TargetID, p.Scope, p.Reason, sensor3)
				}
				s := sessionsOf(a, app0ENI)
				if len(s) != 1 || aws.ToString(s[0].TrafficMirrorFilterId) != filter1 || aws.ToInt32(s[0].SessionNumber) != 7 {
					t.Errorf("sessions of %s = %+v, want one with the rule's filter %s and number 7", app0ENI, s, filter1)
				}
			}},
		{name: "rule 4: an instance type that cannot be a source is skipped, naming it",
			setup: func(_ testing.TB, a *ec2account.Account, _ *config.Config) {
				for _, r := range a.Snapshot().Reservations {
					for _, inst := range r.Instances {
						if aws.ToString(inst.InstanceId) == app0 {
							inst.InstanceType = ec2types.InstanceTypeT2Micro
							a.AddInstances(inst)
						}
					}
				}
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				if p := byENI(t, in, app0ENI); p.Outcome != workflow.OutcomeSkipped || !strings.Contains(p.Reason, "t2") {
					t.Errorf("%s (%s), want skipped naming t2", p.Outcome, p.Reason)
				}
			}},
		{name: "rule 4: an interface in an IPv6-only subnet is skipped",
			setup: func(_ testing.TB, a *ec2account.Account, _ *config.Config) {
				for _, s := range a.Snapshot().Subnets {
					if aws.ToString(s.SubnetId) == app0Subnet {
						s.Ipv6Native = aws.Bool(true)
						a.Put(&snapshot.Snapshot{Subnets: []ec2types.Subnet{s}})
					}
				}
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				if p := byENI(t, in, app0ENI); p.Outcome != workflow.OutcomeSkipped || !strings.Contains(p.Reason, "IPv6-only") {
					t.Errorf("%s (%s), want skipped as IPv6-only", p.Outcome, p.Reason)
				}
			}},
		{name: "rules 3 then 4: an interface with no IPv4 address is out of scope unless a rule matches it, and then skipped as IPv6-only under that rule",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				const v6a, v6b = "subnet-0666666666666666a", "subnet-0666666666666666b"
				v6 := func(id string) ec2types.Subnet {
					return ec2types.Subnet{SubnetId: aws.String(id), VpcId: aws.String(vpc), AvailabilityZone: aws.String("us-east-1a"), Ipv6Native: aws.Bool(true),
						Ipv6CidrBlockAssociationSet: []ec2types.SubnetIpv6CidrBlockAssociation{{Ipv6CidrBlock: aws.String("2600:1f18::/64")}}}
				}
				a.Put(&snapshot.Snapshot{Subnets: []ec2types.Subnet{v6(v6a), v6(v6b)}})
				c.Interfaces = config.InterfacesAll
				c.Rules = []config.Rule{{Name: "app", Match: config.Match{SubnetIDs: []string{app0Subnet}}}, {Name: "v6", Match: config.Match{SubnetIDs: []string{v6a}}}}
				for _, r := range a.Snapshot().Reservations {
					for _, inst := range r.Instances {
						if aws.ToString(inst.InstanceId) != app0 {
							continue
						}
						// Listed out of device order, as DescribeInstances may list them.
						for i, subnet := range []string{v6b, v6a} {
							inst.NetworkInterfaces = append(inst.NetworkInterfaces, ec2types.InstanceNetworkInterface{
								NetworkInterfaceId: aws.String("eni-06666666666666660" + string(rune('2'-i))), SubnetId: aws.String(subnet), VpcId: aws.String(vpc),
								InterfaceType: aws.String("interface"), Ipv6Addresses: []ec2types.InstanceIpv6Address{{Ipv6Address: aws.String("2600:1f18::" + string(rune('2'-i)))}},
								Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(int32(2 - i)), NetworkCardIndex: aws.Int32(0), Status: ec2types.AttachmentStatusAttached},
							})
						}
						a.AddInstances(inst)
					}
				}
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				var order []string
				for _, p := range in.Interfaces {
					order = append(order, p.Source.NetworkInterfaceID)
				}
				if want := []string{app0ENI, "eni-066666666666666601", "eni-066666666666666602"}; !slices.Equal(order, want) {
					t.Errorf("interfaces in order %v, want device order %v", order, want)
				}
				if p := byENI(t, in, "eni-066666666666666601"); p.Outcome != workflow.OutcomeSkipped || p.Scope == nil || p.Scope.Rule != "v6" || !strings.Contains(p.Reason, "IPv6-only") {
					t.Errorf("device 1: %s by %+v (%s), want skipped as IPv6-only under rule v6", p.Outcome, p.Scope, p.Reason)
				}
				if p := byENI(t, in, "eni-066666666666666602"); p.Outcome != workflow.OutcomeSkipped || p.Scope != nil || !strings.Contains(p.Reason, "out of scope") {
					t.Errorf("device 2: %s by %+v (%s), want skipped as out of scope", p.Outcome, p.Scope, p.Reason)
				}
			}},
		{name: "rule 5: a session to a draining target does not count, and the draining target is no candidate",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor0, sensor3}
				for _, tgt := range a.Snapshot().TrafficMirrorTargets {
					if aws.ToString(tgt.TrafficMirrorTargetId) == sensor0 {
						tgt.Tags = append(tgt.Tags, ec2types.Tag{Key: aws.String("mirrorflow:draining"), Value: aws.String("true")})
						a.AddTrafficMirrorTargets(tgt)
					}
				}
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				p := byENI(t, in, app0ENI)
				if p.Outcome != workflow.OutcomeCreated || p.TargetID != sensor3 {
					t.Fatalf("%s on %s (%s), want created on %s, sensor0 draining", p.Outcome, p.TargetID, p.Reason, sensor3)
				}
				gather := p.Steps[1]
				if !slices.ContainsFunc(gather.Rejected, func(r placement.Rejection) bool {
					return r.TargetID == sensor0 && strings.Contains(r.Reason, "draining")
				}) {
					t.Errorf("GatherCandidates rejected %v, want %s as draining", gather.Rejected, sensor0)
				}
			}},
		{name: "rule 6: an interface that still has 3 sessions fails before any candidate work",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor3} // the 3 sessions go elsewhere, and are not mirrorflow's
				a.AddTrafficMirrorSessions(foreignSessions(app0ENI, sensor1, sensor2, sensor0)...)
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				p := byENI(t, in, app0ENI)
				if p.Outcome != workflow.OutcomeFailed || p.Error != workflow.ErrorNoRoomOnSource || len(p.Steps) != 1 {
					t.Errorf("%s %s after %d steps (%s), want failed with %s at CheckExistingSession", p.Outcome, p.Error, len(p.Steps), p.Reason, workflow.ErrorNoRoomOnSource)
				}
			}},
		{name: "rule 6: the interface's stale mirrorflow session is deleted just before the new one is created",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor0, sensor3}
				stale := foreignSessions(app0ENI, sensor2) // session number 1, to a target no longer a candidate
				stale[0].Tags = []ec2types.Tag{{Key: aws.String(TagManagedBy), Value: aws.String(ManagedByValue)}}
				a.AddTrafficMirrorSessions(stale...)
			},
			check: func(t *testing.T, a *ec2account.Account, in workflow.Instance) {
				p := byENI(t, in, app0ENI)
				s := sessionsOf(a, app0ENI)
				if p.Outcome != workflow.OutcomeCreated || len(s) != 1 || aws.ToString(s[0].TrafficMirrorSessionId) != p.SessionID {
					t.Errorf("%s (%s); sessions of %s %v, want only the new one: the stale one deleted, its session number reused", p.Outcome, p.Reason, app0ENI, s)
				}
				if !strings.Contains(p.Reason, "deleted stale session") {
					t.Errorf("reason %q does not say the stale session was deleted", p.Reason)
				}
			}},
		{name: "Interfaces all: each source interface is a placement of its own, one placed, one skipped, one failed",
			setup: func(t testing.TB, a *ec2account.Account, c *config.Config) {
				enis := withInterfaces(t, a, app0Subnet, sensorSubnet)
				a.AddTrafficMirrorSessions(foreignSessions(enis[0], sensor1, sensor2, sensor0)...)
				c.TargetIDs = []string{sensor3}
				c.Interfaces = config.InterfacesAll
				c.Rules = []config.Rule{{Name: "apps", Match: config.Match{SubnetIDs: []string{app0Subnet}}}}
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				if len(in.Interfaces) != 3 {
					t.Fatalf("%d interfaces, want 3", len(in.Interfaces))
				}
				want := map[string]workflow.Outcome{app0ENI: workflow.OutcomeCreated, "eni-0aaaaaaaaaaaaaaaa": workflow.OutcomeFailed, "eni-0bbbbbbbbbbbbbbbb": workflow.OutcomeSkipped}
				for eni, o := range want {
					if p := byENI(t, in, eni); p.Outcome != o {
						t.Errorf("%s: %s (%s), want %s", eni, p.Outcome, p.Reason, o)
					}
				}
			}},
		{name: "rule 10: a Network Load Balancer without a UDP 4789 listener is rejected, saying what to add",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				a.Put(nlb(elbv2types.ProtocolEnumTcp))
				c.TargetIDs = []string{nlbTarget}
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				p := byENI(t, in, app0ENI)
				if p.Outcome != workflow.OutcomeFailed || !strings.Contains(p.Reason, nlbTarget) || !strings.Contains(p.Reason, "4789") {
					t.Errorf("%s (%s), want failed at GatherCandidates rejecting %s for want of a UDP 4789 listener", p.Outcome, p.Reason, nlbTarget)
				}
			}},
		{name: "rules 7 and 10: a Network Load Balancer in the source's zone with a TCP_UDP 4789 listener is placed",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				a.Put(nlb(elbv2types.ProtocolEnumTcpUdp))
				c.TargetIDs = []string{nlbTarget}
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				p := byENI(t, in, app0ENI)
				if p.Outcome != workflow.OutcomeCreated || p.TargetID != nlbTarget {
					t.Errorf("%s on %s (%s), want created on %s", p.Outcome, p.TargetID, p.Reason, nlbTarget)
				}
				if zone := p.Steps[2]; !strings.Contains(zone.Note, "1 of 1 sensor(s) in us-east-1a") {
					t.Errorf("zone note %q, want the NLB counted in the source's zone", zone.Note)
				}
			}},
		{name: "rule 7: a Gateway Load Balancer endpoint is in its subnet's zone",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				a.Put(&snapshot.Snapshot{
					VPCEndpoints: []ec2types.VpcEndpoint{{VpcEndpointId: aws.String(gwlbe), VpcEndpointType: ec2types.VpcEndpointTypeGatewayLoadBalancer,
						VpcId: aws.String(vpc), SubnetIds: []string{sensorSubnet}, State: ec2types.StateAvailable}},
					TrafficMirrorTargets: []ec2types.TrafficMirrorTarget{{TrafficMirrorTargetId: aws.String(gwlbeTarget),
						Type: ec2types.TrafficMirrorTargetTypeGatewayLoadBalancerEndpoint, GatewayLoadBalancerEndpointId: aws.String(gwlbe)}},
				})
				c.TargetIDs = []string{gwlbeTarget}
				c.LocalZoneOnly = true
			},
			check: func(t *testing.T, _ *ec2account.Account, in workflow.Instance) {
				if p := byENI(t, in, app0ENI); p.Outcome != workflow.OutcomeCreated || p.TargetID != gwlbeTarget {
					t.Errorf("%s on %s (%s), want created on %s in us-east-1a with LocalZoneOnly", p.Outcome, p.TargetID, p.Reason, gwlbeTarget)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, cfg := loadScenario(t)
			tt.setup(t, acct, &cfg)
			in, err := Run(context.Background(), New(acct.Client, acct.ELBv2, cfg), startFor(app0))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			tt.check(t, acct, in)
		})
	}
}

// nlb is a Network Load Balancer in us-east-1a and us-east-1b, a listener
// of protocol on port 4789, and a traffic mirror target on it.
func nlb(protocol elbv2types.ProtocolEnum) *snapshot.Snapshot {
	return &snapshot.Snapshot{
		LoadBalancers: []elbv2types.LoadBalancer{{LoadBalancerArn: aws.String(nlbARN), LoadBalancerName: aws.String("sensors"),
			Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: elbv2types.LoadBalancerSchemeEnumInternal, VpcId: aws.String(vpc),
			AvailabilityZones: []elbv2types.AvailabilityZone{{ZoneName: aws.String("us-east-1a")}, {ZoneName: aws.String("us-east-1b")}}}},
		Listeners: []elbv2types.Listener{{ListenerArn: aws.String(strings.Replace(nlbARN, "loadbalancer", "listener", 1) + "/1"),
			LoadBalancerArn: aws.String(nlbARN), Port: aws.Int32(4789), Protocol: protocol}},
		TrafficMirrorTargets: []ec2types.TrafficMirrorTarget{{TrafficMirrorTargetId: aws.String(nlbTarget),
			Type: ec2types.TrafficMirrorTargetTypeNetworkLoadBalancer, NetworkLoadBalancerArn: aws.String(nlbARN)}},
	}
}
