package offline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/burstaccount"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
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
	// One placement first, outside the timing (b.Loop resets the timer):
	// it starts each function's execution environment and warms the
	// engine, about a second that would otherwise be the one iteration
	// the default -benchtime gets.
	if _, err := r.Execute(context.Background(), "bench-warm-up", workflow.ManualInput{InstanceID: id}); err != nil {
		b.Fatal(err)
	}
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

// BenchmarkBurst is the users' worst day at full size: an Auto Scaling
// group starts 1,000 instances at once, EventBridge starts one execution
// each, and every execution runs the synthesized definition with its own
// retry intervals against EC2's real token buckets and each function's
// reserved concurrency. On 120 sensors there is room to spare; on 100 there
// is exactly one slot per instance. It reports what BENCHMARKS.md records:
// placements by outcome, sessions per sensor, how many times a full sensor
// was picked around, and the wall time against the create-rate bound.
// Each run takes minutes: `make bench-burst` runs it once per size.
func BenchmarkBurst(b *testing.B) {
	for _, size := range []struct{ instances, sensors int }{{1000, 120}, {1000, 100}} {
		b.Run(fmt.Sprintf("%d instances on %d sensors", size.instances, size.sensors), func(b *testing.B) {
			snap := burstaccount.New(size.instances, size.sensors)
			r, err := Start(context.Background(), Options{
				Template: built.Template, Bootstraps: built.Bootstraps, NodeDir: built.NodeDir,
				Snapshot: snap, Simulator: ec2sim.Options{Throttling: ec2sim.AWSThrottling(), Seed: 1},
			})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			var ids []string
			for _, res := range snap.Reservations {
				ids = append(ids, aws.ToString(res.Instances[0].InstanceId))
			}
			round := 0
			for b.Loop() {
				r.Sim.Reset()
				placed, err := r.PlaceAll(context.Background(), ids, Placing{Burst: true, Prefix: fmt.Sprintf("burst%d-", round)})
				if err != nil {
					b.Fatal(err)
				}
				round++
				s := SummarizeBurst(placed, r.Sim.Snapshot(), *snap.Config, ec2sim.AWSThrottling().Mutating)
				letters, err := r.DeadLetters()
				if err != nil {
					b.Fatal(err)
				}
				rePicks, failures := 0, map[string]int{}
				for _, p := range placed {
					if p.Outcome == workflow.OutcomeFailed {
						failures[p.FailedStep+": "+strings.SplitN(p.Reason, ":", 2)[0]]++
					}
					for _, e := range p.Execution.Events {
						if e.Type == "StateFailed" && e.State == workflow.StepCreateSession && slices.Contains(steperr.RePick(), e.Error) {
							rePicks++
						}
					}
				}
				twice := 0
				perSource := map[string]int{}
				for _, ss := range r.Sim.Sessions() {
					if perSource[aws.ToString(ss.NetworkInterfaceId)]++; perSource[aws.ToString(ss.NetworkInterfaceId)] == 2 {
						twice++
					}
				}
				b.ReportMetric(float64(s.Created), "placed")
				b.ReportMetric(float64(twice), "duplicates")
				b.ReportMetric(float64(s.Failed), "failed")
				b.ReportMetric(float64(len(letters)), "dead-lettered")
				b.ReportMetric(float64(rePicks), "re-picks")
				b.ReportMetric(s.Wall.Seconds()/s.Bound.Seconds(), "x-create-bound")
				b.Logf("%s\n  interfaces with two sessions: %d\n  re-picks (SensorFull caught back to PickLeastLoaded): %d\n  dead-lettered: %d, by step and error: %v\n  EC2 calls: %v\n  EC2 calls throttled: %v\n  Lambda invocations refused (429): %v",
					strings.Join(s.Lines(), "\n"), twice, rePicks, len(letters), failures, r.Sim.Calls(), r.Sim.Throttled(), r.Host.Throttles())
			}
		})
	}
}

// BenchmarkReconcileBackfill is the day mirrorflow is deployed into an
// account of 1,000 running instances, none mirrored, on 120 sensors: the
// post-deploy Reconcile lists them in 10 pages and places each instance by
// a child execution, at most the Map's MaxConcurrency at once, with the
// definitions' own retry intervals against EC2's real token buckets. It
// reports what BENCHMARKS.md records: placed and failed, the most
// placements at once, and the wall time per placement.
func BenchmarkReconcileBackfill(b *testing.B) {
	const instances, sensors = 1000, 120
	snap := burstaccount.New(instances, sensors)
	r, err := Start(context.Background(), Options{
		Template: built.Template, Bootstraps: built.Bootstraps, NodeDir: built.NodeDir,
		Snapshot: snap, Simulator: ec2sim.Options{Throttling: ec2sim.AWSThrottling(), Seed: 1},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	round := 0
	for b.Loop() {
		r.Sim.Reset()
		start := time.Now()
		run, err := r.RunReconcile(context.Background(), fmt.Sprintf("backfill-%d", round), map[string]string{"trigger": "deploy"})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		round++
		if run.Status != "SUCCEEDED" {
			b.Fatalf("the Reconcile ended %s: %s", run.Status, run.Execution.Error)
		}
		t := run.State.Totals
		b.ReportMetric(float64(t.Placed), "placed")
		b.ReportMetric(float64(t.Failed), "failed")
		b.ReportMetric(float64(t.Pages), "pages")
		b.ReportMetric(float64(run.MostAtOnce), "most-at-once")
		b.ReportMetric(took.Seconds()/float64(max(t.Placed, 1))*1000, "ms/placement")
		b.Logf("backfill of %d instances on %d sensors: %d pages, %d placed, %d failed, at most %d at once, %s (%.0f ms a placement)",
			instances, sensors, t.Pages, t.Placed, t.Failed, run.MostAtOnce, took.Round(time.Second), took.Seconds()/float64(max(t.Placed, 1))*1000)
	}
}
