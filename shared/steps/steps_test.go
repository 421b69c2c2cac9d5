package steps

import (
	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"

	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Resources of testdata/snapshots/three-zones.json, a VPC with app instances and one
// sensor per zone (two in us-east-1a), where app1 is already mirrored.
const (
	app0, app0ENI = "i-5202beb1625020651", "eni-7b8fba278842ef307" // us-east-1a, 10.0.0.25
	app1, app1ENI = "i-e45dd1e7315dfb071", "eni-73dbed6f9bbef411c" // us-east-1b, mirrored to sensor1
	app2          = "i-0e26b3747ee8aab5c"                          // us-east-1c, 10.0.2.32
	sensor0       = "tmt-f6de7f1f2d1b3a796"                        // us-east-1a, 3 sessions
	sensor0ENI    = "eni-cc244a893f8bcfd36"
	sensor1       = "tmt-7273e72bf6fabc352" // us-east-1b, 1 session (app1)
	sensor2       = "tmt-c32ab334bd3ac1d7e" // us-east-1c
	sensor3       = "tmt-bfa588fdd5ccb6885" // us-east-1a, no session
	app1Session   = "tms-65b553f9b3af33c63"
	sensorGroup   = "sg-2860f634c900c590d"
	vpc           = "vpc-f2f796cfff47549ed"
	executionID   = "arn:aws:states:us-east-1:123456789012:execution:mirrorflow-placement:3f1c2a9e"
)

// loadScenario starts the EC2 simulator holding the example account
// (testdata/snapshots/three-zones.json), and returns it with the account's
// configuration; opts tune the simulator.
func loadScenario(t testing.TB, opts ...ec2sim.Options) (*ec2account.Account, config.Config) {
	t.Helper()
	snap := ec2account.Example(t, "three-zones.json")
	var o ec2sim.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	return ec2account.Start(t, snap, o), *snap.Config
}

func startFor(instanceID string) workflow.Start {
	input, err := json.Marshal(workflow.ManualInput{InstanceID: instanceID})
	if err != nil {
		panic(err)
	}
	return workflow.Start{Input: input, ExecutionID: executionID}
}

func sessionsFrom(target string, n int) []ec2types.TrafficMirrorSession {
	var out []ec2types.TrafficMirrorSession
	for i := range n {
		out = append(out, ec2types.TrafficMirrorSession{
			TrafficMirrorSessionId: aws.String("tms-f" + strings.Repeat("0", 14) + string(rune('a'+i%26)) + string(rune('a'+i/26))),
			TrafficMirrorTargetId:  aws.String(target),
			TrafficMirrorFilterId:  aws.String("tmf-028da7ec9b76b272f"),
			NetworkInterfaceId:     aws.String("eni-f" + strings.Repeat("0", 14) + string(rune('a'+i%26)) + string(rune('a'+i/26))),
			SessionNumber:          aws.Int32(1),
		})
	}
	return out
}

func denyVXLANGroup() ec2types.SecurityGroup {
	return ec2types.SecurityGroup{
		GroupId: aws.String(sensorGroup), GroupName: aws.String("sg-sensor"), VpcId: aws.String(vpc),
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}},
		}},
	}
}

// TestRun runs whole placements over the scenario, as mirrorctl plan does,
// each case changing the account or configuration the way its name says.
func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		instance string
		setup    func(testing.TB, *ec2account.Account, *config.Config)
		// want is compared on Outcome, TargetID, SessionID (when not "*").
		wantOutcome workflow.Outcome
		wantTarget  string
		wantSession string
		// wantErrType is the Lambda errorType of the failing step, wantErrStep the step it names.
		wantErrType string
		wantErrStep string
		wantReason  []string
	}{
		{name: "existing session to a candidate means exists", instance: app1,
			wantOutcome: workflow.OutcomeExists, wantTarget: sensor1, wantSession: app1Session},
		// sensor0 (3 sessions) and sensor3 (none) share app0's zone; the fewest sessions win.
		{name: "the sensor with the fewest sessions in the source's zone is chosen", instance: app0,
			wantOutcome: workflow.OutcomeCreated, wantTarget: sensor3, wantSession: "*"},
		{name: "the only sensor in the source's zone is chosen", instance: app2,
			wantOutcome: workflow.OutcomeCreated, wantTarget: sensor2, wantSession: "*"},
		{name: "a session to a target that is not a candidate does not count", instance: app1,
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor0, sensor2, sensor3}
				c.SessionNumber = 2
			},
			// No candidate in us-east-1b: of the three others, sensor2 and sensor3
			// have no session; the tie-break's hash takes sensor2 for this source.
			wantOutcome: workflow.OutcomeCreated, wantTarget: sensor2, wantSession: "*"},
		// app1's session to sensor1 holds number 1 and is not mirrorflow's, so not stale.
		{name: "a session number taken by another session fails the interface before any candidate work, naming the session", instance: app1,
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor0, sensor2, sensor3}
			},
			wantOutcome: workflow.OutcomeFailed, wantReason: []string{app1Session, "session number 1"}},
		{name: "an instance that is itself a sensor is skipped", instance: "i-0a0a0a0a0a0a0a0a0",
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				f.AddInstances(runningInstance("i-0a0a0a0a0a0a0a0a0", sensor0ENI, "us-east-1a", "10.0.100.10"))
			},
			wantOutcome: workflow.OutcomeSkipped, wantReason: []string{"is a sensor", "traffic mirror target " + sensor0}},
		{name: "an instance without a primary interface is skipped", instance: "i-0b0b0b0b0b0b0b0b0",
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				inst := runningInstance("i-0b0b0b0b0b0b0b0b0", "", "us-east-1a", "")
				inst.NetworkInterfaces = nil
				f.AddInstances(inst)
			},
			wantOutcome: workflow.OutcomeSkipped, wantReason: []string{"no primary network interface"}},
		{name: "a stopped instance is skipped: it has no traffic to mirror until it starts again", instance: "i-0c0c0c0c0c0c0c0c0",
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				inst := runningInstance("i-0c0c0c0c0c0c0c0c0", "eni-0c0c0c0c0c0c0c0c0", "us-east-1a", "10.0.0.99")
				inst.State.Name = ec2types.InstanceStateNameStopped
				f.AddInstances(inst)
			},
			wantOutcome: workflow.OutcomeSkipped, wantReason: []string{"stopped, not running"}},
		{name: "a terminated instance is skipped", instance: "i-0e0e0e0e0e0e0e0e0",
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				inst := runningInstance("i-0e0e0e0e0e0e0e0e0", "eni-0e0e0e0e0e0e0e0e0", "us-east-1a", "10.0.0.98")
				inst.State.Name = ec2types.InstanceStateNameTerminated
				f.AddInstances(inst)
			},
			wantOutcome: workflow.OutcomeSkipped, wantReason: []string{"terminated, not running"}},
		{name: "an instance EC2 no longer knows is skipped, not dead-lettered", instance: "i-0d0d0d0d0d0d0d0d0",
			wantOutcome: workflow.OutcomeSkipped, wantReason: []string{"no longer exists", "InvalidInstanceID.NotFound"}},
		{name: "no tagged sensor ends in NoReachableSensor naming GatherCandidates", instance: app0,
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				c.SensorTag = config.Tag{Key: "team", Value: "nsm"}
			},
			wantErrType: "NoReachableSensor", wantErrStep: workflow.StepGatherCandidates, wantReason: []string{"team=nsm"}},
		{name: "a configured target that does not exist is rejected and the others still place", instance: app0,
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{"tmt-0123456789abcdef0", sensor3}
			},
			wantOutcome: workflow.OutcomeCreated, wantTarget: sensor3, wantSession: "*"},
		{name: "LocalZoneOnly with no sensor in the zone ends in NoReachableSensor naming FilterByAvailabilityZone", instance: app0,
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor1, sensor2}
				c.LocalZoneOnly = true
			},
			wantErrType: "NoReachableSensor", wantErrStep: workflow.StepFilterByZone, wantReason: []string{sensor1, sensor2}},
		{name: "without a sensor in the zone a cross-zone sensor is chosen", instance: app0,
			setup:       func(_ testing.TB, _ *ec2account.Account, c *config.Config) { c.TargetIDs = []string{sensor1} },
			wantOutcome: workflow.OutcomeCreated, wantTarget: sensor1, wantSession: "*"},
		{name: "no sensor admits VXLAN ends in NoReachableSensor naming FilterBySecurityGroup", instance: app0,
			setup:       func(_ testing.TB, f *ec2account.Account, _ *config.Config) { f.AddSecurityGroups(denyVXLANGroup()) },
			wantErrType: "NoReachableSensor", wantErrStep: workflow.StepFilterBySG, wantReason: []string{sensor0, sensor1, sensor2, sensor3}},
		{name: "a prefix list naming the source's subnet admits VXLAN", instance: app0,
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				g := denyVXLANGroup()
				g.IpPermissions = append(g.IpPermissions, ec2types.IpPermission{
					IpProtocol: aws.String("udp"), FromPort: aws.Int32(4789), ToPort: aws.Int32(4789),
					PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String("pl-0a1b2c3d4e5f60718")}},
				})
				f.AddSecurityGroups(g)
				f.AddPrefixList("pl-0a1b2c3d4e5f60718", "10.0.0.0/24")
			},
			wantOutcome: workflow.OutcomeCreated, wantTarget: sensor3, wantSession: "*"},
		{name: "a sensor subnet ACL that denies UDP 4789 ends in NoReachableSensor naming FilterByNetworkACL", instance: app0,
			setup: func(t testing.TB, f *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor0, sensor3} // both in subnet-05f421c502822d6a7
				reassociate(t, f, "subnet-05f421c502822d6a7", denyVXLANACL("acl-0e0e0e0e0e0e0e0e0", "subnet-05f421c502822d6a7"))
			},
			wantErrType: "NoReachableSensor", wantErrStep: workflow.StepFilterByNACL, wantReason: []string{sensor0, sensor3}},
		{name: "a full sensor is dropped and another of the zone is chosen", instance: app0,
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				f.AddTrafficMirrorSessions(sessionsFrom(sensor3, 10)...)
			},
			wantOutcome: workflow.OutcomeCreated, wantTarget: sensor0, wantSession: "*"},
		{name: "every sensor full ends in NoReachableSensor naming PickLeastLoaded", instance: app0,
			setup: func(_ testing.TB, f *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor3}
				f.AddTrafficMirrorSessions(sessionsFrom(sensor3, 10)...)
			},
			wantErrType: "NoReachableSensor", wantErrStep: workflow.StepPickLeastLoaded, wantReason: []string{sensor3, "full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acct, cfg := loadScenario(t)
			if tt.setup != nil {
				tt.setup(t, acct, &cfg)
			}
			before := len(acct.Sessions())
			p, err := runPrimary(context.Background(), New(acct.Client, acct.ELBv2, cfg), startFor(tt.instance))
			if tt.wantErrType != "" {
				if err == nil {
					t.Fatalf("Run succeeded with outcome %q, want %s", p.Outcome, tt.wantErrType)
				}
				if got := steperr.TypeName(err); got != tt.wantErrType {
					t.Fatalf("Run error type = %s (%v), want %s", got, err, tt.wantErrType)
				}
				if p.Outcome != workflow.OutcomeFailed {
					t.Errorf("failed placement has outcome %q", p.Outcome)
				}
				var nrs *steperr.NoReachableSensor
				if errors.As(err, &nrs) && nrs.Step != tt.wantErrStep {
					t.Errorf("NoReachableSensor names step %s, want %s", nrs.Step, tt.wantErrStep)
				}
				for _, want := range append(tt.wantReason, tt.wantErrStep) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				if n := len(acct.Sessions()); n != before {
					t.Errorf("a failed placement changed the sessions from %d to %d", before, n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if p.Outcome != tt.wantOutcome || p.TargetID != tt.wantTarget {
				t.Errorf("Run = outcome %q target %q, want %q %q (reason %q)", p.Outcome, p.TargetID, tt.wantOutcome, tt.wantTarget, p.Reason)
			}
			for _, want := range tt.wantReason {
				if !strings.Contains(p.Reason, want) {
					t.Errorf("reason %q does not mention %q", p.Reason, want)
				}
			}
			switch tt.wantSession {
			case "*":
				s, ok := acct.Session(p.SessionID)
				if !ok {
					t.Fatalf("the account has no session %q", p.SessionID)
				}
				if aws.ToString(s.NetworkInterfaceId) != p.Source.NetworkInterfaceID || aws.ToString(s.TrafficMirrorTargetId) != p.TargetID {
					t.Errorf("created session %s goes %s -> %s, want %s -> %s", p.SessionID,
						aws.ToString(s.NetworkInterfaceId), aws.ToString(s.TrafficMirrorTargetId), p.Source.NetworkInterfaceID, p.TargetID)
				}
				if aws.ToInt32(s.SessionNumber) != cfg.SessionNumber || aws.ToString(s.TrafficMirrorFilterId) != cfg.FilterID {
					t.Errorf("created session has number %d filter %s, want %d %s", aws.ToInt32(s.SessionNumber), aws.ToString(s.TrafficMirrorFilterId), cfg.SessionNumber, cfg.FilterID)
				}
			default:
				if p.SessionID != tt.wantSession {
					t.Errorf("SessionID = %q, want %q", p.SessionID, tt.wantSession)
				}
				if n := len(acct.Sessions()); n != before {
					t.Errorf("outcome %s changed the sessions from %d to %d", p.Outcome, before, n)
				}
			}
		})
	}
}

func runningInstance(id, eni, zone, ip string) ec2types.Instance {
	return ec2types.Instance{
		InstanceId:   aws.String(id),
		InstanceType: ec2types.InstanceTypeM5Large,
		State:        &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning, Code: aws.Int32(16)},
		Placement:    &ec2types.Placement{AvailabilityZone: aws.String(zone)},
		SubnetId:     aws.String("subnet-05f421c502822d6a7"),
		VpcId:        aws.String(vpc),
		NetworkInterfaces: []ec2types.InstanceNetworkInterface{{
			NetworkInterfaceId: aws.String(eni),
			PrivateIpAddress:   aws.String(ip),
			SubnetId:           aws.String("subnet-05f421c502822d6a7"),
			VpcId:              aws.String(vpc),
			Attachment:         &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0), NetworkCardIndex: aws.Int32(0)},
			Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String(sensorGroup)}},
		}},
	}
}

// reassociate moves subnet from whichever ACL holds it to acl, as
// ReplaceNetworkAclAssociation does: a subnet has exactly one ACL.
func reassociate(t testing.TB, f *ec2account.Account, subnet string, acl ec2types.NetworkAcl) {
	t.Helper()
	out, err := f.Client.DescribeNetworkAcls(context.Background(), &ec2.DescribeNetworkAclsInput{
		Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{subnet}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range out.NetworkAcls {
		old.Associations = slices.DeleteFunc(slices.Clone(old.Associations), func(a ec2types.NetworkAclAssociation) bool { return aws.ToString(a.SubnetId) == subnet })
		f.AddNetworkACLs(old)
	}
	f.AddNetworkACLs(acl)
	f.ResetCalls()
}

func denyVXLANACL(id, subnet string) ec2types.NetworkAcl {
	entry := func(n int32, egress bool, action ec2types.RuleAction, proto string) ec2types.NetworkAclEntry {
		e := ec2types.NetworkAclEntry{RuleNumber: aws.Int32(n), Egress: aws.Bool(egress), RuleAction: action, Protocol: aws.String(proto), CidrBlock: aws.String("0.0.0.0/0")}
		if proto == "17" {
			e.PortRange = &ec2types.PortRange{From: aws.Int32(4789), To: aws.Int32(4789)}
		}
		return e
	}
	return ec2types.NetworkAcl{
		NetworkAclId: aws.String(id), VpcId: aws.String(vpc), IsDefault: aws.Bool(false),
		Associations: []ec2types.NetworkAclAssociation{{SubnetId: aws.String(subnet), NetworkAclId: aws.String(id)}},
		Entries: []ec2types.NetworkAclEntry{
			entry(90, false, ec2types.RuleActionDeny, "17"),
			entry(100, false, ec2types.RuleActionAllow, "-1"),
			entry(100, true, ec2types.RuleActionAllow, "-1"),
		},
	}
}

// stepFunc is one step as the state machine sees it: the previous payload in, the next out.
type stepFunc func(*Handlers, context.Context, workflow.Placement) (workflow.Placement, error)

var laterSteps = map[string]stepFunc{
	workflow.StepGatherCandidates: (*Handlers).GatherCandidates,
	workflow.StepFilterByZone:     (*Handlers).FilterByAvailabilityZone,
	workflow.StepFilterBySG:       (*Handlers).FilterBySecurityGroup,
	workflow.StepFilterByNACL:     (*Handlers).FilterByNetworkACL,
	workflow.StepPickLeastLoaded:  (*Handlers).PickLeastLoaded,
	workflow.StepCreateSession:    (*Handlers).CreateSession,
}

// runPrimary runs the placement of the instance's primary interface, as
// Run does, and returns that interface's payload; when CheckExistingSession
// decides the instance as a whole, a payload saying so.
func runPrimary(ctx context.Context, h *Handlers, start workflow.Start) (workflow.Placement, error) {
	in, err := h.CheckExistingSession(ctx, start)
	if err != nil || in.Outcome != "" || len(in.Interfaces) == 0 {
		return workflow.Placement{InstanceID: in.InstanceID, Outcome: in.Outcome, Reason: in.Reason, Steps: in.Steps}, err
	}
	return RunInterface(ctx, h, in.Interfaces[0])
}

// primaryOf is the payload CheckExistingSession hands on for the
// instance's primary interface.
func primaryOf(t *testing.T, h *Handlers, instance string) workflow.Placement {
	t.Helper()
	in, err := h.CheckExistingSession(context.Background(), startFor(instance))
	if err != nil {
		t.Fatalf("CheckExistingSession: %v", err)
	}
	if len(in.Interfaces) != 1 {
		t.Fatalf("CheckExistingSession found %d source interfaces of %s (%s), want the primary one", len(in.Interfaces), instance, in.Reason)
	}
	return in.Interfaces[0]
}

// payloadsBefore runs the placement of instance step by step and returns the
// payload each step receives, keyed by step name.
func payloadsBefore(t *testing.T, h *Handlers, instance string) map[string]workflow.Placement {
	t.Helper()
	out := map[string]workflow.Placement{}
	p := primaryOf(t, h, instance)
	for _, s := range workflow.Steps[1:] {
		out[s.Name] = p
		if s.Name == workflow.StepCreateSession {
			break
		}
		var err error
		if p, err = laterSteps[s.Name](h, context.Background(), p); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
	}
	return out
}

// TestStepsCallOnlyTheirDeclaredActions checks each step against the IAM
// contract in workflow.Steps: nothing outside its EC2Actions, and one
// Describe per kind of resource however many candidates there are.
func TestStepsCallOnlyTheirDeclaredActions(t *testing.T) {
	acct, cfg := loadScenario(t)
	h := New(acct.Client, acct.ELBv2, cfg)
	payloads := payloadsBefore(t, h, app0)
	want := map[string]map[string]int{
		workflow.StepCheckExistingSession: {"DescribeInstances": 1, "DescribeSubnets": 1, "DescribeTrafficMirrorSessions": 1, "DescribeTrafficMirrorTargets": 1},
		// The scenario's sensor interfaces are not attached to instances, so there is no instance to describe.
		workflow.StepGatherCandidates: {"DescribeTrafficMirrorTargets": 1, "DescribeNetworkInterfaces": 1},
		workflow.StepFilterByZone:     {},
		workflow.StepFilterBySG:       {"DescribeSecurityGroups": 1},
		workflow.StepFilterByNACL:     {"DescribeNetworkAcls": 1},
		workflow.StepPickLeastLoaded:  {"DescribeTrafficMirrorSessions": 1},
		// app0's interface had no session, so there is nothing stale to look for: only the create.
		workflow.StepCreateSession: {"CreateTrafficMirrorSession": 1},
	}
	for _, s := range workflow.Steps {
		t.Run(s.Name, func(t *testing.T) {
			acct.ResetCalls()
			var err error
			if s.Name == workflow.StepCheckExistingSession {
				_, err = h.CheckExistingSession(context.Background(), startFor(app0))
			} else {
				_, err = laterSteps[s.Name](h, context.Background(), payloads[s.Name])
			}
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			got := acct.Calls()
			for action, n := range got {
				if !slices.Contains(s.EC2Actions, action) {
					t.Errorf("%s called %s, which its IAM role does not grant (EC2Actions %v)", s.Name, action, s.EC2Actions)
				}
				if n > 1 {
					t.Errorf("%s called %s %d times, want one batched call", s.Name, action, n)
				}
			}
			if diff := cmp.Diff(want[s.Name], got); diff != "" {
				t.Errorf("%s calls (-want +got):\n%s", s.Name, diff)
			}
		})
	}
}

// TestAttachedSensorsAreSizedByTheirInstance checks GatherCandidates
// describes the sensors' instances in one call and takes capacity from
// their type.
func TestAttachedSensorsAreSizedByTheirInstance(t *testing.T) {
	acct, cfg := loadScenario(t)
	for i, eni := range []string{sensor0ENI, "eni-9715505e602618e55"} {
		id := []string{"i-0f0f0f0f0f0f0f0f1", "i-0f0f0f0f0f0f0f0f2"}[i]
		inst := runningInstance(id, eni, "us-east-1a", "10.0.100.10")
		inst.InstanceType = ec2types.InstanceTypeC5n18xlarge
		acct.AddInstances(inst)
		out, err := acct.Client.DescribeNetworkInterfaces(context.Background(), &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
		if err != nil {
			t.Fatal(err)
		}
		ni := out.NetworkInterfaces[0]
		ni.Attachment = &ec2types.NetworkInterfaceAttachment{InstanceId: aws.String(id), DeviceIndex: aws.Int32(0)}
		acct.AddNetworkInterfaces(ni)
	}
	h := New(acct.Client, acct.ELBv2, cfg)
	p := payloadsBefore(t, h, app0)[workflow.StepFilterByZone]
	acct.ResetCalls()
	if _, err := h.GatherCandidates(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if n := acct.Calls()["DescribeInstances"]; n != 1 {
		t.Errorf("GatherCandidates called DescribeInstances %d times, want 1 for both sensors", n)
	}
	byID := map[string]placement.Sensor{}
	for _, s := range p.Candidates {
		byID[s.TargetID] = s
	}
	if got, want := byID[sensor0].MaxSources, placement.MaxSources(placement.TargetNetworkInterface, "c5n.18xlarge"); got != want || byID[sensor0].InstanceType != "c5n.18xlarge" {
		t.Errorf("sensor0 on c5n.18xlarge: MaxSources %d type %q, want %d", got, byID[sensor0].InstanceType, want)
	}
	if byID[sensor3].MaxSources != placement.MaxSources(placement.TargetNetworkInterface, "") {
		t.Errorf("unattached sensor3 has MaxSources %d", byID[sensor3].MaxSources)
	}
}

// TestResultDoesNotDependOnPageSize checks every Describe follows NextToken:
// an account answered one item per page places exactly like one answered at once.
func TestResultDoesNotDependOnPageSize(t *testing.T) {
	run := func(pageSize int) (workflow.Placement, map[string]int) {
		acct, cfg := loadScenario(t, ec2sim.Options{PageSize: pageSize})
		h := New(acct.Client, acct.ELBv2, cfg)
		h.DryRun = true
		p, err := runPrimary(context.Background(), h, startFor(app0))
		if err != nil {
			t.Fatalf("Run with page size %d: %v", pageSize, err)
		}
		return p, acct.Calls()
	}
	whole, _ := run(0)
	paged, calls := run(1)
	if diff := cmp.Diff(whole, paged); diff != "" {
		t.Errorf("placement differs when EC2 pages (-whole +paged):\n%s", diff)
	}
	if calls["DescribeTrafficMirrorTargets"] < 4 {
		t.Errorf("with one target per page, DescribeTrafficMirrorTargets was called %d times; the steps did not page", calls["DescribeTrafficMirrorTargets"])
	}
}

// TestStepReports checks the story the console shows: one report per step,
// in workflow order, each naming what it kept.
func TestStepReports(t *testing.T) {
	acct, cfg := loadScenario(t)
	p, err := runPrimary(context.Background(), New(acct.Client, acct.ELBv2, cfg), startFor(app0))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range workflow.Steps {
		names = append(names, s.Name)
	}
	var got []string
	for _, r := range p.Steps {
		got = append(got, r.Step)
		if r.Note == "" {
			t.Errorf("step %s has no note for the console", r.Step)
		}
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("step reports (-want +got):\n%s", diff)
	}
	if p.Trigger != workflow.TriggerManual || p.ExecutionID != executionID || p.InstanceID != app0 {
		t.Errorf("payload identity = %q %q %q", p.Trigger, p.ExecutionID, p.InstanceID)
	}
	zone := p.Steps[2]
	if diff := cmp.Diff(slices.Sorted(slices.Values([]string{sensor0, sensor1, sensor2, sensor3})), slices.Sorted(slices.Values(zone.Kept))); diff != "" {
		t.Errorf("zone step kept (-want +got):\n%s", diff)
	}
	if !strings.Contains(zone.Note, "2 of 4 sensor(s) in us-east-1a") || !strings.Contains(zone.Note, "2 kept as cross-zone fallback") {
		t.Errorf("zone note = %q", zone.Note)
	}
	// The pick keeps every sensor that passed the filters, so that a re-pick can choose again.
	if len(p.Candidates) != 4 || !slices.Contains(targetIDs(p.Candidates), p.TargetID) {
		t.Errorf("after the pick, candidates = %v (chosen %s), want the 4 that passed every filter", targetIDs(p.Candidates), p.TargetID)
	}
	if pick := p.Steps[len(p.Steps)-2]; pick.Step != workflow.StepPickLeastLoaded || !slices.Equal(pick.Kept, []string{p.TargetID}) {
		t.Errorf("PickLeastLoaded report = %+v, want it to keep only the chosen %s", pick, p.TargetID)
	}
}
