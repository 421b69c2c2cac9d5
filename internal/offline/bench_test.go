package offline

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// BenchmarkOfflinePlacement measures one whole placement of the example
// account's app0 as the offline run executes it: the synthesized definition
// in aws-local-stepfunctions, seven Lambda invocations of the real
// bootstraps through the Runtime API, nine EC2 calls to the simulator over
// HTTP. The simulator is reset between placements so each one creates a
// session.
func BenchmarkOfflinePlacement(b *testing.B) {
	snap, err := snapshot.Load(root + "/testdata/snapshots/three-zones.json")
	if err != nil {
		b.Fatal(err)
	}
	r, err := Start(context.Background(), Options{
		Template: built.Template, Bootstraps: built.Bootstraps, NodeDir: built.NodeDir, Snapshot: snap,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	id := aws.ToString(snap.Reservations[0].Instances[0].InstanceId)
	i := 0
	for b.Loop() {
		r.Sim.Reset()
		x, err := r.Execute(context.Background(), fmt.Sprintf("bench-%d", i), workflow.ManualInput{InstanceID: id})
		if err != nil {
			b.Fatal(err)
		}
		if res := Summarize(id, x); res.Outcome != workflow.OutcomeCreated {
			b.Fatalf("outcome %s (%s), want created", res.Outcome, res.Reason)
		}
		i++
	}
}
