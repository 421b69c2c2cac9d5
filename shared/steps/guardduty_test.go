package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// forensicsRule is the rule the GuardDuty cases place a finding's instance
// under: its own sensor and session number, and a Match no instance of the
// example account meets, so that only a finding puts an interface under it.
func forensicsRule() config.Rule {
	return config.Rule{Name: "forensics", Match: config.Match{Tags: []config.Tag{{Key: "forensics", Value: "true"}}},
		TargetIDs: []string{sensor3}, SessionNumber: 2}
}

// withGuardDuty gives cfg rules under which app0 is out of scope (prod
// matches env=prod, which app0 lacks) and turns GuardDuty on under
// forensics.
func withGuardDuty(cfg *config.Config) {
	cfg.Rules = []config.Rule{{Name: "prod", Match: config.Match{Tags: []config.Tag{{Key: "env", Value: "prod"}}}}, forensicsRule()}
	cfg.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 7, Rule: "forensics"}
}

// findingFor is the execution input of a GuardDuty finding about instanceID,
// as the EventBridge rule passes it.
func findingFor(instanceID string) workflow.Start {
	return workflow.Start{ExecutionID: executionID, Input: []byte(fmt.Sprintf(`{"version":"0","id":"c8a4f2e1-7b3d-4e59-9a06-5d1b8e2c7f43",
		"detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2024-05-14T10:15:40Z","region":"us-east-1","resources":[],
		"detail":{"type":"CryptoCurrency:EC2/BitcoinTool.B!DNS","severity":8,"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":%q}}}}`, instanceID))}
}

// tagValue is the value of key on s, "" when absent.
func tagValue(s ec2types.TrafficMirrorSession, key string) string {
	i := slices.IndexFunc(s.Tags, func(t ec2types.Tag) bool { return aws.ToString(t.Key) == key })
	if i < 0 {
		return ""
	}
	return aws.ToString(s.Tags[i].Value)
}

// TestGuardDutyFindingPlacesUnderItsRule runs a finding's placement as the
// state machine runs it, then judges coverage and places the instance again
// as an ordinary trigger would: the finding's session must be mirroring,
// never stale, and left alone.
func TestGuardDutyFindingPlacesUnderItsRule(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(testing.TB, *ec2account.Account, *config.Config)
		instance string
		check    func(*testing.T, *ec2account.Account, config.Config, workflow.Instance)
	}{
		{name: "an instance no rule matches is placed under the finding's rule, and its session tagged so",
			setup:    func(_ testing.TB, _ *ec2account.Account, c *config.Config) { withGuardDuty(c) },
			instance: app0,
			check: func(t *testing.T, a *ec2account.Account, cfg config.Config, in workflow.Instance) {
				if in.Trigger != workflow.TriggerGuardDuty {
					t.Errorf("trigger %q, want %q", in.Trigger, workflow.TriggerGuardDuty)
				}
				placedUnderForensics(t, a, cfg, in)
			}},
		{name: "an instance another rule matches is placed under the finding's rule instead",
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				withGuardDuty(c)
				c.Rules = []config.Rule{{Name: "everything", TargetIDs: []string{sensor0}}, forensicsRule()}
			},
			instance: app0,
			check:    placedUnderForensics},
		{name: "the opt-out tag still wins over a finding",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				withGuardDuty(c)
				tagApp0(a, "mirrorflow:exclude", "true")
			},
			instance: app0,
			check: func(t *testing.T, a *ec2account.Account, _ config.Config, in workflow.Instance) {
				if in.Outcome != workflow.OutcomeSkipped || !strings.Contains(in.Reason, "opted out") {
					t.Errorf("%s (%s), want skipped as opted out", in.Outcome, in.Reason)
				}
				if s := sessionsOf(a, app0ENI); len(s) != 0 {
					t.Errorf("sessions of %s = %v, want none", app0ENI, s)
				}
			}},
		{name: "a sensor named by a finding is still never mirrored",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				withGuardDuty(c)
				a.AddInstances(runningInstance("i-0123456789abcdef0", sensor0ENI, "us-east-1a", "10.0.0.99"))
			},
			instance: "i-0123456789abcdef0",
			check: func(t *testing.T, a *ec2account.Account, _ config.Config, in workflow.Instance) {
				if in.Outcome != workflow.OutcomeSkipped || !strings.Contains(in.Reason, "is a sensor") {
					t.Errorf("%s (%s), want skipped as a sensor", in.Outcome, in.Reason)
				}
			}},
		{name: "with GuardDuty disabled a finding places nothing, and asks EC2 nothing",
			setup: func(_ testing.TB, a *ec2account.Account, c *config.Config) {
				withGuardDuty(c)
				c.GuardDuty.Enabled = false
				a.ResetCalls()
			},
			instance: app0,
			check: func(t *testing.T, a *ec2account.Account, _ config.Config, in workflow.Instance) {
				if in.Outcome != workflow.OutcomeSkipped || !strings.Contains(in.Reason, "GuardDuty is not enabled") {
					t.Errorf("%s (%s), want skipped as GuardDuty is not enabled", in.Outcome, in.Reason)
				}
				if calls := a.Calls(); len(calls) != 0 {
					t.Errorf("EC2 calls %v, want none", calls)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, cfg := loadScenario(t)
			tt.setup(t, acct, &cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			in, err := Run(context.Background(), New(acct.Client, acct.ELBv2, cfg), findingFor(tt.instance))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			tt.check(t, acct, cfg, in)
		})
	}
}

// placedUnderForensics checks app0's finding placement made one session to
// the forensics rule's sensor with its session number, tagged with the
// trigger and the rule; that coverage calls app0 mirrored under that rule
// and the session not stale; and that an ordinary placement of app0
// afterwards finds it mirrored and changes nothing.
func placedUnderForensics(t *testing.T, a *ec2account.Account, cfg config.Config, in workflow.Instance) {
	t.Helper()
	p := byENI(t, in, app0ENI)
	if p.Outcome != workflow.OutcomeCreated || p.TargetID != sensor3 || p.Scope == nil || p.Scope.Rule != "forensics" {
		t.Fatalf("%s on %s under %+v (%s), want created on %s under rule forensics", p.Outcome, p.TargetID, p.Scope, p.Reason, sensor3)
	}
	s := sessionsOf(a, app0ENI)
	if len(s) != 1 || aws.ToInt32(s[0].SessionNumber) != 2 {
		t.Fatalf("sessions of %s = %+v, want one with the rule's session number 2", app0ENI, s)
	}
	for key, want := range map[string]string{TagTrigger: workflow.TriggerGuardDuty, TagRule: "forensics", TagManagedBy: ManagedByValue} {
		if got := tagValue(s[0], key); got != want {
			t.Errorf("session tag %s = %q, want %q", key, got, want)
		}
	}

	c := coverageOf(t, a, cfg)
	i := slices.IndexFunc(c.Interfaces, func(i workflow.InterfaceCoverage) bool { return i.NetworkInterfaceID == app0ENI })
	if i < 0 {
		t.Fatalf("coverage lists no %s", app0ENI)
	}
	if got := c.Interfaces[i]; got.Status != workflow.CoverageMirrored || got.Rule != "forensics" || got.SessionID != p.SessionID ||
		!strings.Contains(got.Reason, "made for a GuardDuty finding under rule forensics") {
		t.Errorf("coverage of %s = %+v, want mirrored by %s under rule forensics, for a GuardDuty finding", app0ENI, got, p.SessionID)
	}
	if len(c.Stale) != 0 {
		t.Errorf("stale sessions %+v, want none: the finding's session is where it should be", c.Stale)
	}

	again, err := Run(context.Background(), New(a.Client, a.ELBv2, cfg), startFor(app0))
	if err != nil {
		t.Fatalf("Run (manual): %v", err)
	}
	if q := byENI(t, again, app0ENI); q.Outcome != workflow.OutcomeExists || q.SessionID != p.SessionID {
		t.Errorf("a manual placement afterwards: %s (%s), want exists by %s", q.Outcome, q.Reason, p.SessionID)
	}
	if after := sessionsOf(a, app0ENI); len(after) != 1 || aws.ToString(after[0].TrafficMirrorSessionId) != p.SessionID {
		t.Errorf("sessions of %s after the manual placement = %+v, want only %s", app0ENI, after, p.SessionID)
	}
}
