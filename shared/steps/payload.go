package steps

import (
	"fmt"
	"slices"

	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// begin checks what every step after the first needs: usable handlers and a
// payload that CheckExistingSession has filled. A payload without a source
// means the state machine passed something other than the previous step's
// output, which no retry fixes.
func (h *Handlers) begin(step string, p workflow.Placement) error {
	if err := h.ready(); err != nil {
		return err
	}
	if p.Source == nil || p.Source.NetworkInterfaceID == "" || p.Scope == nil {
		return &steperr.InvalidInput{Reason: step + " needs a payload with the source interface and its scope that " +
			workflow.StepCheckExistingSession + " returns; the state machine passed something else"}
	}
	return nil
}

// report appends the step's report. The slices are clipped first so that a
// payload is never appended to through another payload's backing array.
func report(p workflow.Placement, r workflow.StepReport) workflow.Placement {
	p.Steps = append(slices.Clip(p.Steps), r)
	return p
}

// fail records a failed step in the payload and returns the step's error.
// Lambda drops the payload of a failed invocation, but Run returns it so a
// plan shows the failing step's rejections. A terminal error ends the
// placement, and is counted as its failure at step (countFailure).
func (h *Handlers) fail(step string, p workflow.Placement, r workflow.StepReport, err error) (workflow.Placement, error) {
	if r.Step != "" {
		p = report(p, r)
	}
	p.Outcome = workflow.OutcomeFailed
	p.Reason = err.Error()
	h.countFailure(step, p, err)
	return p, err
}

// filtered finishes a filter step: the survivors become the candidates, or
// none survived and the step fails naming every rejection.
func (h *Handlers) filtered(p workflow.Placement, step string, kept []placement.Sensor, rejected []placement.Rejection, note string) (workflow.Placement, error) {
	r := workflow.StepReport{Step: step, Kept: targetIDs(kept), Rejected: rejected, Note: note}
	if len(rejected) > steperr.MaxListedRejections {
		// The payload carries the first ones only, as the error does: the
		// rest would take it past Step Functions' 256 KiB.
		r.Rejected = rejected[:steperr.MaxListedRejections]
		r.Note += fmt.Sprintf("; %d rejection(s) not listed", len(rejected)-steperr.MaxListedRejections)
	}
	if len(kept) == 0 {
		err := &steperr.NoReachableSensor{Step: step, InstanceID: p.InstanceID, Rejected: rejected}
		if len(rejected) == 0 {
			err.Detail = "the payload held no candidate sensors"
		}
		return h.fail(step, p, r, err)
	}
	p.Candidates = kept
	return report(p, r), nil
}

func targetIDs(sensors []placement.Sensor) []string {
	ids := make([]string, 0, len(sensors))
	for _, s := range sensors {
		ids = append(ids, s.TargetID)
	}
	return ids
}

// sortedUnique returns the distinct non-empty values, sorted, for Describe
// filters whose values should not depend on candidate order.
func sortedUnique(values []string) []string {
	out := slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == "" })
	slices.Sort(out)
	return slices.Compact(out)
}
