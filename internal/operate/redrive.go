package operate

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// failedStateSuffix ends the name of the Pass state that builds a step's
// dead-letter message (statemachine.FailedState). It is repeated here rather
// than imported so that mirrorctl does not link the CDK.
const failedStateSuffix = "Failed"

// ResumePoint is where RedriveExecution would continue an execution that
// did not succeed. Step Functions resumes at the state that did not succeed,
// which for a failure the state machine caught is not the failed step but
// the end of its dead-letter path; the history is the only record of which.
type ResumePoint struct {
	// Status is how the execution ended: FAILED, TIMED_OUT or ABORTED.
	Status string
	// State is the state that did not succeed: the last one entered with no
	// exit before the execution ended. Empty when it ended between states.
	State string
	// Type is State's type as the history names it: Task, Pass, Choice,
	// Wait, Succeed, Fail, Map or Parallel.
	Type string
	// Fail says State is a Fail state, which a redrive enters again and so
	// fails again.
	Fail bool
	// FailedStep is the workflow step whose error a Catch sent down the
	// dead-letter path: the step of the <Step>Failed state the execution
	// entered. Empty when it never took that path.
	FailedStep string
	// Error is the execution's error, which on the dead-letter path is the
	// failed step's; empty for an abort.
	Error string
}

// OnDeadLetterPath says a redrive would resume after the failed step's error
// was caught: at the Fail state, or at a state on the way to it. Such a
// redrive sends the dead-letter message again at most and fails; it never
// re-runs the step, since the Catch already moved past it.
func (r ResumePoint) OnDeadLetterPath() bool { return r.Fail || r.FailedStep != "" }

// RedriveResumePoint reads an execution's history, oldest event first, and
// says where a redrive would resume. It reports false when the history does
// not end in ExecutionFailed, ExecutionTimedOut or ExecutionAborted (the
// execution runs or succeeded), since then there is nothing to redrive.
// Only the run since the last redrive counts: a redrive enters the state
// that did not succeed again, and its own ending replaces the earlier one.
func RedriveResumePoint(events []sfntypes.HistoryEvent) (ResumePoint, bool) {
	var (
		r                      ResumePoint
		ended                  bool
		open, openType, caught string
	)
	for _, e := range events {
		if status, errName, ok := executionEnded(e); ok {
			r = ResumePoint{Status: status, State: open, Type: openType, Fail: openType == "Fail", FailedStep: caught, Error: errName}
			ended = true
			continue
		}
		if e.Type == sfntypes.HistoryEventTypeExecutionSucceeded || e.Type == sfntypes.HistoryEventTypeExecutionRedriven {
			ended = false
			continue
		}
		if name, typ, ok := stateEntered(e); ok {
			open, openType = name, typ
			if step, ok := strings.CutSuffix(name, failedStateSuffix); ok && typ == "Pass" && isStep(step) {
				caught = step
			}
		} else if name, ok := stateExited(e); ok && name == open {
			open, openType = "", ""
		}
	}
	return r, ended
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
