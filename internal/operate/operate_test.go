package operate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

const testARN = "arn:aws:states:eu-west-1:123456789012:execution:Mirrorflow:manual-i-0a1b2c3d-20261122T103000Z"

// history builds events one second apart, numbering them as Step Functions does.
type history struct {
	events []sfntypes.HistoryEvent
	at     time.Time
}

func newHistory() *history { return &history{at: time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)} }

func (h *history) add(e sfntypes.HistoryEvent) *history {
	e.Id, e.PreviousEventId, e.Timestamp = int64(len(h.events)+1), int64(len(h.events)), aws.Time(h.at)
	h.at = h.at.Add(time.Second)
	h.events = append(h.events, e)
	return h
}

func (h *history) typ(t sfntypes.HistoryEventType) *history {
	return h.add(sfntypes.HistoryEvent{Type: t})
}

func (h *history) started(input string) *history {
	return h.add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionStarted,
		ExecutionStartedEventDetails: &sfntypes.ExecutionStartedEventDetails{Input: aws.String(input)}})
}

func (h *history) entered(state string) *history {
	return h.add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskStateEntered,
		StateEnteredEventDetails: &sfntypes.StateEnteredEventDetails{Name: aws.String(state)}})
}

func (h *history) failed(errName, cause string) *history {
	return h.add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskFailed,
		TaskFailedEventDetails: &sfntypes.TaskFailedEventDetails{Error: aws.String(errName), Cause: aws.String(cause)}})
}

func (h *history) succeeded(output string) *history {
	return h.add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskSucceeded,
		TaskSucceededEventDetails: &sfntypes.TaskSucceededEventDetails{Output: aws.String(output)}})
}

func (h *history) exited(state, output string) *history {
	return h.add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskStateExited,
		StateExitedEventDetails: &sfntypes.StateExitedEventDetails{Name: aws.String(state), Output: aws.String(output)}})
}

func (h *history) executionFailed(errName, cause string) *history {
	return h.add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionFailed,
		ExecutionFailedEventDetails: &sfntypes.ExecutionFailedEventDetails{Error: aws.String(errName), Cause: aws.String(cause)}})
}

func lambdaCause(msg, typ string) string {
	return fmt.Sprintf(`{"errorMessage":%q,"errorType":%q,"stackTrace":[]}`, msg, typ)
}

func TestBuildTrace(t *testing.T) {
	zoneReport := `{"instanceId":"i-0a1b2c3d","steps":[{"step":"GatherCandidates","kept":["tmt-0a1b2c3d","tmt-0e0f0a0b"]},` +
		`{"step":"FilterByAvailabilityZone","kept":["tmt-0a1b2c3d"],"rejected":[{"targetId":"tmt-0e0f0a0b","reason":"in us-east-1b"}],"note":"1 of 2 in us-east-1a"}]}`
	tests := []struct {
		name    string
		history *history
		check   func(t *testing.T, tr Trace)
	}{
		{
			name: "retries count every rescheduling of the task, with the errors retried",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepGatherCandidates).
				typ(sfntypes.HistoryEventTypeTaskScheduled).failed("EC2Throttled", lambdaCause("throttled", "EC2Throttled")).
				typ(sfntypes.HistoryEventTypeTaskScheduled).failed("EC2Unavailable", lambdaCause("503", "EC2Unavailable")).
				typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{"Payload":{"instanceId":"i-0a1b2c3d","steps":[{"step":"GatherCandidates","kept":["tmt-0a1b2c3d"]}]}}`).
				exited(workflow.StepGatherCandidates, `{"instanceId":"i-0a1b2c3d","steps":[{"step":"GatherCandidates","kept":["tmt-0a1b2c3d"]}]}`),
			check: func(t *testing.T, tr Trace) {
				s := tr.Steps[0]
				if s.Attempts != 3 || s.Retries != 2 {
					t.Errorf("attempts %d, retries %d; want 3 and 2", s.Attempts, s.Retries)
				}
				if diff := cmp.Diff([]string{"EC2Throttled", "EC2Unavailable"}, s.RetriedErrors); diff != "" {
					t.Errorf("retried errors (-want +got):\n%s", diff)
				}
				if s.Status != StatusSucceeded || tr.Status != StatusRunning {
					t.Errorf("step %s, execution %s; want SUCCEEDED and RUNNING", s.Status, tr.Status)
				}
			},
		},
		{
			name: "kept and rejected come from the step's own report in the state's output",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepFilterByZone).
				typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).exited(workflow.StepFilterByZone, zoneReport),
			check: func(t *testing.T, tr Trace) {
				s := tr.Steps[0]
				want := StepTrace{Step: workflow.StepFilterByZone, Kept: []string{"tmt-0a1b2c3d"},
					Rejected: []placement.Rejection{{TargetID: "tmt-0e0f0a0b", Reason: "in us-east-1b"}}, Note: "1 of 2 in us-east-1a"}
				if diff := cmp.Diff(want, StepTrace{Step: s.Step, Kept: s.Kept, Rejected: s.Rejected, Note: s.Note}); diff != "" {
					t.Errorf("report (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "a full sensor caught back to PickLeastLoaded is a pass of the loop, not the failure",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).
				entered(workflow.StepPickLeastLoaded).typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).
				exited(workflow.StepPickLeastLoaded, `{"instanceId":"i-0a1b2c3d","targetId":"tmt-0a1b2c3d","steps":[{"step":"PickLeastLoaded","kept":["tmt-0a1b2c3d"]}]}`).
				entered(workflow.StepCreateSession).typ(sfntypes.HistoryEventTypeTaskScheduled).
				failed("SensorFull", lambdaCause("sensor tmt-0a1b2c3d is full: EC2 refused eni-0a as another source", "SensorFull")).
				exited(workflow.StepCreateSession, `{}`).
				entered(workflow.StepPickLeastLoaded).typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).
				exited(workflow.StepPickLeastLoaded, `{"instanceId":"i-0a1b2c3d","targetId":"tmt-0e0f0a0b","rePicks":1,"steps":[{"step":"PickLeastLoaded","kept":["tmt-0a1b2c3d"]},`+
					`{"step":"PickLeastLoaded","kept":["tmt-0e0f0a0b"],"note":"re-pick 1 of at most 25: sensor tmt-0a1b2c3d is full"}]}`).
				entered(workflow.StepCreateSession).typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).
				exited(workflow.StepCreateSession, `{"instanceId":"i-0a1b2c3d","outcome":"created","targetId":"tmt-0e0f0a0b","steps":[]}`).
				add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionSucceeded, ExecutionSucceededEventDetails: &sfntypes.ExecutionSucceededEventDetails{
					Output: aws.String(`{"instanceId":"i-0a1b2c3d","outcome":"created","targetId":"tmt-0e0f0a0b","sessionId":"tms-0a","steps":[]}`)}}),
			check: func(t *testing.T, tr Trace) {
				if tr.Status != StatusSucceeded || tr.FailedStep != "" || tr.TargetID != "tmt-0e0f0a0b" {
					t.Errorf("status %s, failed step %q, target %q; want a succeeded execution on tmt-0e0f0a0b with no failed step", tr.Status, tr.FailedStep, tr.TargetID)
				}
				var steps []string
				for _, s := range tr.Steps {
					steps = append(steps, s.Step+"/"+s.Status)
				}
				want := []string{"PickLeastLoaded/SUCCEEDED", "CreateSession/FAILED", "PickLeastLoaded/SUCCEEDED", "CreateSession/SUCCEEDED"}
				if diff := cmp.Diff(want, steps); diff != "" {
					t.Errorf("passes (-want +got):\n%s", diff)
				}
				if full := tr.Steps[1]; !full.RePick || !full.Caught || full.Error != "SensorFull" {
					t.Errorf("the full sensor's CreateSession = %+v, want a caught re-pick", full)
				}
				if again := tr.Steps[2]; !strings.Contains(again.Note, "re-pick 1") || again.Kept[0] != "tmt-0e0f0a0b" {
					t.Errorf("the second pass reads %+v, want its own report", again)
				}
				var b strings.Builder
				if err := RenderTraceTable(&b, tr); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(b.String(), "error SensorFull (caught: back to PickLeastLoaded to pick another sensor)") {
					t.Errorf("the table does not say the full sensor was picked around:\n%s", b.String())
				}
			},
		},
		{
			name: "a caught failure is blamed on the step, not on the Fail state it led to",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepFilterBySG).
				typ(sfntypes.HistoryEventTypeTaskScheduled).
				failed("NoReachableSensor", lambdaCause("no reachable sensor for i-0a1b2c3d: FilterBySecurityGroup rejected the last 1 candidate(s): tmt-0a1b2c3d: sg-0abc: no inbound rule admits UDP 4789 from 10.0.1.25", "NoReachableSensor")).
				exited(workflow.StepFilterBySG, `{}`).
				typ(sfntypes.HistoryEventTypePassStateEntered).typ(sfntypes.HistoryEventTypeFailStateEntered).
				executionFailed("PlacementFailed", "see the dead-letter queue"),
			check: func(t *testing.T, tr Trace) {
				if tr.FailedStep != workflow.StepFilterBySG || tr.Error != "NoReachableSensor" || tr.Status != StatusFailed {
					t.Errorf("failed step %q error %q status %q", tr.FailedStep, tr.Error, tr.Status)
				}
				s := tr.Steps[0]
				if !s.Caught {
					t.Error("the step's failure was caught, but Caught is false")
				}
				want := []placement.Rejection{{TargetID: "tmt-0a1b2c3d", Reason: "sg-0abc: no inbound rule admits UDP 4789 from 10.0.1.25"}}
				if diff := cmp.Diff(want, s.Rejected); diff != "" {
					t.Errorf("rejections from the cause (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "an uncaught failure ends the step without a TaskStateExited",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepCreateSession).
				typ(sfntypes.HistoryEventTypeTaskScheduled).failed("States.Timeout", "Task timed out after 30.00 seconds").
				executionFailed("States.Timeout", "Task timed out after 30.00 seconds"),
			check: func(t *testing.T, tr Trace) {
				s := tr.Steps[0]
				if s.Status != StatusFailed || s.Caught || s.Reason != "Task timed out after 30.00 seconds" {
					t.Errorf("step %+v", s)
				}
			},
		},
		{
			name: "a step cut short by an abort is ABORTED, not RUNNING",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepPickLeastLoaded).
				typ(sfntypes.HistoryEventTypeTaskScheduled).typ(sfntypes.HistoryEventTypeExecutionAborted),
			check: func(t *testing.T, tr Trace) {
				if tr.Steps[0].Status != StatusAborted || tr.Status != StatusAborted {
					t.Errorf("step %s, execution %s; want ABORTED", tr.Steps[0].Status, tr.Status)
				}
			},
		},
		{
			name: "a redriven step appears once per run and the trace counts the redrive",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepCreateSession).
				typ(sfntypes.HistoryEventTypeTaskScheduled).failed("EC2Rejected", lambdaCause("quota", "EC2Rejected")).
				executionFailed("EC2Rejected", lambdaCause("quota", "EC2Rejected")).
				typ(sfntypes.HistoryEventTypeExecutionRedriven).entered(workflow.StepCreateSession).
				typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).exited(workflow.StepCreateSession, `{}`).
				add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionSucceeded, ExecutionSucceededEventDetails: &sfntypes.ExecutionSucceededEventDetails{
					Output: aws.String(`{"instanceId":"i-0a1b2c3d","outcome":"created","targetId":"tmt-0a1b2c3d","sessionId":"tms-0a1b2c3d","steps":[]}`)}}),
			check: func(t *testing.T, tr Trace) {
				if len(tr.Steps) != 2 || tr.Redrives != 1 || tr.Status != StatusSucceeded || tr.FailedStep != "CreateSession" {
					t.Errorf("steps %d, redrives %d, status %s, failed step %q", len(tr.Steps), tr.Redrives, tr.Status, tr.FailedStep)
				}
				if tr.Outcome != workflow.OutcomeCreated || tr.SessionID != "tms-0a1b2c3d" {
					t.Errorf("outcome %q session %q", tr.Outcome, tr.SessionID)
				}
			},
		},
		{
			name:    "a failure caught inside the Map is blamed on the step and its interface, not on InterfacePlacementFailed",
			history: &history{events: recorded(t, "history-failed-at-security-group.json")},
			check: func(t *testing.T, tr Trace) {
				if tr.FailedStep != workflow.StepFilterBySG || tr.Error != "NoReachableSensor" || tr.FailedNetworkInterfaceID != "eni-0123456789abcdef0" {
					t.Errorf("failed at %q for %q with %q; want FilterBySecurityGroup for eni-0123456789abcdef0 with NoReachableSensor",
						tr.FailedStep, tr.FailedNetworkInterfaceID, tr.Error)
				}
				if !strings.HasPrefix(tr.Reason, "no reachable sensor for i-0a1b2c3d4e5f60718: FilterBySecurityGroup rejected the last 2") {
					t.Errorf("reason %q, want the step's message", tr.Reason)
				}
				var got []string
				for _, s := range tr.Steps {
					got = append(got, s.Step+" "+s.NetworkInterfaceID)
				}
				want := []string{"CheckExistingSession ", "GatherCandidates eni-0123456789abcdef0", "FilterByAvailabilityZone eni-0123456789abcdef0",
					"FilterBySecurityGroup eni-0123456789abcdef0", "SendInterfaceToDeadLetterQueue eni-0123456789abcdef0"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("steps and their interfaces (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "an abort inside a Map iteration leaves its running step ABORTED, with its interface",
			history: &history{events: recorded(t, "history-aborted-at-network-acl.json")},
			check: func(t *testing.T, tr Trace) {
				last := tr.Steps[len(tr.Steps)-1]
				if tr.Status != StatusAborted || last.Step != workflow.StepFilterByNACL || last.Status != StatusAborted || last.NetworkInterfaceID != "eni-0123456789abcdef0" {
					t.Errorf("execution %s, last step %+v; want FilterByNetworkACL ABORTED for eni-0123456789abcdef0", tr.Status, last)
				}
			},
		},
		{
			name: "an interface CheckExistingSession failed has no failed Task, and InterfaceFailed's output names it",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).mapEntered().iteration(0, "eni-0a1b2c3d").
				stateWith(sfntypes.HistoryEventTypePassStateEntered, "InterfaceRejected", placementOf("eni-0a1b2c3d")).
				add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypePassStateExited, StateExitedEventDetails: &sfntypes.StateExitedEventDetails{
					Name: aws.String("InterfaceFailed"),
					Output: aws.String(`{"cause":"eni-0a1b2c3d holds 3 sessions already","error":"NoRoomOnSource","failedStep":"CheckExistingSession",` +
						`"instanceId":"i-0a1b2c3d","networkInterfaceId":"eni-0a1b2c3d","outcome":"failed","summary":"eni-0a1b2c3d at CheckExistingSession: NoRoomOnSource"}`)}}).
				iterationEnded(sfntypes.HistoryEventTypeMapIterationSucceeded, 0).placementFailed(),
			check: func(t *testing.T, tr Trace) {
				if tr.FailedStep != workflow.StepCheckExistingSession || tr.Error != workflow.ErrorNoRoomOnSource ||
					tr.FailedNetworkInterfaceID != "eni-0a1b2c3d" || tr.Reason != "eni-0a1b2c3d holds 3 sessions already" {
					t.Errorf("failed at %q for %q: %q (%q); want CheckExistingSession for eni-0a1b2c3d: NoRoomOnSource", tr.FailedStep, tr.FailedNetworkInterfaceID, tr.Error, tr.Reason)
				}
			},
		},
		{
			name: "a succeeded placement's outcome is the best of its interfaces', read from SummarizeInterfaces",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).
				add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionSucceeded, ExecutionSucceededEventDetails: &sfntypes.ExecutionSucceededEventDetails{
					Output: aws.String(`{"anyCreated":true,"anyExists":false,"anyFailed":false,"instanceId":"i-0a1b2c3d","interfaces":[` +
						`{"instanceId":"i-0a1b2c3d","outcome":"skipped","reason":"eni-0e0f0a0b is out of scope"},` +
						`{"instanceId":"i-0a1b2c3d","outcome":"created","targetId":"tmt-0a1b2c3d","sessionId":"tms-0a1b2c3d"}]}`)}}),
			check: func(t *testing.T, tr Trace) {
				if tr.Outcome != workflow.OutcomeCreated || tr.TargetID != "tmt-0a1b2c3d" || tr.SessionID != "tms-0a1b2c3d" {
					t.Errorf("outcome %q target %q session %q; want created on tmt-0a1b2c3d by tms-0a1b2c3d", tr.Outcome, tr.TargetID, tr.SessionID)
				}
			},
		},
		{
			name: "TaskStateAborted ends the step ABORTED while the execution goes on",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepPickLeastLoaded).
				typ(sfntypes.HistoryEventTypeTaskScheduled).typ(sfntypes.HistoryEventTypeTaskStateAborted),
			check: func(t *testing.T, tr Trace) {
				if tr.Steps[0].Status != StatusAborted || tr.Status != StatusRunning {
					t.Errorf("step %s, execution %s; want ABORTED and RUNNING", tr.Steps[0].Status, tr.Status)
				}
			},
		},
		{
			name:    "the console URL uses the execution's own Region",
			history: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`),
			check: func(t *testing.T, tr Trace) {
				want := "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/" + testARN
				if tr.ConsoleURL != want {
					t.Errorf("console URL %s, want %s", tr.ConsoleURL, want)
				}
				if tr.InstanceID != "i-0a1b2c3d" {
					t.Errorf("instance %q", tr.InstanceID)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, BuildTrace(testARN, tt.history.events)) })
	}
}

func TestExecutionName(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name, prefix, instance, want string
	}{
		{"the time is UTC to the second", PrefixManual, "i-0a1b2c3d4e5f60718", "manual-i-0a1b2c3d4e5f60718-20261122T093000Z"},
		{"characters Step Functions forbids become dashes", PrefixRetry, "i-0a1b:2c3d", "retry-i-0a1b-2c3d-20261122T093000Z"},
		{"names are cut at 80 characters", PrefixManual, strings.Repeat("x", 100), ("manual-" + strings.Repeat("x", 100))[:80]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExecutionName(tt.prefix, tt.instance, at)
			if got != tt.want {
				t.Errorf("ExecutionName = %q, want %q", got, tt.want)
			}
		})
	}
	if !NameIsFor("retry-i-0a1b2c3d-20261122T093000Z-2", "i-0a1b2c3d") || NameIsFor("manual-i-0a1b2c3d4-20261122T093000Z", "i-0a1b2c3d") {
		t.Error("NameIsFor must match its own names and not an instance whose id extends another's")
	}
}

func TestFailureRows(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 11, 22, 10, m, 0, 0, time.UTC) }
	letter := func(instance, arn, step string, sent time.Time) DeadLetterMessage {
		return DeadLetterMessage{MessageID: arn, SentAt: sent, Letter: workflow.DeadLetter{
			Step: step, InstanceID: instance, ExecutionID: arn, Error: "NoReachableSensor", Cause: lambdaCause("no\nreachable  sensor", "NoReachableSensor")}}
	}
	withInterface := func(m DeadLetterMessage, eni string) DeadLetterMessage {
		m.MessageID += " " + eni
		m.Letter.NetworkInterfaceID = eni
		return m
	}
	tests := []struct {
		name    string
		execs   []FailedExecution
		letters []DeadLetterMessage
		want    []Failure
	}{
		{
			name:    "an execution and its message are one failure, dated when the execution stopped",
			execs:   []FailedExecution{{ARN: "arn:x:1", Name: "1", StopTime: at(5)}},
			letters: []DeadLetterMessage{letter("i-0a", "arn:x:1", "FilterBySecurityGroup", at(6))},
			want: []Failure{{InstanceID: "i-0a", When: at(5), Step: "FilterBySecurityGroup", Error: "NoReachableSensor",
				Reason: "no reachable sensor", Execution: "1", ExecutionARN: "arn:x:1", InQueue: true, Failures: 1}},
		},
		{
			name:    "one row per instance shows its latest failure and counts the rest",
			letters: []DeadLetterMessage{letter("i-0a", "arn:x:1", "FilterByNetworkACL", at(1)), letter("i-0a", "arn:x:2", "FilterBySecurityGroup", at(9))},
			want: []Failure{{InstanceID: "i-0a", When: at(9), Step: "FilterBySecurityGroup", Error: "NoReachableSensor",
				Reason: "no reachable sensor", Execution: "2", ExecutionARN: "arn:x:2", InQueue: true, Failures: 2}},
		},
		{
			name: "a failed execution without a message is told from its trace",
			execs: []FailedExecution{{ARN: "arn:x:3", Name: "3", StopTime: at(7), Trace: &Trace{
				InstanceID: "i-0b", FailedStep: "CreateSession", Error: "States.Timeout", Reason: "Task timed out"}}},
			want: []Failure{{InstanceID: "i-0b", When: at(7), Step: "CreateSession", Error: "States.Timeout", Reason: "Task timed out",
				Execution: "3", ExecutionARN: "arn:x:3", Failures: 1}},
		},
		{
			name:  "each interface that failed is a row of its own, dated when their execution stopped",
			execs: []FailedExecution{{ARN: "arn:x:4", Name: "4", StopTime: at(8)}},
			letters: []DeadLetterMessage{
				withInterface(letter("i-0a", "arn:x:4", "FilterBySecurityGroup", at(6)), "eni-0a"),
				withInterface(letter("i-0a", "arn:x:4", "CreateSession", at(7)), "eni-0b"),
			},
			want: []Failure{
				{InstanceID: "i-0a", NetworkInterfaceID: "eni-0a", When: at(8), Step: "FilterBySecurityGroup", Error: "NoReachableSensor",
					Reason: "no reachable sensor", Execution: "4", ExecutionARN: "arn:x:4", InQueue: true, Failures: 1},
				{InstanceID: "i-0a", NetworkInterfaceID: "eni-0b", When: at(8), Step: "CreateSession", Error: "NoReachableSensor",
					Reason: "no reachable sensor", Execution: "4", ExecutionARN: "arn:x:4", InQueue: true, Failures: 1},
			},
		},
		{
			name: "a failed execution without a message names the interface its trace failed",
			execs: []FailedExecution{{ARN: "arn:x:5", Name: "5", StopTime: at(3), Trace: &Trace{
				InstanceID: "i-0c", FailedStep: "FilterByNetworkACL", FailedNetworkInterfaceID: "eni-0c", Error: "NoReachableSensor", Reason: "rule 90"}}},
			want: []Failure{{InstanceID: "i-0c", NetworkInterfaceID: "eni-0c", When: at(3), Step: "FilterByNetworkACL", Error: "NoReachableSensor",
				Reason: "rule 90", Execution: "5", ExecutionARN: "arn:x:5", Failures: 1}},
		},
		{
			name: "nothing failed is an empty list, not null",
			want: []Failure{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, FailureRows(tt.execs, tt.letters)); diff != "" {
				t.Errorf("FailureRows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryInput(t *testing.T) {
	tests := []struct {
		name             string
		letter           workflow.DeadLetter
		wantInput, wantI string
		wantOK           bool
	}{
		{"a message naming its instance is retried with the manual input",
			workflow.DeadLetter{InstanceID: "i-0a1b2c3d", Input: []byte(`{"detail":{"instance-id":"i-0a1b2c3d"}}`)},
			`{"instanceId":"i-0a1b2c3d"}`, "i-0a1b2c3d", true},
		{"a message without an instance is retried with its original input",
			workflow.DeadLetter{Input: []byte(`{"instanceId":"not-an-id"}`)}, `{"instanceId":"not-an-id"}`, "not-an-id", true},
		{"a message with neither cannot be retried", workflow.DeadLetter{Input: []byte(`null`)}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input, instance, ok := RetryInput(tt.letter)
			if input != tt.wantInput || instance != tt.wantI || ok != tt.wantOK {
				t.Errorf("RetryInput = %q, %q, %v; want %q, %q, %v", input, instance, ok, tt.wantInput, tt.wantI, tt.wantOK)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    string
		wantAWS bool
	}{
		{"a typed Step Functions error", &sfntypes.ExecutionDoesNotExist{Message: aws.String("nope")}, "the execution does not exist (ExecutionDoesNotExist)", true},
		{"a typed SQS error", &sqstypes.QueueDoesNotExist{Message: aws.String("gone")}, "the dead-letter queue does not exist (QueueDoesNotExist)", true},
		{"CloudFormation's ValidationError for a missing stack", &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id X does not exist"}, "stack not found (ValidationError)", true},
		{"rejected credentials", &smithy.GenericAPIError{Code: "ExpiredTokenException", Message: "expired"}, "AWS rejected the credentials (ExpiredTokenException)", true},
		{"EC2's own word for a denied action", &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."},
			"access denied (UnauthorizedOperation); the caller's IAM policy must allow this action", true},
		{"an error that is not AWS's is left alone", errors.New("decoding"), "decoding", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Explain(tt.err)
			if !strings.HasPrefix(got.Error(), tt.want) {
				t.Errorf("Explain = %q, want prefix %q", got, tt.want)
			}
			if IsAWS(got) != tt.wantAWS {
				t.Errorf("IsAWS = %v, want %v", IsAWS(got), tt.wantAWS)
			}
			if !errors.Is(got, tt.err) {
				t.Error("Explain lost the SDK error from the chain")
			}
		})
	}
}
