package operate

import (
	"context"
	"testing"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/testkit/burstaccount"
	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/steps"
)

// BenchmarkCoverage judges an account of 1,000 running instances on 120
// sensors, none mirrored, as mirrorctl coverage does: one DescribeInstances
// page, the page's subnets and sessions in batches, then a preview of the
// candidate steps for every unmirrored interface, through the real SDK
// client against the simulator. It reports the EC2 calls a report costs.
func BenchmarkCoverage(b *testing.B) {
	snap := burstaccount.New(1000, 120)
	a := ec2account.Start(b, snap, ec2sim.Options{})
	h := steps.New(a.Client, a.ELBv2, snap.Config.WithDefaults())
	for b.Loop() {
		a.ResetCalls()
		r, err := CoverageOf(context.Background(), h)
		if err != nil {
			b.Fatal(err)
		}
		if r.Unmirrored != 1000 {
			b.Fatalf("%d unmirrored, want 1000", r.Unmirrored)
		}
		calls := 0
		for _, n := range a.Calls() {
			calls += n
		}
		b.ReportMetric(float64(calls), "EC2-calls")
	}
}
