package operate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// failedStateSuffix ends the name of the Pass state that builds a step's
// dead-letter message (statemachine.FailedState), and interfaceRejected
// names the one that builds it for an interface CheckExistingSession failed
// (statemachine.StateInterfaceRejected). They are repeated here rather than
// imported so that mirrorctl does not link the CDK.
const (
	failedStateSuffix = "Failed"
	interfaceRejected = "InterfaceRejected"
)

// ResumePoint is where RedriveExecution would continue an execution that
// did not succeed. Step Functions resumes at the state that did not succeed,
// which for a failure the state machine caught is not the failed step but
// the end of its dead-letter path; the history is the only record of which.
// Inside the inline Map it redrives only the iterations that failed or were
// aborted, each from its own state that did not succeed (RedriveExecution,
// Step Functions API Reference).
type ResumePoint struct {
	// Status is how the execution ended: FAILED, TIMED_OUT or ABORTED.
	Status string
	// State is the state that did not succeed: the last one entered with no
	// exit before the execution ended. Empty when it ended between states.
	State string
	// Type is State's type as the history names it: Task, Pass, Choice,
	// Wait, Succeed, Fail, Map or Parallel.
	Type string
	// Map is the Map state when State is inside one of its iterations, and
	// Iteration that iteration's index; Map is empty at the top level.
	Map       string
	Iteration int
	// NetworkInterfaceID is the source interface of that iteration, or of
	// FailedStep.
	NetworkInterfaceID string
	// Fail says State is a Fail state, which a redrive enters again and so
	// fails again.
	Fail bool
	// FailedStep is the workflow step whose error a Catch sent down a
	// dead-letter path that the redrive would resume on or after: the step
	// of the <Step>Failed state entered (CheckExistingSession for
	// InterfaceRejected). Empty when the redrive would re-run a step.
	FailedStep string
	// MoreFailed counts the other interfaces whose failures were caught
	// likewise; each has its own dead-letter message.
	MoreFailed int
	// Error is FailedStep's error; without one, the execution's (empty for
	// an abort).
	Error string
}

// OnDeadLetterPath says a redrive would resume after the failed step's error
// was caught: at the Fail state, or at a state on the way to it. Such a
// redrive sends the dead-letter message again at most and fails; it never
// re-runs the step, since the Catch already moved past it.
func (r ResumePoint) OnDeadLetterPath() bool { return r.Fail || r.FailedStep != "" }

// thread is where one line of the execution stands: the top level, or one
// iteration of the Map.
type thread struct {
	open, openType string
	// iface is the source interface an iteration places.
	iface string
	// lastError is the last task error, which a Catch may have taken.
	lastError string
	caught    *caughtFailure
	// ended is how an iteration ended: succeeded, failed or aborted; empty
	// while it runs.
	ended sfntypes.HistoryEventType
}

// caughtFailure is a step's error a Catch sent down the dead-letter path.
type caughtFailure struct{ step, err, iface string }

// RedriveResumePoint reads an execution's history, oldest event first, and
// says where a redrive would resume. It reports false when the history does
// not end in ExecutionFailed, ExecutionTimedOut or ExecutionAborted (the
// execution runs or succeeded), since then there is nothing to redrive.
// Only the run since the last redrive counts: a redrive enters the state
// that did not succeed again, and its own ending replaces the earlier one.
// Map iterations are read one after another, as the placement's Map runs
// them (MaxConcurrency 1).
func RedriveResumePoint(events []sfntypes.HistoryEvent) (ResumePoint, bool) {
	var (
		r          ResumePoint
		ended      bool
		top        = &thread{}
		iterations = map[int]*thread{}
		order      []int
		// iter is the iteration running, nil at the top level.
		iter *thread
	)
	at := func() *thread {
		if iter != nil {
			return iter
		}
		return top
	}
	for _, e := range events {
		if status, errName, ok := executionEnded(e); ok {
			r = resumePoint(status, errName, top, iterations, order)
			ended = true
			continue
		}
		switch e.Type {
		case sfntypes.HistoryEventTypeExecutionSucceeded:
			ended = false
			continue
		case sfntypes.HistoryEventTypeExecutionRedriven:
			ended = false
			// A redrive resumes the iteration that did not succeed. Its
			// events are read as the iteration's even if the history does
			// not start it again with MapIterationStarted.
			if top.openType == "Map" {
				iter = firstUnsuccessful(iterations, order)
			}
			continue
		case sfntypes.HistoryEventTypeMapIterationStarted:
			i := len(order)
			if d := e.MapIterationStartedEventDetails; d != nil {
				i = int(d.Index)
			}
			if _, seen := iterations[i]; !seen {
				order = append(order, i)
			}
			iter = &thread{}
			iterations[i] = iter
			continue
		case sfntypes.HistoryEventTypeMapIterationSucceeded, sfntypes.HistoryEventTypeMapIterationFailed,
			sfntypes.HistoryEventTypeMapIterationAborted:
			if iter != nil {
				iter.ended = e.Type
			}
			iter = nil
			continue
		}
		if errName, ok := taskError(e); ok {
			at().lastError = errName
			continue
		}
		if name, typ, ok := stateEntered(e); ok {
			t := at()
			if typ == "Map" {
				// The placement's Map is a top-level state.
				t, iter = top, nil
			}
			t.open, t.openType = name, typ
			input := aws.ToString(e.StateEnteredEventDetails.Input)
			if eni := interfaceOf(input); eni != "" && iter != nil {
				iter.iface = eni
			}
			if step, ok := caughtStep(name, typ); ok && t.caught == nil {
				t.caught = &caughtFailure{step: step, err: caughtError(input, t.lastError), iface: t.iface}
			}
		} else if name, ok := stateExited(e); ok && name == at().open {
			at().open, at().openType = "", ""
		}
	}
	return r, ended
}

// firstUnsuccessful is the first iteration that did not succeed, or nil.
func firstUnsuccessful(iterations map[int]*thread, order []int) *thread {
	for _, i := range order {
		if t := iterations[i]; t.ended != sfntypes.HistoryEventTypeMapIterationSucceeded {
			t.ended = ""
			return t
		}
	}
	return nil
}

// resumePoint says where a redrive of an execution that ended as the
// threads stand would resume.
func resumePoint(status, errName string, top *thread, iterations map[int]*thread, order []int) ResumePoint {
	r := ResumePoint{Status: status, State: top.open, Type: top.openType, Fail: top.openType == "Fail", Error: errName}
	if top.openType == "Map" {
		// Only the iterations that did not succeed run again. One that
		// re-runs a step makes the redrive worth it; if every one is on its
		// dead-letter path, the first says why it is not.
		var chosen *thread
		for _, i := range order {
			t := iterations[i]
			if t.ended == sfntypes.HistoryEventTypeMapIterationSucceeded || t.open == "" {
				continue
			}
			if chosen == nil || (chosen.caught != nil && t.caught == nil) {
				chosen, r.Iteration = t, i
			}
		}
		if chosen == nil {
			return r
		}
		r.Map, r.State, r.Type, r.Fail, r.NetworkInterfaceID = top.open, chosen.open, chosen.openType, chosen.openType == "Fail", chosen.iface
		if c := chosen.caught; c != nil {
			r.FailedStep, r.Error = c.step, c.err
		}
		return r
	}
	// After the Map, or before it: a failure caught at the top level
	// (CheckExistingSession's; in executions of the earlier graph, which
	// had no Map, any step's) or in any iteration leads to PlacementFailed.
	var caught []*caughtFailure
	if top.caught != nil {
		caught = append(caught, top.caught)
	}
	for _, i := range order {
		if c := iterations[i].caught; c != nil {
			caught = append(caught, c)
		}
	}
	if len(caught) > 0 {
		r.FailedStep, r.Error, r.NetworkInterfaceID, r.MoreFailed = caught[0].step, caught[0].err, caught[0].iface, len(caught)-1
	}
	return r
}

// caughtStep reads a state that starts a dead-letter path: a Pass state
// <Step>Failed, or InterfaceRejected, which stands for CheckExistingSession.
func caughtStep(name, typ string) (string, bool) {
	if typ != "Pass" {
		return "", false
	}
	if name == interfaceRejected {
		return workflow.StepCheckExistingSession, true
	}
	step, ok := strings.CutSuffix(name, failedStateSuffix)
	return step, ok && isStep(step)
}

// caughtError reads the error a dead-letter path starts from: the Catch's
// failure in the state's input, the error CheckExistingSession gave an
// interface, or else the last task error seen.
func caughtError(input, lastError string) string {
	var v struct {
		Failure *workflow.CaughtError `json:"failure"`
		Error   string                `json:"error"`
	}
	if json.Unmarshal([]byte(input), &v) == nil {
		switch {
		case v.Failure != nil && v.Failure.Error != "":
			return v.Failure.Error
		case v.Error != "":
			return v.Error
		}
	}
	return lastError
}

// taskError reads an event that ends a task attempt with an error.
func taskError(e sfntypes.HistoryEvent) (string, bool) {
	switch e.Type {
	case sfntypes.HistoryEventTypeTaskFailed:
		if d := e.TaskFailedEventDetails; d != nil {
			return aws.ToString(d.Error), true
		}
	case sfntypes.HistoryEventTypeTaskTimedOut:
		if d := e.TaskTimedOutEventDetails; d != nil {
			return aws.ToString(d.Error), true
		}
	case sfntypes.HistoryEventTypeTaskStartFailed:
		if d := e.TaskStartFailedEventDetails; d != nil {
			return aws.ToString(d.Error), true
		}
	case sfntypes.HistoryEventTypeTaskSubmitFailed:
		if d := e.TaskSubmitFailedEventDetails; d != nil {
			return aws.ToString(d.Error), true
		}
	case sfntypes.HistoryEventTypeLambdaFunctionFailed:
		if d := e.LambdaFunctionFailedEventDetails; d != nil {
			return aws.ToString(d.Error), true
		}
	}
	return "", false
}

// executionEnded reads an event that ends an execution unsuccessfully: the
// status it leaves and the error it records.
func executionEnded(e sfntypes.HistoryEvent) (status, errName string, ok bool) {
	switch e.Type {
	case sfntypes.HistoryEventTypeExecutionFailed:
		if d := e.ExecutionFailedEventDetails; d != nil {
			errName = aws.ToString(d.Error)
		}
		return StatusFailed, errName, true
	case sfntypes.HistoryEventTypeExecutionTimedOut:
		if d := e.ExecutionTimedOutEventDetails; d != nil {
			errName = aws.ToString(d.Error)
		}
		return StatusTimedOut, errName, true
	case sfntypes.HistoryEventTypeExecutionAborted:
		if d := e.ExecutionAbortedEventDetails; d != nil {
			errName = aws.ToString(d.Error)
		}
		return StatusAborted, errName, true
	}
	return "", "", false
}

// stateEntered reads a <Type>StateEntered event: the state's name and type.
func stateEntered(e sfntypes.HistoryEvent) (name, typ string, ok bool) {
	typ, ok = strings.CutSuffix(string(e.Type), "StateEntered")
	if !ok || e.StateEnteredEventDetails == nil {
		return "", "", false
	}
	return aws.ToString(e.StateEnteredEventDetails.Name), typ, true
}

// stateExited reads a <Type>StateExited event: the state's name.
func stateExited(e sfntypes.HistoryEvent) (string, bool) {
	if !strings.HasSuffix(string(e.Type), "StateExited") || e.StateExitedEventDetails == nil {
		return "", false
	}
	return aws.ToString(e.StateExitedEventDetails.Name), true
}

func isStep(name string) bool {
	_, ok := workflow.StepNamed(name)
	return ok
}

// CheckRedrive reads an execution's history and returns a
// *RedriveCannotRerunError when a redrive would resume on the dead-letter
// path, so mirrorctl can refuse before RedriveExecution makes the execution
// fail a second time and puts a second message in the queue. It returns nil
// when a redrive would re-run the state that did not succeed, and when the
// history shows nothing to redrive (RedriveExecution then says why).
func CheckRedrive(ctx context.Context, api sfn.GetExecutionHistoryAPIClient, executionARN string) error {
	events, err := HistoryAsList(ctx, api, executionARN)
	if err != nil {
		return fmt.Errorf("checking where a redrive of %s would resume: %w", nameOf(executionARN), err)
	}
	r, ok := RedriveResumePoint(events)
	if !ok || !r.OnDeadLetterPath() {
		return nil
	}
	return &RedriveCannotRerunError{
		Execution:  nameOf(executionARN),
		InstanceID: BuildTrace(executionARN, events).InstanceID,
		Resume:     r,
	}
}

// RedriveCannotRerunError says a redrive would resume on the dead-letter path
// and so could not re-run the step that failed; it names the command that
// places the instance again instead.
type RedriveCannotRerunError struct {
	// Execution is the execution's name.
	Execution string
	// InstanceID is the instance the execution placed, when its history says.
	InstanceID string
	Resume     ResumePoint
}

func (e *RedriveCannotRerunError) Error() string {
	var b strings.Builder
	r := e.Resume
	if r.FailedStep == "" {
		fmt.Fprintf(&b, "execution %s ended in the Fail state %s; a redrive would resume there and fail again.", e.Execution, r.State)
	} else {
		fmt.Fprintf(&b, "execution %s failed at %s", e.Execution, r.FailedStep)
		if r.Error != "" {
			fmt.Fprintf(&b, " (%s)", r.Error)
		}
		if r.NetworkInterfaceID != "" {
			fmt.Fprintf(&b, " for %s", r.NetworkInterfaceID)
		}
		if r.MoreFailed > 0 {
			fmt.Fprintf(&b, " (and %d more interface(s))", r.MoreFailed)
		}
		b.WriteString(" and ended in the dead-letter path; a redrive would resume at ")
		if r.Fail {
			fmt.Fprintf(&b, "the Fail state %s", r.State)
		} else {
			fmt.Fprintf(&b, "%s, on the dead-letter path,", r.State)
		}
		fmt.Fprintf(&b, " and fail again without re-running %s.", r.FailedStep)
	}
	b.WriteString(" Start a new placement with: ")
	if e.InstanceID != "" {
		fmt.Fprintf(&b, "mirrorctl run --instance %s (or mirrorctl retry --from-dlq)", e.InstanceID)
	} else {
		b.WriteString("mirrorctl retry --from-dlq (or mirrorctl run --instance ID)")
	}
	return b.String()
}

var _ error = (*RedriveCannotRerunError)(nil)
