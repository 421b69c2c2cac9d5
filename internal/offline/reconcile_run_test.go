package offline

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/sfnlocal"
	"github.com/mirrorflow/mirrorflow/internal/offline/template"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/burstaccount"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
	"github.com/mirrorflow/mirrorflow/statemachine"
)

// reconcileAndJudge runs the Reconcile on snap through the synthesized
// definitions, then judges the account's coverage as mirrorctl coverage
// would, every running instance in one page.
func reconcileAndJudge(t *testing.T, snap *snapshot.Snapshot) (*Run, sfnlocal.Execution, workflow.ReconcileState, workflow.Coverage) {
	t.Helper()
	r := startRun(t, snap, ec2sim.Options{})
	x, err := r.Reconcile(context.Background(), "reconcile-test", map[string]string{"trigger": "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !x.Succeeded() {
		t.Fatalf("the Reconcile ended %s: %s: %s", x.Status, x.Error, x.Cause)
	}
	var st workflow.ReconcileState
	if err := json.Unmarshal(x.Output, &st); err != nil {
		t.Fatalf("decoding the Reconcile's output %s: %v", x.Output, err)
	}
	client := ec2sim.NewClient(r.EC2Endpoint())
	ctx := context.Background()
	instances, err := ec2api.InstancesAsList(ctx, client, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := ec2api.TrafficMirrorTargetsAsList(ctx, client, &ec2.DescribeTrafficMirrorTargetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := steps.New(client, nil, snap.Config.WithDefaults()).Coverage(ctx, instances, targets)
	if err != nil {
		t.Fatal(err)
	}
	return r, x, st, c
}

// TestReconcileBackfillsTheExampleAccount runs the Reconcile on the example
// account as if mirrorflow had just been deployed: every running instance
// but the one already mirrored is placed by an execution of its own, named
// after the Reconcile, and the account ends fully covered.
func TestReconcileBackfillsTheExampleAccount(t *testing.T) {
	snap, err := snapshot.Load(root + "/testdata/snapshots/three-zones.json")
	if err != nil {
		t.Fatal(err)
	}
	_, x, st, c := reconcileAndJudge(t, snap)
	if st.Totals.Placed != 6 || st.Totals.Failed != 0 || st.Totals.Pages != 1 || st.Totals.Judged.Mirrored != 1 || st.Totals.Judged.Unmirrored != 6 {
		t.Errorf("totals %+v, want 1 page, 1 mirrored and 6 unmirrored judged, 6 placed", st.Totals)
	}
	if len(x.Children) != 6 {
		t.Fatalf("%d child executions, want one per unmirrored instance (6)", len(x.Children))
	}
	for _, child := range x.Children {
		if !strings.HasPrefix(child.Name, "reconcile-i-") || child.Status != "SUCCEEDED" {
			t.Errorf("child %s ended %s, want a reconcile-<instance>-<time> execution that succeeded", child.Name, child.Status)
		}
	}
	if got := c.Ratio(); got != 1 {
		t.Errorf("coverage after the Reconcile is %v, want 1: %+v", got, c.Interfaces)
	}
}

// TestReconcileBackfillsAnAccountOfSeveralPages runs the Reconcile on an
// account of 210 running instances, none mirrored: three DescribeInstances
// pages of at most 100 (steps.ReconcilePageSize), each placed by its own
// Map, never more placements at once than the Map's MaxConcurrency.
func TestReconcileBackfillsAnAccountOfSeveralPages(t *testing.T) {
	const instances = 210
	snap := burstaccount.New(instances, 24)
	r := startRun(t, snap, ec2sim.Options{})
	run, err := r.RunReconcile(context.Background(), "reconcile-pages", map[string]string{"trigger": "test"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "SUCCEEDED" {
		t.Fatalf("the Reconcile ended %s: %s: %s", run.Status, run.Execution.Error, run.Execution.Cause)
	}
	totals := run.State.Totals
	wantPages := (instances + steps.ReconcilePageSize - 1) / steps.ReconcilePageSize
	if totals.Pages != wantPages || totals.Placed != instances || totals.Failed != 0 || totals.Judged.Unmirrored != instances {
		t.Errorf("totals %+v, want %d pages, %d judged unmirrored and placed", totals, wantPages, instances)
	}
	if len(run.Placements) != instances {
		t.Errorf("%d placement executions, want %d", len(run.Placements), instances)
	}
	if max := reconcileConcurrency(t); run.MostAtOnce > max || run.MostAtOnce < 2 {
		t.Errorf("at most %d placements ran at once, want between 2 and the Map's MaxConcurrency %d", run.MostAtOnce, max)
	}
	if n := len(r.Sim.Sessions()); n != instances {
		t.Errorf("the account holds %d sessions, want one per instance (%d)", n, instances)
	}
}

// reconcileConcurrency reads the Map's MaxConcurrency from the synthesized definition.
func reconcileConcurrency(t *testing.T) int {
	t.Helper()
	tmpl, err := template.ReadFile(built.Template)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tmpl.StateMachineOf(template.OutputReconcile)
	if err != nil {
		t.Fatal(err)
	}
	def, err := tmpl.DefinitionOf(template.DefaultEnv, id)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		States map[string]struct {
			MaxConcurrency int `json:"MaxConcurrency"`
		} `json:"States"`
	}
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	return m.States[statemachine.StatePlaceEachInstance].MaxConcurrency
}

// TestReconcileHealsStaleSessionsAndCountsFailures runs the Reconcile on the
// backfill example account, changed so that one zone's sensors are
// unreachable: the stale session of an opted-out instance is deleted by the
// Reconcile itself, the one to a draining sensor by its interface's
// placement, and the placements that cannot be made are counted failed and
// sit in the dead-letter queue with their reason, while the Reconcile
// itself succeeds.
func TestReconcileHealsStaleSessionsAndCountsFailures(t *testing.T) {
	snap := burstaccount.Backfill()
	snap.Config.LocalZoneOnly = true
	// Sensors 2 and 5 are us-east-1c's; 5 drains, and 2 goes away.
	snap.TrafficMirrorTargets = slices.DeleteFunc(snap.TrafficMirrorTargets, func(tt ec2types.TrafficMirrorTarget) bool {
		return aws.ToString(tt.TrafficMirrorTargetId) == "tmt-0000000000005e002"
	})
	r, _, st, c := reconcileAndJudge(t, snap)
	// Instance i is in zone i%3: 16 of the 48 are in us-east-1c, all of
	// them unmirrored (instance 2 with a stale session to draining sensor 5).
	const zoneC, unmirrored = 16, 45
	if st.Totals.Failed != zoneC || st.Totals.Placed != unmirrored-zoneC || st.Totals.Deleted != 1 || st.Totals.Judged.Stale != 2 {
		t.Errorf("totals %+v, want %d failed (us-east-1c has no sensor left), %d placed, 2 stale of which 1 deleted by the Reconcile",
			st.Totals, zoneC, unmirrored-zoneC)
	}
	var stale []string
	for _, s := range c.Stale {
		stale = append(stale, s.SessionID)
	}
	// The opted-out instance's session is gone; instance 2's stays, since
	// its placement failed before it could replace it.
	if !slices.Equal(stale, []string{"tms-000000000000bf002"}) {
		t.Errorf("stale sessions after the Reconcile %v, want only instance 2's to the draining sensor", stale)
	}
	letters, err := r.DeadLetters()
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != zoneC {
		t.Fatalf("%d dead letters, want one per failed placement (%d)", len(letters), zoneC)
	}
	for _, dl := range letters {
		if dl.Error != "NoReachableSensor" || !strings.Contains(dl.Cause, "us-east-1c") {
			t.Errorf("dead letter of %s: %s: %s, want NoReachableSensor naming us-east-1c", dl.InstanceID, dl.Error, dl.Cause)
		}
	}
	if got := c.Ratio(); got != float64(unmirrored-zoneC+2)/float64(unmirrored+2) {
		t.Errorf("coverage after %v, want every interface outside us-east-1c mirrored", got)
	}
}
