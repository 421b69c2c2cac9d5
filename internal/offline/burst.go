package offline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mirrorflow/mirrorflow/internal/offline/sfnlocal"
	"github.com/mirrorflow/mirrorflow/internal/offline/template"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Placement is one placement of a run: the execution's outcome and when
// the execution ran.
type Placement struct {
	Result
	// StartedAt and EndedAt are the execution's own record of when it ran:
	// its StartTime and its last event's timestamp, both stamped by the
	// engine (aws-local-stepfunctions), as AWS's execution history would
	// show them. They are taken from there rather than measured around
	// Execute because in a burst every goroutine calls Execute at the same
	// instant: times taken on this side would show all placements running
	// together whether or not the engine ran them so, and would add the pipe
	// to the engine and the wait for the goroutine to be scheduled.
	StartedAt, EndedAt time.Time
}

// timeLayout is RFC 3339 in UTC with the milliseconds the engine's clock
// has (JavaScript's Date), always printed so that every timestamp has the
// same width and a fraction, even one falling on a whole second.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON prints Result's fields plus startedAt and endedAt.
func (p Placement) MarshalJSON() ([]byte, error) {
	out, err := json.Marshal(struct {
		Result
		StartedAt string `json:"startedAt"`
		EndedAt   string `json:"endedAt"`
	}{p.Result, p.StartedAt.UTC().Format(timeLayout), p.EndedAt.UTC().Format(timeLayout)})
	if err != nil {
		return nil, fmt.Errorf("encoding the placement of %s: %w", p.InstanceID, err)
	}
	return out, nil
}

// Results are the placements' outcomes, for what reads only those.
func Results(ps []Placement) []Result {
	out := make([]Result, len(ps))
	for i, p := range ps {
		out[i] = p.Result
	}
	return out
}

// Placing says how PlaceAll runs the placements.
type Placing struct {
	// Burst starts every placement at once, one goroutine each, as
	// EventBridge starts one execution per instance when an Auto Scaling
	// group launches hundreds together; otherwise they run one after another.
	Burst bool
	// Bound is how long each execution may take; zero is no bound.
	Bound time.Duration
	// Prefix starts each execution's name, before the instance id.
	Prefix string
}

// PlaceAll runs one execution per instance with the manual input, in the
// order of ids, as how says. The placements come back in the order of ids
// either way.
func (r *Run) PlaceAll(ctx context.Context, ids []string, how Placing) ([]Placement, error) {
	burst, bound := how.Burst, how.Bound
	out := make([]Placement, len(ids))
	if !burst {
		for i, id := range ids {
			p, err := r.Place(ctx, how.Prefix+id, id, bound)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { out[i], errs[i] = r.Place(ctx, how.Prefix+id, id, bound) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("placing %d instances at once: %w", len(ids), err)
	}
	return out, nil
}

// Place runs the placement of one instance, as the manual input names it,
// in the execution called name, within bound (none when zero).
func (r *Run) Place(ctx context.Context, name, id string, bound time.Duration) (Placement, error) {
	if bound > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bound)
		defer cancel()
	}
	x, err := r.Execute(ctx, name, workflow.ManualInput{InstanceID: id})
	if err != nil {
		return Placement{}, fmt.Errorf("placing %s: %w", id, err)
	}
	started, ended, err := ranAt(x)
	if err != nil {
		return Placement{}, fmt.Errorf("placing %s: %w", id, err)
	}
	return Placement{Result: Summarize(id, x), StartedAt: started, EndedAt: ended}, nil
}

// ranAt reads when an execution started and ended from its own record.
func ranAt(x sfnlocal.Execution) (started, ended time.Time, err error) {
	if len(x.Events) == 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("reading when %s ran: the engine reported no events", x.Name)
	}
	if started, err = time.Parse(time.RFC3339Nano, x.StartTime); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("reading the start time of %s: %w", x.Name, err)
	}
	last := x.Events[len(x.Events)-1]
	if ended, err = time.Parse(time.RFC3339Nano, last.Timestamp); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("reading the time of the last event of %s: %w", x.Name, err)
	}
	return started, ended, nil
}

// timeoutGrace is how much longer than the state machine's own
// TimeoutSeconds mirrorlocal waits for an execution. The engine enforces
// TimeoutSeconds itself and reports a timed-out execution as failed, as AWS
// would; the grace lets that report arrive, so that the bound here only
// catches an engine that stopped answering.
const timeoutGrace = time.Minute

// ExecutionBound is how long one placement may take: flag when set, else
// the state machine's TimeoutSeconds (one hour as synthesized) plus
// timeoutGrace, so that no placement of a burst waiting out EC2's real
// retry intervals is cut short before AWS would cut it. Zero means no bound,
// for a definition without TimeoutSeconds (AWS's own limit is a year).
func ExecutionBound(flag time.Duration, templatePath string) (time.Duration, error) {
	if flag > 0 {
		return flag, nil
	}
	tmpl, err := template.ReadFile(templatePath)
	if err != nil {
		return 0, fmt.Errorf("reading the state machine's timeout: %w", err)
	}
	def, err := tmpl.Definition(template.DefaultEnv)
	if err != nil {
		return 0, fmt.Errorf("reading the state machine's timeout: %w", err)
	}
	var asl struct {
		TimeoutSeconds int `json:"TimeoutSeconds"`
	}
	if err := json.Unmarshal(def, &asl); err != nil {
		return 0, fmt.Errorf("reading the state machine's timeout: decoding the definition: %w", err)
	}
	if asl.TimeoutSeconds <= 0 {
		return 0, nil
	}
	return time.Duration(asl.TimeoutSeconds)*time.Second + timeoutGrace, nil
}
