package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/mirrorflow/mirrorflow/internal/offline"
	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/elbv2sim"
	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/steps"
)

// reconcileReport is what mirrorlocal --reconcile --output json writes.
type reconcileReport struct {
	Before    operate.CoverageReport `json:"before"`
	Reconcile offline.ReconcileRun   `json:"reconcile"`
	After     operate.CoverageReport `json:"after"`
}

// reconcile judges the account's coverage, runs one Reconcile through the
// synthesized definitions, and judges it again.
func reconcile(ctx context.Context, o options, r *offline.Run, cfg config.Config, started time.Time, stdout io.Writer) error {
	h := steps.New(ec2sim.NewClient(r.EC2Endpoint()), elbv2sim.NewClient(r.EC2Endpoint()), cfg)
	var rep reconcileReport
	var err error
	if rep.Before, err = operate.CoverageOf(ctx, h); err != nil {
		return fmt.Errorf("judging the coverage before the Reconcile: %w", err)
	}
	if rep.Reconcile, err = r.RunReconcile(ctx, "demo-reconcile", map[string]string{"trigger": "mirrorlocal"}); err != nil {
		return err
	}
	if rep.After, err = operate.CoverageOf(ctx, h); err != nil {
		return fmt.Errorf("judging the coverage after the Reconcile: %w", err)
	}
	letters, err := r.DeadLetters()
	if err != nil {
		return err
	}
	if o.output == "json" {
		return operate.RenderJSON(stdout, rep)
	}
	w := &errWriter{w: stdout}
	x := rep.Reconcile
	w.printf("mirrorflow, offline: a Reconcile of %s in %s\n", o.snapshot, time.Since(started).Round(time.Millisecond))
	w.printf("Reconcile and placement state machines from %s (checked by asl-validator), steps from %s, EC2 simulated\n\n", o.template, o.bootstraps)
	w.printf("Before: %s\n\n", coverageLine(rep.Before))
	if x.Status != "SUCCEEDED" {
		w.printf("The Reconcile ended %s: %s: %s\n", x.Status, x.Execution.Error, oneLine(x.Execution.Cause))
	}
	w.printf("The Reconcile started %d placement(s), each an execution of the placement state machine of its own, at most %d at once:\n",
		len(x.Placements), x.MostAtOnce)
	results := offline.Results(x.Placements)
	offline.SortResults(results)
	if w.err == nil {
		w.err = writeResults(w, results)
	}
	t := x.State.Totals
	w.printf("\nReconcile summary: %d page(s); %d placed, %d failed, %d had nothing to do; %d stale session(s) deleted by the Reconcile itself",
		t.Pages, t.Placed, t.Failed, t.Skipped, t.Deleted)
	w.printf(" (of %d stale; the others by their interface's placement)\n", t.Judged.Stale)
	w.printf("Dead-letter queue: %d message(s)\n", len(letters))
	for _, dl := range letters {
		w.printf("  %s at %s: %s\n", dash(dl.InstanceID), dl.Step, dl.Error)
	}
	w.printf("\nAfter: %s\n", coverageLine(rep.After))
	if w.err != nil {
		return fmt.Errorf("writing the report: %w", w.err)
	}
	return nil
}

// coverageLine sums a coverage report up in one line.
func coverageLine(c operate.CoverageReport) string {
	return fmt.Sprintf("coverage %.1f%%: %d of %d in-scope source interfaces mirrored, %d unmirrored, %d skipped; %d stale session(s)",
		c.Coverage*100, c.Mirrored, c.Mirrored+c.Unmirrored, c.Unmirrored, c.Skipped, len(c.Stale))
}
