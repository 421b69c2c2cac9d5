package offline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/sfnlocal"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// reconcileAndJudge runs the Reconcile on snap through the synthesized
// definitions, then judges the account's coverage as mirrorctl coverage
// would, every running instance in one page.
func reconcileAndJudge(t *testing.T, snap *snapshot.Snapshot) (sfnlocal.Execution, workflow.ReconcileState, workflow.Coverage) {
	t.Helper()
	fast := 10
	r, err := Start(context.Background(), Options{
		Template: built.Template, Bootstraps: built.Bootstraps, NodeDir: built.NodeDir,
		Snapshot: snap, Simulator: ec2sim.Options{}, RetryInterval: &fast,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
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
	c, _, err := steps.New(client, nil, *snap.Config).Coverage(ctx, instances, targets)
	if err != nil {
		t.Fatal(err)
	}
	return x, st, c
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
	x, st, c := reconcileAndJudge(t, snap)
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
