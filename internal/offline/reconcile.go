package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/mirrorflow/mirrorflow/internal/offline/sfnlocal"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// ReconcileRun is one Reconcile as a person reads it: its totals, and each
// placement it started, with when it ran.
type ReconcileRun struct {
	Execution sfnlocal.Execution      `json:"-"`
	Status    string                  `json:"status"`
	State     workflow.ReconcileState `json:"summary"`
	// Placements are the child executions, in the order they ended.
	Placements []Placement `json:"placements"`
	// MostAtOnce is the most placements that ran at one instant, which the
	// Map's MaxConcurrency bounds.
	MostAtOnce int `json:"mostAtOnce"`
}

// reconcileChild reads the instance a Reconcile's placement is named after
// (steps.ReconcileExecutionName).
var reconcileChild = regexp.MustCompile(`^reconcile-(i-[0-9a-f]+)-`)

// RunReconcile runs one Reconcile named name with input and reads what it
// did. A Reconcile that failed is returned with its Status and no summary;
// only an engine that could not run it is an error.
func (r *Run) RunReconcile(ctx context.Context, name string, input any) (ReconcileRun, error) {
	x, err := r.Reconcile(ctx, name, input)
	if err != nil {
		return ReconcileRun{}, err
	}
	out := ReconcileRun{Execution: x, Status: x.Status, Placements: []Placement{}}
	if x.Succeeded() {
		if err := json.Unmarshal(x.Output, &out.State); err != nil {
			return out, fmt.Errorf("reading the summary of Reconcile %s: %w", name, err)
		}
	}
	spans := make([]Interval, 0, len(x.Children))
	for _, child := range x.Children {
		m := reconcileChild.FindStringSubmatch(child.Name)
		if m == nil {
			return out, fmt.Errorf("reading Reconcile %s: child execution %q is not named reconcile-<instance>-<time>", name, child.Name)
		}
		started, ended, err := ranAt(child)
		if err != nil {
			return out, err
		}
		out.Placements = append(out.Placements, Placement{Result: Summarize(m[1], child), StartedAt: started, EndedAt: ended})
		spans = append(spans, Interval{Start: started, End: ended})
	}
	out.MostAtOnce = MostAtOnce(spans)
	return out, nil
}
