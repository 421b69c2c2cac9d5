package steps

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// TestReconcileStepsCallOnlyTheirDeclaredActions runs the first page of
// the Reconcile on the example account, with a stale session to delete and
// a tagged Network Load Balancer sensor, writing metrics as the Lambda does,
// and checks each step calls only what its IAM role grants (EC2Actions and
// ELBv2Actions), each Describe once for what it reads.
func TestReconcileStepsCallOnlyTheirDeclaredActions(t *testing.T) {
	acct, cfg := loadScenario(t)
	acct.AddTrafficMirrorSessions(mirrorflowSession("tms-0aaaaaaaaaaaaaaaa", app1ENI, "tmt-0123456789abcdef0"))
	tagApp0(acct, "mirrorflow:exclude", "true")
	acct.AddTrafficMirrorSessions(mirrorflowSession("tms-0bbbbbbbbbbbbbbbb", app0ENI, sensor3))
	acct.Put(taggedNLB(cfg))
	h := New(acct.Client, acct.ELBv2, cfg)
	log := capture(h)
	ctx := context.Background()
	start := time.Date(2026, 11, 30, 17, 53, 0, 123e6, time.UTC).Format(time.RFC3339Nano)

	acct.ResetCalls()
	page, err := h.ListReconcileWork(ctx, workflow.ReconcileInput{State: workflow.ReconcileState{Trigger: "test"}, StartTime: start})
	if err != nil {
		t.Fatal(err)
	}
	listed := acct.Calls()
	acct.ResetCalls()
	deleted, err := h.DeleteStaleSessions(ctx, workflow.DeleteInput{Sessions: page.Delete})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]map[string]int{workflow.StepListReconcileWork: listed, workflow.StepDeleteStaleSessions: acct.Calls()}
	want := map[string]map[string]int{
		// DescribeNetworkInterfaces tells whether the sessions' targets
		// still point at something. The first page also reads the sensors'
		// load for the metrics: every session of the account (a second
		// DescribeTrafficMirrorSessions), and the sensors resolved as
		// GatherCandidates does (a second DescribeNetworkInterfaces, and the
		// load balancer with its listeners).
		workflow.StepListReconcileWork: {"DescribeInstances": 1, "DescribeTrafficMirrorTargets": 1, "DescribeSubnets": 1,
			"DescribeTrafficMirrorSessions": 2, "DescribeNetworkInterfaces": 2, "DescribeLoadBalancers": 1, "DescribeListeners": 1},
		workflow.StepDeleteStaleSessions: {"DescribeTrafficMirrorSessions": 1, "DeleteTrafficMirrorSession": 2},
	}
	for _, s := range workflow.ReconcileSteps[:2] {
		for action := range calls[s.Name] {
			if !slices.Contains(s.EC2Actions, action) && !slices.Contains(s.ELBv2Actions, action) {
				t.Errorf("%s called %s, which its IAM role does not grant (EC2Actions %v, ELBv2Actions %v)", s.Name, action, s.EC2Actions, s.ELBv2Actions)
			}
		}
		if diff := cmp.Diff(want[s.Name], calls[s.Name]); diff != "" {
			t.Errorf("%s calls (-want +got):\n%s", s.Name, diff)
		}
	}
	// app1 is mirrored by its session to sensor1 and also holds one to a
	// target that is gone; app0 is opted out: both stale sessions are the
	// Reconcile's to delete, and every other running instance is placed.
	if !slices.Equal(deleted.Deleted, []string{"tms-0aaaaaaaaaaaaaaaa", "tms-0bbbbbbbbbbbbbbbb"}) {
		t.Errorf("deleted %v, want both stale sessions", deleted.Deleted)
	}
	if len(page.Place) != 5 || page.Judged != (workflow.ReconcileCounts{Mirrored: 1, Unmirrored: 5, Skipped: 1, Stale: 2}) {
		t.Errorf("page %+v, want 5 instances to place and 1 mirrored, 5 unmirrored, 1 skipped, 2 stale judged", page.Judged)
	}
	for _, p := range page.Place {
		if want := "reconcile-" + p.InstanceID + "-20261130T175300-123Z"; p.Name != want || p.Input.Trigger != workflow.TriggerReconcile {
			t.Errorf("placement %+v, want named %s with trigger reconcile", p, want)
		}
	}
	if zones := sensorMetrics(log.data(t)); len(zones) != 3 {
		t.Errorf("sensor metrics for %d zones, want the 3 of the example account's interface sensors: %v", len(zones), zones)
	}
	again, err := h.DeleteStaleSessions(ctx, workflow.DeleteInput{Sessions: page.Delete})
	if err != nil || len(again.Deleted) != 0 || len(again.Gone) != 2 {
		t.Errorf("deleting again: %+v, %v; want both gone and nothing deleted (a retried step is harmless)", again, err)
	}
}

// TestDeleteStaleSessionsLeavesOthersSessions: a session that lost its
// ManagedBy tag since the page was listed is not mirrorflow's to delete.
func TestDeleteStaleSessionsLeavesOthersSessions(t *testing.T) {
	acct, cfg := loadScenario(t)
	acct.AddTrafficMirrorSessions(foreignSessions(app0ENI, sensor3)...)
	h := New(acct.Client, acct.ELBv2, cfg)
	got, err := h.DeleteStaleSessions(context.Background(), workflow.DeleteInput{Sessions: []workflow.StaleSession{{SessionID: "tms-0aaaaaaaaaaaaaaaa"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Deleted) != 0 || !slices.Equal(got.Kept, []string{"tms-0aaaaaaaaaaaaaaaa"}) {
		t.Errorf("%+v, want the untagged session kept", got)
	}
	if _, ok := acct.Session("tms-0aaaaaaaaaaaaaaaa"); !ok {
		t.Error("the session is gone")
	}
}

func TestTallyReconcile(t *testing.T) {
	h := &Handlers{}
	in := workflow.TallyInput{
		Page: workflow.ReconcilePage{
			Judged: workflow.ReconcileCounts{Mirrored: 1, Unmirrored: 3, Skipped: 2, Stale: 1},
			State:  workflow.ReconcileState{Trigger: "schedule", NextToken: "page-2", Totals: workflow.ReconcileTotals{Pages: 1, Placed: 4}},
		},
		Results: []workflow.ReconcileResult{
			{InstanceID: "i-1", Outcome: workflow.ReconcilePlaced}, {InstanceID: "i-2", Outcome: workflow.ReconcileFailed},
			{InstanceID: "i-3", Outcome: workflow.ReconcileSkipped},
		},
		Deleted: workflow.DeletedSessions{Deleted: []string{"tms-1"}},
	}
	got, err := h.TallyReconcile(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := workflow.ReconcileState{Trigger: "schedule", NextToken: "page-2", Totals: workflow.ReconcileTotals{
		Pages: 2, Judged: workflow.ReconcileCounts{Mirrored: 1, Unmirrored: 3, Skipped: 2, Stale: 1},
		Placed: 5, Failed: 1, Skipped: 1, Deleted: 1,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	in.Results = append(in.Results, workflow.ReconcileResult{InstanceID: "i-4", Outcome: "exploded"})
	if _, err := h.TallyReconcile(context.Background(), in); err == nil {
		t.Error("an outcome that is none of placed, failed, skipped was counted")
	}
}
