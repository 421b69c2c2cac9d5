package offline

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/internal/testkit/burstaccount"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// TestABurstFillsEverySlotBeforeAnyPlacementFails is the users' worst day
// at CI size: an Auto Scaling group starts 100 instances at once, and 10
// sensors of 10 sources each have exactly one slot per instance. EC2
// throttles with AWS's token buckets, Lambda refuses what each function's
// reserved concurrency cannot take, and the state machine retries with the
// definition's own intervals, as in AWS. Every instance must be placed:
// picks that collide on a sensor are picked around until every slot is used.
func TestABurstFillsEverySlotBeforeAnyPlacementFails(t *testing.T) {
	const instances, sensors = 100, 10
	snap := burstaccount.New(instances, sensors)
	r, err := Start(context.Background(), Options{
		Template: built.Template, Bootstraps: built.Bootstraps, NodeDir: built.NodeDir,
		Snapshot: snap, Simulator: ec2sim.Options{Throttling: ec2sim.AWSThrottling(), Seed: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	var ids []string
	for _, res := range snap.Reservations {
		ids = append(ids, aws.ToString(res.Instances[0].InstanceId))
	}
	placed, err := r.PlaceAll(context.Background(), ids, Placing{Burst: true, Prefix: "burst-"})
	if err != nil {
		t.Fatal(err)
	}
	summary := SummarizeBurst(placed, r.Sim.Snapshot(), *snap.Config, ec2sim.AWSThrottling().Mutating)
	t.Logf("%s\n  EC2 calls %v\n  throttled %v\n  Lambda throttled %v", strings.Join(summary.Lines(), "\n"), r.Sim.Calls(), r.Sim.Throttled(), r.Host.Throttles())

	for _, p := range placed {
		if p.Outcome != workflow.OutcomeCreated {
			t.Errorf("%s: %s at %s (%s); with a slot for every instance each must be placed", p.InstanceID, p.Outcome, p.FailedStep, p.Reason)
		}
	}
	if letters, err := r.DeadLetters(); err != nil || len(letters) != 0 {
		t.Errorf("%d dead letters (%v), want none", len(letters), err)
	}
	if summary.MostAtOnce < instances/2 {
		t.Errorf("at most %d placements ran at once; the test means them all to start together", summary.MostAtOnce)
	}
	if summary.MinSessions != 10 || summary.MaxSessions != 10 {
		t.Errorf("sessions per sensor %d-%d, want every sensor full at 10", summary.MinSessions, summary.MaxSessions)
	}
	checkAccount(t, r.Sim.Sessions())
}

// TestAFullSensorIsPickedAroundInTheDeployedWorkflow runs the loop through
// the synthesized definition: EC2 refuses the first create as the chosen
// sensor being full, CreateSession reports SensorFull, the state machine
// catches it back to PickLeastLoaded, which picks another sensor, and the
// placement is created there. The trace shows each pass with its reason.
func TestAFullSensorIsPickedAroundInTheDeployedWorkflow(t *testing.T) {
	a := deploy(t, "three-zones", ec2sim.Options{Faults: []ec2sim.Fault{{
		Action: "CreateTrafficMirrorSession", Count: 1, Code: "TrafficMirrorSourcesPerTargetLimitExceeded",
		Message: "The traffic mirror target has reached its limit of sources.",
	}}})
	res := a.place("repick-app0", "app0")
	if res.Outcome != workflow.OutcomeCreated {
		t.Fatalf("app0: %s at %s (%s), want created after a re-pick", res.Outcome, res.FailedStep, res.Reason)
	}
	tr := operate.BuildTrace(res.Execution.ExecutionARN, History(res.Execution, json.RawMessage(`{}`)))
	var passes []string
	for _, s := range tr.Steps {
		passes = append(passes, s.Step+"/"+s.Status)
	}
	want := []string{"PickLeastLoaded/SUCCEEDED", "CreateSession/FAILED", "PickLeastLoaded/SUCCEEDED", "CreateSession/SUCCEEDED"}
	if len(passes) < len(want) || !slices.Equal(passes[len(passes)-len(want):], want) {
		t.Fatalf("the trace ends %v, want %v", passes, want)
	}
	full, again := tr.Steps[len(tr.Steps)-3], tr.Steps[len(tr.Steps)-2]
	first := tr.Steps[len(tr.Steps)-4].Kept[0]
	if !full.RePick || full.Error != "SensorFull" || !strings.Contains(full.Reason, first) {
		t.Errorf("the failed create = %+v, want a SensorFull naming %s, caught back to the pick", full, first)
	}
	if !strings.Contains(again.Note, "re-pick 1 of at most") || len(again.Kept) != 1 || again.Kept[0] == first || again.Kept[0] != res.TargetID {
		t.Errorf("the second pick = %+v, want re-pick 1 choosing %s, not the full %s", again, res.TargetID, first)
	}
	if tr.Status != operate.StatusSucceeded || tr.FailedStep != "" {
		t.Errorf("trace status %s, failed step %q; a re-pick is not a failure", tr.Status, tr.FailedStep)
	}
	if letters, _ := a.run.DeadLetters(); len(letters) != 0 {
		t.Errorf("%d dead letters, want none", len(letters))
	}
}

// TestAnInstanceTerminatedWhilePlacedIsSkipped: EC2 no longer knows the
// source interface when CreateSession runs (its instance was terminated
// after CheckExistingSession); the placement ends as nothing to do, not in
// the dead-letter queue.
func TestAnInstanceTerminatedWhilePlacedIsSkipped(t *testing.T) {
	a := deploy(t, "three-zones", ec2sim.Options{})
	eni := a.primaryENI("app0")
	a.run.Sim.InjectFault(ec2sim.Fault{Action: "CreateTrafficMirrorSession", Count: 1, Code: "InvalidNetworkInterfaceID.NotFound",
		Message: "The networkInterface ID '" + eni + "' does not exist"})
	res := a.place("gone-app0", "app0")
	if res.Outcome != workflow.OutcomeSkipped || !strings.Contains(res.Reason, "terminated") {
		t.Fatalf("app0: %s (%s), want skipped as terminated", res.Outcome, res.Reason)
	}
	if last := res.Execution.Events[len(res.Execution.Events)-2]; last.State != "NothingToMirror" {
		t.Errorf("the execution ended at %q, want NothingToMirror", last.State)
	}
	if letters, _ := a.run.DeadLetters(); len(letters) != 0 {
		t.Errorf("%d dead letters, want none", len(letters))
	}
}
