package offline

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// TestEC2CallsPerPlacement pins what one placement costs in EC2 calls, by
// action, on the example account: one batched call per kind of resource in
// each step that needs it, never one per candidate sensor. BENCHMARKS.md
// quotes these numbers; run `go test -run EC2CallsPerPlacement -v ./internal/offline`.
func TestEC2CallsPerPlacement(t *testing.T) {
	tests := []struct {
		name, instance string
		outcome        workflow.Outcome
		want           map[string]int
	}{
		{
			name: "a created placement describes each kind once per step that needs it", instance: "app0", outcome: workflow.OutcomeCreated,
			want: map[string]int{
				"DescribeInstances":             1, // CheckExistingSession; GatherCandidates skips it: these sensors are not on instances
				"DescribeSubnets":               1, // CheckExistingSession (can the source's subnet be mirrored?)
				"DescribeTrafficMirrorSessions": 2, // CheckExistingSession (the source's), PickLeastLoaded (the candidates' load); CreateSession looks for stale sessions only on a source that had some
				"DescribeTrafficMirrorTargets":  2, // CheckExistingSession (is the source a sensor?), GatherCandidates
				"DescribeNetworkInterfaces":     1, // GatherCandidates
				"DescribeSecurityGroups":        1, // FilterBySecurityGroup
				"DescribeNetworkAcls":           1, // FilterByNetworkACL
				"CreateTrafficMirrorSession":    1, // CreateSession
			},
		},
		{
			name: "an instance already mirrored stops after the first step", instance: "app1", outcome: workflow.OutcomeExists,
			want: map[string]int{
				"DescribeInstances": 1, "DescribeSubnets": 1, "DescribeTrafficMirrorSessions": 1, "DescribeTrafficMirrorTargets": 1,
				"DescribeNetworkInterfaces": 1, // is the session's sensor interface still there (rule 5: a live candidate)?
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := deploy(t, "three-zones", ec2sim.Options{})
			before := maps.Clone(a.run.Sim.Calls())
			res := a.place("calls-"+tt.instance, tt.instance)
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tt.outcome)
			}
			got := map[string]int{}
			for action, n := range a.run.Sim.Calls() {
				if d := n - before[action]; d > 0 {
					got[action] = d
				}
			}
			total := 0
			for _, n := range got {
				total += n
			}
			t.Logf("%s (%s): %d EC2 calls: %v", tt.instance, tt.outcome, total, got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EC2 calls by action (-want +got):\n%s", diff)
			}
		})
	}
}
