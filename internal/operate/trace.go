package operate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Execution and step statuses, as Step Functions spells execution statuses.
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// Trace is one execution told step by step: what each Task state kept and
// rejected, how long it took, how often it was retried, and where and why
// the execution failed.
type Trace struct {
	ExecutionARN string     `json:"executionArn"`
	Name         string     `json:"name"`
	InstanceID   string     `json:"instanceId,omitempty"`
	Status       string     `json:"status"`
	StartTime    *time.Time `json:"startTime,omitempty"`
	StopTime     *time.Time `json:"stopTime,omitempty"`
	// Outcome, TargetID and SessionID come from a succeeded execution's output.
	Outcome   workflow.Outcome `json:"outcome,omitempty"`
	TargetID  string           `json:"targetId,omitempty"`
	SessionID string           `json:"sessionId,omitempty"`
	// FailedStep is the Task state whose error ended the placement, even
	// when the state machine caught it and went on to the dead-letter path
	// and the execution then failed with InterfacePlacementFailed.
	FailedStep string `json:"failedStep,omitempty"`
	// FailedNetworkInterfaceID is the source interface FailedStep was
	// placing; empty when the instance failed as a whole.
	FailedNetworkInterfaceID string `json:"failedNetworkInterfaceId,omitempty"`
	// Error and Cause are the failed step's, or the execution's when no step failed.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	// Reason is the cause's errorMessage: the sentence a person reads.
	Reason     string      `json:"reason,omitempty"`
	Redrives   int         `json:"redrives,omitempty"`
	Steps      []StepTrace `json:"steps"`
	ConsoleURL string      `json:"consoleUrl"`
}

// StepTrace is one run of one Task state.
type StepTrace struct {
	Step string `json:"step"`
	// NetworkInterfaceID is the source interface the step placed: the Map
	// iteration's, for every Task inside it (its dead-letter send included);
	// empty for CheckExistingSession, which reads the whole instance.
	NetworkInterfaceID string     `json:"networkInterfaceId,omitempty"`
	Status             string     `json:"status"`
	StartTime          *time.Time `json:"startTime,omitempty"`
	Duration           Duration   `json:"durationMs"`
	// Attempts counts the times the task was scheduled; Retries is
	// Attempts-1, the state machine's Retry at work.
	Attempts int `json:"attempts"`
	Retries  int `json:"retries"`
	// RetriedErrors are the errors of the attempts that were retried, in order.
	RetriedErrors []string              `json:"retriedErrors,omitempty"`
	Kept          []string              `json:"kept,omitempty"`
	Rejected      []placement.Rejection `json:"rejected,omitempty"`
	Note          string                `json:"note,omitempty"`
	// Caught says the state machine caught the step's final error and went
	// on to its dead-letter path instead of failing at once.
	Caught bool `json:"caught,omitempty"`
	// RePick says the caught error was a full sensor (steperr.RePick), which
	// the state machine routes back to PickLeastLoaded: the placement went
	// on, and the next PickLeastLoaded line is the new pass.
	RePick bool   `json:"rePick,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Duration is a time.Duration that renders as whole milliseconds in JSON,
// which a script can compare without parsing "1.5s".
type Duration time.Duration

// MarshalJSON writes the duration in milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Milliseconds())
}

// String rounds to the millisecond, which is the history's resolution.
func (d Duration) String() string { return time.Duration(d).Round(time.Millisecond).String() }

// HistoryAsList returns an execution's whole history, oldest event first.
func HistoryAsList(ctx context.Context, api sfn.GetExecutionHistoryAPIClient, executionARN string) ([]sfntypes.HistoryEvent, error) {
	var out []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(api, &sfn.GetExecutionHistoryInput{
		ExecutionArn:         aws.String(executionARN),
		IncludeExecutionData: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("getting the history of %s: %w", executionARN, Explain(err))
		}
		out = append(out, page.Events...)
	}
	return out, nil
}

// TraceExecution reads an execution's history and builds its trace.
func TraceExecution(ctx context.Context, api sfn.GetExecutionHistoryAPIClient, executionARN string) (Trace, error) {
	events, err := HistoryAsList(ctx, api, executionARN)
	if err != nil {
		return Trace{}, err
	}
	return BuildTrace(executionARN, events), nil
}

// attempt is one scheduling of a task and how it ended.
type attempt struct {
	done         bool
	failed       bool
	error, cause string
	output       string
	at           time.Time
}

// stepRun gathers the events of one entry into a Task state.
type stepRun struct {
	trace    StepTrace
	attempts []attempt
	exited   bool
	exitedAt time.Time
	output   string
	// aborted says Step Functions recorded TaskStateAborted: the Task was
	// stopped while the execution went on or ended (abortedAt).
	aborted   bool
	abortedAt time.Time
}

// interfaceFailure is one source interface the Map ended as failed, read
// from the output of the iteration's last state (InterfaceFailed).
type interfaceFailure struct {
	FailedStep         string           `json:"failedStep"`
	NetworkInterfaceID string           `json:"networkInterfaceId"`
	Outcome            workflow.Outcome `json:"outcome"`
	Error              string           `json:"error"`
	Cause              string           `json:"cause"`
}

// BuildTrace tells an execution's history, oldest event first, step by step.
// It reads only the events, so every rule is a table test on recorded
// histories. Task states are attributed by the last state entered: the
// placement workflow runs one state at a time, the Map included (its
// MaxConcurrency is 1, so one iteration's events end before the next
// iteration's start). Steps inside a Map iteration carry the source
// interface the iteration places.
func BuildTrace(executionARN string, events []sfntypes.HistoryEvent) Trace {
	t := Trace{
		ExecutionARN: executionARN,
		Name:         nameOf(executionARN),
		Status:       StatusRunning,
		ConsoleURL:   ConsoleURL(executionARN),
		Steps:        []StepTrace{},
	}
	var (
		runs    []*stepRun
		current *stepRun
		// iface is the source interface of the Map iteration running, once
		// a state of the iteration has shown it; inIteration says one runs.
		iface       string
		inIteration bool
		failures    []interfaceFailure
	)
	for _, e := range events {
		at := aws.ToTime(e.Timestamp).UTC()
		switch e.Type {
		case sfntypes.HistoryEventTypeExecutionStarted:
			t.StartTime = timePtr(at)
			if d := e.ExecutionStartedEventDetails; d != nil {
				t.InstanceID = InstanceFromInput(aws.ToString(d.Input))
			}
		case sfntypes.HistoryEventTypeExecutionRedriven:
			t.Redrives++
			t.Status, t.StopTime = StatusRunning, nil
		case sfntypes.HistoryEventTypeExecutionSucceeded:
			t.Status, t.StopTime = StatusSucceeded, timePtr(at)
			if d := e.ExecutionSucceededEventDetails; d != nil {
				t.Outcome, t.TargetID, t.SessionID = placedOutcome(aws.ToString(d.Output))
			}
		case sfntypes.HistoryEventTypeExecutionFailed:
			t.Status, t.StopTime = StatusFailed, timePtr(at)
			if d := e.ExecutionFailedEventDetails; d != nil {
				t.Error, t.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
			}
		case sfntypes.HistoryEventTypeExecutionTimedOut:
			t.Status, t.StopTime = StatusTimedOut, timePtr(at)
			if d := e.ExecutionTimedOutEventDetails; d != nil {
				t.Error, t.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
			}
		case sfntypes.HistoryEventTypeExecutionAborted:
			t.Status, t.StopTime = StatusAborted, timePtr(at)
			if d := e.ExecutionAbortedEventDetails; d != nil {
				t.Error, t.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
			}
		case sfntypes.HistoryEventTypeTaskStateEntered:
			current = &stepRun{trace: StepTrace{StartTime: timePtr(at)}}
			if d := e.StateEnteredEventDetails; d != nil {
				current.trace.Step = aws.ToString(d.Name)
				input := aws.ToString(d.Input)
				if p, ok := decodePlacement(input); ok && t.InstanceID == "" {
					t.InstanceID = p.InstanceID
				}
				current.trace.NetworkInterfaceID = interfaceOf(input)
				if inIteration {
					if current.trace.NetworkInterfaceID == "" {
						current.trace.NetworkInterfaceID = iface
					}
					iface = current.trace.NetworkInterfaceID
				}
			}
			runs = append(runs, current)
		case sfntypes.HistoryEventTypeTaskStateExited:
			if current != nil {
				current.exited, current.exitedAt = true, at
				if d := e.StateExitedEventDetails; d != nil {
					current.output = aws.ToString(d.Output)
				}
				current = nil
			}
		case sfntypes.HistoryEventTypeTaskStateAborted:
			if current != nil {
				current.aborted, current.abortedAt = true, at
				current = nil
			}
		case sfntypes.HistoryEventTypePassStateEntered, sfntypes.HistoryEventTypeChoiceStateEntered,
			sfntypes.HistoryEventTypeFailStateEntered, sfntypes.HistoryEventTypeSucceedStateEntered,
			sfntypes.HistoryEventTypeWaitStateEntered, sfntypes.HistoryEventTypeMapStateEntered,
			sfntypes.HistoryEventTypeParallelStateEntered:
			// Only Task states are steps; entering another state ends the
			// current one even if the history has no TaskStateExited for it.
			current = nil
			if d := e.StateEnteredEventDetails; d != nil && inIteration {
				if eni := interfaceOf(aws.ToString(d.Input)); eni != "" {
					iface = eni
				}
			}
		case sfntypes.HistoryEventTypePassStateExited:
			// InterfaceFailed's output says which step failed an interface;
			// for one CheckExistingSession failed (no room for a session) it
			// is the only record, since no Task failed.
			if d := e.StateExitedEventDetails; d != nil {
				var f interfaceFailure
				if json.Unmarshal([]byte(aws.ToString(d.Output)), &f) == nil && f.Outcome == workflow.OutcomeFailed && f.FailedStep != "" {
					failures = append(failures, f)
				}
			}
		case sfntypes.HistoryEventTypeMapIterationStarted:
			current, inIteration, iface = nil, true, ""
		case sfntypes.HistoryEventTypeMapIterationSucceeded, sfntypes.HistoryEventTypeMapIterationFailed,
			sfntypes.HistoryEventTypeMapIterationAborted:
			current, inIteration, iface = nil, false, ""
		default:
			if current != nil {
				current.record(e, at)
			}
		}
	}
	for _, r := range runs {
		t.Steps = append(t.Steps, r.finish(t.Status, t.StopTime))
	}
	for i := len(t.Steps) - 1; i >= 0; i-- {
		if s := t.Steps[i]; s.Status == StatusFailed && !s.RePick {
			t.FailedStep, t.Error, t.Cause, t.Reason = s.Step, s.Error, s.Cause, s.Reason
			t.FailedNetworkInterfaceID = s.NetworkInterfaceID
			break
		}
	}
	if t.FailedStep == "" && len(failures) > 0 {
		f := failures[len(failures)-1]
		c, _ := workflow.ParseCause(f.Cause)
		t.FailedStep, t.FailedNetworkInterfaceID = f.FailedStep, f.NetworkInterfaceID
		t.Error, t.Cause, t.Reason = f.Error, f.Cause, oneLine(c.ErrorMessage)
	}
	if t.FailedStep == "" && t.Cause != "" {
		c, _ := workflow.ParseCause(t.Cause)
		t.Reason = oneLine(c.ErrorMessage)
	}
	if t.Status != StatusSucceeded && t.Status != StatusRunning && t.Outcome == "" {
		t.Outcome = workflow.OutcomeFailed
	}
	return t
}

// record adds one task event to the step that is running.
func (r *stepRun) record(e sfntypes.HistoryEvent, at time.Time) {
	last := func() *attempt {
		if len(r.attempts) == 0 {
			r.attempts = append(r.attempts, attempt{})
		}
		return &r.attempts[len(r.attempts)-1]
	}
	fail := func(errName, cause *string) {
		a := last()
		a.done, a.failed, a.at = true, true, at
		a.error, a.cause = aws.ToString(errName), aws.ToString(cause)
	}
	switch e.Type {
	case sfntypes.HistoryEventTypeTaskScheduled, sfntypes.HistoryEventTypeLambdaFunctionScheduled:
		r.attempts = append(r.attempts, attempt{})
	case sfntypes.HistoryEventTypeTaskSucceeded:
		a := last()
		a.done, a.at = true, at
		if d := e.TaskSucceededEventDetails; d != nil {
			a.output = aws.ToString(d.Output)
		}
	case sfntypes.HistoryEventTypeLambdaFunctionSucceeded:
		a := last()
		a.done, a.at = true, at
		if d := e.LambdaFunctionSucceededEventDetails; d != nil {
			a.output = aws.ToString(d.Output)
		}
	case sfntypes.HistoryEventTypeTaskFailed:
		if d := e.TaskFailedEventDetails; d != nil {
			fail(d.Error, d.Cause)
		} else {
			fail(nil, nil)
		}
	case sfntypes.HistoryEventTypeTaskTimedOut:
		if d := e.TaskTimedOutEventDetails; d != nil {
			fail(d.Error, d.Cause)
		} else {
			fail(nil, nil)
		}
	case sfntypes.HistoryEventTypeTaskStartFailed:
		if d := e.TaskStartFailedEventDetails; d != nil {
			fail(d.Error, d.Cause)
		} else {
			fail(nil, nil)
		}
	case sfntypes.HistoryEventTypeTaskSubmitFailed:
		if d := e.TaskSubmitFailedEventDetails; d != nil {
			fail(d.Error, d.Cause)
		} else {
			fail(nil, nil)
		}
	case sfntypes.HistoryEventTypeLambdaFunctionFailed:
		if d := e.LambdaFunctionFailedEventDetails; d != nil {
			fail(d.Error, d.Cause)
		} else {
			fail(nil, nil)
		}
	case sfntypes.HistoryEventTypeLambdaFunctionTimedOut:
		if d := e.LambdaFunctionTimedOutEventDetails; d != nil {
			fail(d.Error, d.Cause)
		} else {
			fail(nil, nil)
		}
	case sfntypes.HistoryEventTypeLambdaFunctionStartFailed:
		if d := e.LambdaFunctionStartFailedEventDetails; d != nil {
			fail(d.Error, d.Cause)
		} else {
			fail(nil, nil)
		}
	case sfntypes.HistoryEventTypeLambdaFunctionScheduleFailed:
		if d := e.LambdaFunctionScheduleFailedEventDetails; d != nil {
			fail(d.Error, d.Cause)
		} else {
			fail(nil, nil)
		}
	}
}

// finish decides the step's status, duration and report once the whole
// history has been read. executionStatus says whether a step that never
// ended is still running or was cut short.
func (r *stepRun) finish(executionStatus string, executionStop *time.Time) StepTrace {
	s := r.trace
	s.Attempts = len(r.attempts)
	if s.Attempts > 1 {
		s.Retries = s.Attempts - 1
	}
	for _, a := range r.attempts[:max(len(r.attempts)-1, 0)] {
		if a.failed {
			s.RetriedErrors = append(s.RetriedErrors, a.error)
		}
	}
	end := time.Time{}
	var final attempt
	if len(r.attempts) > 0 {
		final = r.attempts[len(r.attempts)-1]
	}
	switch {
	case r.aborted && !final.done:
		s.Status, end = StatusAborted, r.abortedAt
	case final.done && final.failed:
		s.Status, s.Caught = StatusFailed, r.exited
		s.Error, s.Cause = final.error, final.cause
		s.RePick = s.Caught && slices.Contains(steperr.RePick(), s.Error)
		c, _ := workflow.ParseCause(final.cause)
		s.Reason = oneLine(c.ErrorMessage)
		s.Rejected = c.Rejections()
		end = final.at
	case final.done || r.exited:
		s.Status = StatusSucceeded
		end = final.at
		if rep, ok := stepReport(s.Step, r.output, final.output); ok {
			s.Kept, s.Rejected, s.Note = rep.Kept, rep.Rejected, rep.Note
		}
	case executionStatus == StatusRunning:
		s.Status = StatusRunning
	default:
		s.Status = StatusAborted
		if executionStop != nil {
			end = *executionStop
		}
	}
	if r.exited {
		end = r.exitedAt
	}
	if s.StartTime != nil && !end.IsZero() {
		s.Duration = Duration(end.Sub(*s.StartTime))
	}
	return s
}

// stepReport finds the step's own report in its output: the state's output
// when it is the placement, else the Lambda's response Payload.
func stepReport(step string, outputs ...string) (workflow.StepReport, bool) {
	for _, out := range outputs {
		p, ok := decodePlacement(out)
		if !ok {
			continue
		}
		for i := len(p.Steps) - 1; i >= 0; i-- {
			if p.Steps[i].Step == step {
				return p.Steps[i], true
			}
		}
	}
	return workflow.StepReport{}, false
}

// decodePlacement reads a payload that is either the placement itself or a
// lambda:invoke result that carries it as Payload.
func decodePlacement(doc string) (workflow.Placement, bool) {
	if doc == "" {
		return workflow.Placement{}, false
	}
	var v struct {
		workflow.Placement
		Payload *workflow.Placement `json:"Payload"`
	}
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return workflow.Placement{}, false
	}
	if v.Payload != nil {
		return *v.Payload, true
	}
	return v.Placement, v.InstanceID != "" || len(v.Steps) > 0
}

// interfaceOf reads which source interface a state's input is about: a
// placement's source, or the networkInterfaceId of a dead-letter message.
// It returns "" for anything else, such as CheckExistingSession's input.
func interfaceOf(doc string) string {
	var v struct {
		Source *struct {
			NetworkInterfaceID string `json:"networkInterfaceId"`
		} `json:"source"`
		NetworkInterfaceID string `json:"networkInterfaceId"`
	}
	if doc == "" || json.Unmarshal([]byte(doc), &v) != nil {
		return ""
	}
	if v.Source != nil && v.Source.NetworkInterfaceID != "" {
		return v.Source.NetworkInterfaceID
	}
	return v.NetworkInterfaceID
}

// placedOutcome reads a succeeded execution's output. Since the state
// machine places each source interface in a Map, that output is
// SummarizeInterfaces' (each interface's outcome under interfaces), or
// CheckExistingSession's instance with outcome skipped when it ended at
// NothingToMirror. Executions of the earlier graph, which placed one
// interface and may be traced for as long as their history is kept (90
// days), ended with the placement itself. The outcome is the best of the
// interfaces' (created, then exists, then skipped), with its target and
// session when one interface alone has it.
func placedOutcome(doc string) (workflow.Outcome, string, string) {
	type placed struct {
		Outcome   workflow.Outcome `json:"outcome"`
		TargetID  string           `json:"targetId"`
		SessionID string           `json:"sessionId"`
	}
	var v struct {
		placed
		Interfaces []placed `json:"interfaces"`
	}
	if doc == "" || json.Unmarshal([]byte(doc), &v) != nil {
		return "", "", ""
	}
	if v.Outcome != "" || len(v.Interfaces) == 0 {
		return v.Outcome, v.TargetID, v.SessionID
	}
	for _, o := range []workflow.Outcome{workflow.OutcomeCreated, workflow.OutcomeExists, workflow.OutcomeSkipped} {
		var with []placed
		for _, p := range v.Interfaces {
			if p.Outcome == o {
				with = append(with, p)
			}
		}
		switch len(with) {
		case 0:
			continue
		case 1:
			return o, with[0].TargetID, with[0].SessionID
		default:
			return o, "", ""
		}
	}
	return "", "", ""
}

// oneLine folds a multi-line message into one line for a table cell.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
