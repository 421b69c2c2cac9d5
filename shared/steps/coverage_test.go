package steps

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// mirrorflowSession is a session mirrorflow made (tagged ManagedBy), from
// eni to target with session number 1.
func mirrorflowSession(id, eni, target string) ec2types.TrafficMirrorSession {
	return ec2types.TrafficMirrorSession{
		TrafficMirrorSessionId: aws.String(id), NetworkInterfaceId: aws.String(eni), TrafficMirrorTargetId: aws.String(target),
		TrafficMirrorFilterId: aws.String(filter0), SessionNumber: aws.Int32(1),
		Tags: []ec2types.Tag{{Key: aws.String(TagManagedBy), Value: aws.String(ManagedByValue)}},
	}
}

// findingSession is a session mirrorflow made for a GuardDuty finding under
// rule, from eni to target with session number n.
func findingSession(id, eni, target, rule string, n int32) ec2types.TrafficMirrorSession {
	s := mirrorflowSession(id, eni, target)
	s.SessionNumber = aws.Int32(n)
	s.Tags = append(s.Tags,
		ec2types.Tag{Key: aws.String(TagTrigger), Value: aws.String(workflow.TriggerGuardDuty)},
		ec2types.Tag{Key: aws.String(TagRule), Value: aws.String(rule)})
	return s
}

// drain tags target mirrorflow:draining=true in the account.
func drain(t *testing.T, a *ec2account.Account, target string) {
	t.Helper()
	for _, tt := range a.Snapshot().TrafficMirrorTargets {
		if aws.ToString(tt.TrafficMirrorTargetId) == target {
			tt.Tags = append(tt.Tags, ec2types.Tag{Key: aws.String(placement.DrainingTagKey), Value: aws.String(placement.DrainingTagValue)})
			a.AddTrafficMirrorTargets(tt)
			return
		}
	}
	t.Fatalf("no target %s", target)
}

// coverageOf judges every instance of the account in one page.
func coverageOf(t *testing.T, a *ec2account.Account, cfg config.Config) workflow.Coverage {
	t.Helper()
	ctx := context.Background()
	instances, err := ec2api.InstancesAsList(ctx, a.Client, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := ec2api.TrafficMirrorTargetsAsList(ctx, a.Client, &ec2.DescribeTrafficMirrorTargetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	c, pending, err := New(a.Client, a.ELBv2, cfg).Coverage(ctx, instances, targets)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pending {
		if p.Outcome != "" {
			t.Errorf("pending placement of %s has outcome %s", p.Source.NetworkInterfaceID, p.Outcome)
		}
	}
	return c
}

// TestCoverage checks each clause of the snapshot format's "Coverage"
// section on the three-zones account, changed as each case's name says.
func TestCoverage(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, a *ec2account.Account, cfg *config.Config)
		// status of each interface named, and its reason's words.
		status map[string]string
		words  map[string]string
		// stale sessions by id, with their reason's words; every other
		// session is not stale.
		stale map[string]string
		// placed: stale sessions the interface's placement deletes.
		placed []string
	}{
		{
			name:   "an interface with a session to a candidate is mirrored; one without is unmirrored",
			status: map[string]string{app1ENI: workflow.CoverageMirrored, app0ENI: workflow.CoverageUnmirrored},
			words:  map[string]string{app1ENI: app1Session, app0ENI: "no session to a candidate sensor"},
		},
		{
			name: "a session to a draining target is stale and its interface unmirrored; the placement deletes it",
			change: func(t *testing.T, a *ec2account.Account, _ *config.Config) {
				a.AddTrafficMirrorSessions(mirrorflowSession("tms-0aaaaaaaaaaaaaaaa", app0ENI, sensor3))
				drain(t, a, sensor3)
			},
			status: map[string]string{app0ENI: workflow.CoverageUnmirrored},
			stale:  map[string]string{"tms-0aaaaaaaaaaaaaaaa": "target " + sensor3 + " is draining"},
			placed: []string{"tms-0aaaaaaaaaaaaaaaa"},
		},
		{
			name: "someone else's session to a draining target is not stale: mirrorflow leaves it alone",
			change: func(t *testing.T, a *ec2account.Account, _ *config.Config) {
				a.AddTrafficMirrorSessions(foreignSessions(app0ENI, sensor3)...)
				drain(t, a, sensor3)
			},
			status: map[string]string{app0ENI: workflow.CoverageUnmirrored},
		},
		{
			name: "an opted-out instance is skipped and its mirrorflow session is stale",
			change: func(t *testing.T, a *ec2account.Account, _ *config.Config) {
				a.AddTrafficMirrorSessions(mirrorflowSession("tms-0bbbbbbbbbbbbbbbb", app0ENI, sensor3))
				tagApp0(a, "mirrorflow:exclude", "true")
			},
			status: map[string]string{app0ENI: workflow.CoverageSkipped},
			words:  map[string]string{app0ENI: "opted out"},
			stale:  map[string]string{"tms-0bbbbbbbbbbbbbbbb": "its source is skipped: " + app0 + " is opted out"},
		},
		{
			name: "a mirrorflow session on a secondary interface is stale when Interfaces is primary",
			change: func(t *testing.T, a *ec2account.Account, _ *config.Config) {
				enis := withInterfaces(t, a, app0Subnet)
				a.AddTrafficMirrorSessions(mirrorflowSession("tms-0cccccccccccccccc", enis[0], sensor3))
			},
			status: map[string]string{app0ENI: workflow.CoverageUnmirrored},
			stale:  map[string]string{"tms-0cccccccccccccccc": "not a source interface: Interfaces is primary"},
		},
		{
			name: "with Interfaces all, the same secondary interface is mirrored by it",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				enis := withInterfaces(t, a, app0Subnet)
				a.AddTrafficMirrorSessions(mirrorflowSession("tms-0cccccccccccccccc", enis[0], sensor3))
				cfg.Interfaces = config.InterfacesAll
			},
			status: map[string]string{app0ENI: workflow.CoverageUnmirrored, "eni-0aaaaaaaaaaaaaaaa": workflow.CoverageMirrored},
		},
		{
			name: "a session to a target that no longer exists is stale",
			change: func(t *testing.T, a *ec2account.Account, _ *config.Config) {
				a.AddTrafficMirrorSessions(mirrorflowSession("tms-0dddddddddddddddd", app0ENI, "tmt-0123456789abcdef0"))
			},
			status: map[string]string{app0ENI: workflow.CoverageUnmirrored},
			stale:  map[string]string{"tms-0dddddddddddddddd": "tmt-0123456789abcdef0 no longer exists"},
			placed: []string{"tms-0dddddddddddddddd"},
		},
		{
			name: "a session to a target that is no longer configured is stale, the interface mirrored by another",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				a.AddTrafficMirrorSessions(mirrorflowSession("tms-0eeeeeeeeeeeeeeee", app1ENI, sensor2))
				cfg.TargetIDs = []string{sensor0, sensor1, sensor3}
			},
			status: map[string]string{app1ENI: workflow.CoverageMirrored},
			stale:  map[string]string{"tms-0eeeeeeeeeeeeeeee": "not among its rule's candidates"},
		},
		{
			name: "a stopped instance is not judged, and its sessions are not stale",
			change: func(t *testing.T, a *ec2account.Account, _ *config.Config) {
				a.AddTrafficMirrorSessions(mirrorflowSession("tms-0ffffffffffffffff", app0ENI, "tmt-0123456789abcdef0"))
				for _, r := range a.Snapshot().Reservations {
					for _, inst := range r.Instances {
						if aws.ToString(inst.InstanceId) == app0 {
							inst.State = &ec2types.InstanceState{Name: ec2types.InstanceStateNameStopped, Code: aws.Int32(80)}
							a.AddInstances(inst)
						}
					}
				}
			},
			status: map[string]string{app0ENI: ""},
		},
		{
			name: "a sensor is skipped",
			change: func(t *testing.T, a *ec2account.Account, _ *config.Config) {
				a.AddInstances(runningInstance("i-0123456789abcdef0", sensor0ENI, "us-east-1a", "10.0.0.99"))
			},
			status: map[string]string{sensor0ENI: workflow.CoverageSkipped},
			words:  map[string]string{sensor0ENI: "is a sensor"},
		},
		{
			name: "a session made for a GuardDuty finding mirrors an interface no rule matches, under the finding's rule, and is not stale",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				withGuardDuty(cfg)
				a.AddTrafficMirrorSessions(findingSession("tms-0a0a0a0a0a0a0a0a0", app0ENI, sensor3, "forensics", 2))
			},
			status: map[string]string{app0ENI: workflow.CoverageMirrored},
			words:  map[string]string{app0ENI: "made for a GuardDuty finding under rule forensics"},
		},
		{
			name: "a session made for a GuardDuty finding is not stale beside a session of the interface's own rule",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				withGuardDuty(cfg)
				cfg.Rules = []config.Rule{{Name: "everything", TargetIDs: []string{sensor0}}, forensicsRule()}
				a.AddTrafficMirrorSessions(foreignSessions(app0ENI, sensor0)...)
				a.AddTrafficMirrorSessions(findingSession("tms-0a0a0a0a0a0a0a0a0", app0ENI, sensor3, "forensics", 2))
			},
			status: map[string]string{app0ENI: workflow.CoverageMirrored},
		},
		{
			name: "once GuardDuty is disabled, a session made for a finding is stale like any other",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				withGuardDuty(cfg)
				cfg.GuardDuty.Enabled = false
				a.AddTrafficMirrorSessions(findingSession("tms-0a0a0a0a0a0a0a0a0", app0ENI, sensor3, "forensics", 2))
			},
			status: map[string]string{app0ENI: workflow.CoverageSkipped},
			stale:  map[string]string{"tms-0a0a0a0a0a0a0a0a0": "out of scope"},
		},
		{
			name: "a session made for a finding under a rule GuardDuty no longer names is stale",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				withGuardDuty(cfg)
				a.AddTrafficMirrorSessions(findingSession("tms-0a0a0a0a0a0a0a0a0", app0ENI, sensor3, "prod", 2))
			},
			status: map[string]string{app0ENI: workflow.CoverageSkipped},
			stale:  map[string]string{"tms-0a0a0a0a0a0a0a0a0": "out of scope"},
		},
		{
			name: "a session made for a finding to a target its rule no longer lists is stale",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				withGuardDuty(cfg)
				a.AddTrafficMirrorSessions(findingSession("tms-0a0a0a0a0a0a0a0a0", app0ENI, sensor2, "forensics", 2))
			},
			status: map[string]string{app0ENI: workflow.CoverageSkipped},
			stale:  map[string]string{"tms-0a0a0a0a0a0a0a0a0": "out of scope"},
		},
		{
			name: "the opt-out tag wins: a session made for a finding on an opted-out instance is stale",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				withGuardDuty(cfg)
				tagApp0(a, "mirrorflow:exclude", "true")
				a.AddTrafficMirrorSessions(findingSession("tms-0a0a0a0a0a0a0a0a0", app0ENI, sensor3, "forensics", 2))
			},
			status: map[string]string{app0ENI: workflow.CoverageSkipped},
			stale:  map[string]string{"tms-0a0a0a0a0a0a0a0a0": "opted out"},
		},
		{
			name: "an interface with 3 sessions to other targets is unmirrored, with the reason",
			change: func(t *testing.T, a *ec2account.Account, cfg *config.Config) {
				a.AddTrafficMirrorSessions(foreignSessions(app0ENI, sensor0, sensor2, sensor3)...)
				cfg.TargetIDs = []string{sensor1}
			},
			status: map[string]string{app0ENI: workflow.CoverageUnmirrored},
			words:  map[string]string{app0ENI: "already has 3 sessions"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, cfg := loadScenario(t)
			if tt.change != nil {
				tt.change(t, a, &cfg)
			}
			c := coverageOf(t, a, cfg)
			byENI := map[string]workflow.InterfaceCoverage{}
			for _, i := range c.Interfaces {
				if _, dup := byENI[i.NetworkInterfaceID]; dup {
					t.Errorf("%s is listed twice", i.NetworkInterfaceID)
				}
				byENI[i.NetworkInterfaceID] = i
			}
			for eni, want := range tt.status {
				if got := byENI[eni]; got.Status != want {
					t.Errorf("%s: status %q (%s), want %q", eni, got.Status, got.Reason, want)
				}
			}
			for eni, words := range tt.words {
				if got := byENI[eni].Reason; !strings.Contains(got, words) {
					t.Errorf("%s: reason %q, want it to contain %q", eni, got, words)
				}
			}
			got := map[string]workflow.StaleSession{}
			for _, s := range c.Stale {
				got[s.SessionID] = s
			}
			if len(got) != len(tt.stale) {
				t.Errorf("stale sessions %+v, want %d: %v", c.Stale, len(tt.stale), tt.stale)
			}
			for id, words := range tt.stale {
				if !strings.Contains(got[id].Reason, words) {
					t.Errorf("stale %s: reason %q, want it to contain %q", id, got[id].Reason, words)
				}
				if want := slices.Contains(tt.placed, id); got[id].Placed != want {
					t.Errorf("stale %s: Placed %v, want %v", id, got[id].Placed, want)
				}
			}
		})
	}
}

func TestCoverageRatio(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string
		want     float64
	}{
		{"nothing to mirror is full coverage", nil, 1},
		{"skipped interfaces do not count", []string{workflow.CoverageSkipped, workflow.CoverageSkipped}, 1},
		{"mirrored over mirrored and unmirrored", []string{workflow.CoverageMirrored, workflow.CoverageUnmirrored, workflow.CoverageSkipped, workflow.CoverageMirrored}, 2.0 / 3},
		{"none mirrored", []string{workflow.CoverageUnmirrored}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c workflow.Coverage
			for _, s := range tt.statuses {
				c.Interfaces = append(c.Interfaces, workflow.InterfaceCoverage{Status: s})
			}
			if got := c.Ratio(); got != tt.want {
				t.Errorf("Ratio() = %v, want %v", got, tt.want)
			}
		})
	}
}
