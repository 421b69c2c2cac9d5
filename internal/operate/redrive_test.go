package operate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// recordedHistories are mirrorctl's `aws stepfunctions get-execution-history`
// documents, shared so that the end-to-end tests and these read one record.
const recordedHistories = "../../cmd/mirrorctl/testdata"

// recorded decodes a recorded history into the SDK's types. encoding/json
// matches the CLI's camelCase keys to the exported fields, so every event
// detail the rules read arrives as Step Functions sent it.
func recorded(t *testing.T, name string) []sfntypes.HistoryEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(recordedHistories, name))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Events []sfntypes.HistoryEvent }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return doc.Events
}

// state adds a <typ>StateEntered or <typ>StateExited event for a state.
func (h *history) state(kind sfntypes.HistoryEventType, name string) *history {
	e := sfntypes.HistoryEvent{Type: kind}
	if strings.HasSuffix(string(kind), "Entered") {
		e.StateEnteredEventDetails = &sfntypes.StateEnteredEventDetails{Name: aws.String(name)}
	} else {
		e.StateExitedEventDetails = &sfntypes.StateExitedEventDetails{Name: aws.String(name)}
	}
	return h.add(e)
}

// stateWith adds a <kind>StateEntered event for a state whose input is input.
func (h *history) stateWith(kind sfntypes.HistoryEventType, name, input string) *history {
	return h.add(sfntypes.HistoryEvent{Type: kind,
		StateEnteredEventDetails: &sfntypes.StateEnteredEventDetails{Name: aws.String(name), Input: aws.String(input)}})
}

// iteration starts iteration index of the Map PlaceEachInterface, whose
// item is the placement of eni, and enters its first state, the Choice
// NeedsSession, as Step Functions records an inline Map iteration.
func (h *history) iteration(index int32, eni string) *history {
	return h.add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeMapIterationStarted,
		MapIterationStartedEventDetails: &sfntypes.MapIterationEventDetails{Name: aws.String(placeEach), Index: index}}).
		stateWith(sfntypes.HistoryEventTypeChoiceStateEntered, "NeedsSession", placementOf(eni)).
		state(sfntypes.HistoryEventTypeChoiceStateExited, "NeedsSession")
}

// iterationEnded ends iteration index with MapIterationSucceeded, Failed or Aborted.
func (h *history) iterationEnded(kind sfntypes.HistoryEventType, index int32) *history {
	e := sfntypes.HistoryEvent{Type: kind}
	d := &sfntypes.MapIterationEventDetails{Name: aws.String(placeEach), Index: index}
	switch kind {
	case sfntypes.HistoryEventTypeMapIterationSucceeded:
		e.MapIterationSucceededEventDetails = d
	case sfntypes.HistoryEventTypeMapIterationFailed:
		e.MapIterationFailedEventDetails = d
	default:
		e.MapIterationAbortedEventDetails = d
	}
	return h.add(e)
}

// mapEntered enters the Map PlaceEachInterface after CheckExistingSession.
func (h *history) mapEntered() *history {
	return h.entered(workflow.StepCheckExistingSession).typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).
		exited(workflow.StepCheckExistingSession, `{}`).
		state(sfntypes.HistoryEventTypeChoiceStateEntered, "NeedsPlacement").state(sfntypes.HistoryEventTypeChoiceStateExited, "NeedsPlacement").
		stateWith(sfntypes.HistoryEventTypeMapStateEntered, placeEach, `{}`).typ(sfntypes.HistoryEventTypeMapStateStarted)
}

// interfaceCaughtAt is a step failing inside an iteration, its Catch
// building the interface's dead-letter message, the message being sent and
// InterfaceFailed ending the iteration, which succeeds.
func (h *history) interfaceCaughtAt(index int32, eni, step, errName string) *history {
	caught := fmt.Sprintf(`{"instanceId":"i-0a1b2c3d","source":{"networkInterfaceId":%q},"failure":{"Error":%q,"Cause":"x"}}`, eni, errName)
	return h.iteration(index, eni).taskIn(step, eni).typ(sfntypes.HistoryEventTypeTaskScheduled).failed(errName, lambdaCause("no", errName)).
		exited(step, caught).stateWith(sfntypes.HistoryEventTypePassStateEntered, step+"Failed", caught).
		state(sfntypes.HistoryEventTypePassStateExited, step+"Failed").interfaceFailed(index, eni)
}

// interfaceFailed sends an interface's dead-letter message and ends its
// iteration at InterfaceFailed.
func (h *history) interfaceFailed(index int32, eni string) *history {
	return h.stateWith(sfntypes.HistoryEventTypeTaskStateEntered, "SendInterfaceToDeadLetterQueue", fmt.Sprintf(`{"networkInterfaceId":%q}`, eni)).
		typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).exited("SendInterfaceToDeadLetterQueue", `{}`).
		state(sfntypes.HistoryEventTypePassStateEntered, "InterfaceFailed").state(sfntypes.HistoryEventTypePassStateExited, "InterfaceFailed").
		iterationEnded(sfntypes.HistoryEventTypeMapIterationSucceeded, index)
}

// placementFailed goes from the Map's end to the Fail state, as a placement
// with a failed interface does.
func (h *history) placementFailed() *history {
	return h.typ(sfntypes.HistoryEventTypeMapStateSucceeded).state(sfntypes.HistoryEventTypeMapStateExited, placeEach).
		state(sfntypes.HistoryEventTypePassStateEntered, "SummarizeInterfaces").state(sfntypes.HistoryEventTypePassStateExited, "SummarizeInterfaces").
		state(sfntypes.HistoryEventTypeChoiceStateEntered, "PlacementOutcome").state(sfntypes.HistoryEventTypeChoiceStateExited, "PlacementOutcome").
		state(sfntypes.HistoryEventTypePassStateEntered, "DescribeFailedInterfaces").state(sfntypes.HistoryEventTypePassStateExited, "DescribeFailedInterfaces").
		state(sfntypes.HistoryEventTypeFailStateEntered, "PlacementFailed").
		executionFailed(workflow.ErrorInterfacePlacementFailed, "1 source interface(s) could not be placed")
}

// taskIn enters a step inside an iteration: its input is the interface's placement.
func (h *history) taskIn(step, eni string) *history {
	return h.stateWith(sfntypes.HistoryEventTypeTaskStateEntered, step, placementOf(eni))
}

const placeEach = "PlaceEachInterface"

func placementOf(eni string) string {
	return fmt.Sprintf(`{"instanceId":"i-0a1b2c3d","source":{"networkInterfaceId":%q},"candidates":[],"steps":[]}`, eni)
}

// caughtAt is a step failing at the top level, its Catch building the
// dead-letter message and the message being sent: everything before
// PlacementFailed. Since the Map, only CheckExistingSession fails there;
// executions of the earlier graph, which had no Map, failed so at any step.
func (h *history) caughtAt(step, errName string) *history {
	return h.entered(step).typ(sfntypes.HistoryEventTypeTaskScheduled).failed(errName, lambdaCause("no", errName)).exited(step, `{}`).
		state(sfntypes.HistoryEventTypePassStateEntered, step+"Failed").state(sfntypes.HistoryEventTypePassStateExited, step+"Failed").
		entered("SendToDeadLetterQueue")
}

func TestRedriveResumePoint(t *testing.T) {
	const eni0, eni1 = "eni-0a1b2c3d", "eni-0e0f0a0b"
	tests := []struct {
		name         string
		events       []sfntypes.HistoryEvent
		want         ResumePoint
		wantEnded    bool
		wantRefusing bool
	}{
		{
			name:   "a failure caught inside the Map resumes at the Fail state after it, which names the step and its interface",
			events: recorded(t, "history-failed-at-security-group.json"),
			want: ResumePoint{Status: StatusFailed, State: "PlacementFailed", Type: "Fail", Fail: true,
				FailedStep: workflow.StepFilterBySG, Error: "NoReachableSensor", NetworkInterfaceID: "eni-0123456789abcdef0"},
			wantEnded: true, wantRefusing: true,
		},
		{
			name:   "an abort while a step's Lambda runs in a Map iteration redrives that iteration at the Task",
			events: recorded(t, "history-aborted-at-network-acl.json"),
			want: ResumePoint{Status: StatusAborted, State: workflow.StepFilterByNACL, Type: "Task",
				Map: placeEach, Iteration: 0, NetworkInterfaceID: "eni-0123456789abcdef0"},
			wantEnded: true,
		},
		{
			name:   "an error no Catch matches (States.DataLimitExceeded) fails the Map; a redrive reruns the iteration at the Task that raised it",
			events: recorded(t, "history-failed-data-limit-at-gather-candidates.json"),
			want: ResumePoint{Status: StatusFailed, State: workflow.StepGatherCandidates, Type: "Task",
				Map: placeEach, Iteration: 0, NetworkInterfaceID: "eni-0123456789abcdef0", Error: "States.DataLimitExceeded"},
			wantEnded: true,
		},
		{
			name: "only the iterations that did not succeed are redriven: an interface caught earlier does not stop one that reruns its step",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).mapEntered().
				interfaceCaughtAt(0, eni0, workflow.StepFilterBySG, "NoReachableSensor").
				iteration(1, eni1).taskIn(workflow.StepGatherCandidates, eni1).typ(sfntypes.HistoryEventTypeTaskScheduled).
				failed("States.DataLimitExceeded", "too big").iterationEnded(sfntypes.HistoryEventTypeMapIterationFailed, 1).
				typ(sfntypes.HistoryEventTypeMapStateFailed).executionFailed("States.DataLimitExceeded", "too big").events,
			want: ResumePoint{Status: StatusFailed, State: workflow.StepGatherCandidates, Type: "Task",
				Map: placeEach, Iteration: 1, NetworkInterfaceID: eni1, Error: "States.DataLimitExceeded"},
			wantEnded: true,
		},
		{
			name: "a redriven iteration goes on inside the Map, whether or not the redrive restarted it with MapIterationStarted",
			events: append(recorded(t, "history-failed-data-limit-at-gather-candidates.json"), newHistory().
				typ(sfntypes.HistoryEventTypeExecutionRedriven).typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).
				exited(workflow.StepGatherCandidates, `{}`).entered(workflow.StepFilterByZone).typ(sfntypes.HistoryEventTypeTaskScheduled).
				typ(sfntypes.HistoryEventTypeExecutionAborted).events...),
			want: ResumePoint{Status: StatusAborted, State: workflow.StepFilterByZone, Type: "Task",
				Map: placeEach, Iteration: 0, NetworkInterfaceID: "eni-0123456789abcdef0"},
			wantEnded: true,
		},
		{
			name: "an iteration stopped on its dead-letter path would only send the message again",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).mapEntered().
				iteration(0, eni0).taskIn(workflow.StepCreateSession, eni0).typ(sfntypes.HistoryEventTypeTaskScheduled).
				failed("EC2Rejected", lambdaCause("quota", "EC2Rejected")).exited(workflow.StepCreateSession, `{}`).
				state(sfntypes.HistoryEventTypePassStateEntered, "CreateSessionFailed").state(sfntypes.HistoryEventTypePassStateExited, "CreateSessionFailed").
				stateWith(sfntypes.HistoryEventTypeTaskStateEntered, "SendInterfaceToDeadLetterQueue", `{}`).typ(sfntypes.HistoryEventTypeTaskScheduled).
				typ(sfntypes.HistoryEventTypeExecutionAborted).events,
			want: ResumePoint{Status: StatusAborted, State: "SendInterfaceToDeadLetterQueue", Type: "Task", Map: placeEach,
				NetworkInterfaceID: eni0, FailedStep: workflow.StepCreateSession, Error: "EC2Rejected"},
			wantEnded: true, wantRefusing: true,
		},
		{
			name: "an iteration closed by MapIterationAborted and MapStateAborted is redriven at its Task",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).mapEntered().
				iteration(0, eni0).taskIn(workflow.StepPickLeastLoaded, eni0).typ(sfntypes.HistoryEventTypeTaskScheduled).
				typ(sfntypes.HistoryEventTypeTaskStateAborted).iterationEnded(sfntypes.HistoryEventTypeMapIterationAborted, 0).
				typ(sfntypes.HistoryEventTypeMapStateAborted).typ(sfntypes.HistoryEventTypeExecutionAborted).events,
			want: ResumePoint{Status: StatusAborted, State: workflow.StepPickLeastLoaded, Type: "Task", Map: placeEach,
				NetworkInterfaceID: eni0},
			wantEnded: true,
		},
		{
			name: "an interface CheckExistingSession had no room for is named by InterfaceRejected",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).mapEntered().iteration(0, eni0).
				stateWith(sfntypes.HistoryEventTypePassStateEntered, "InterfaceRejected",
					`{"source":{"networkInterfaceId":"eni-0a1b2c3d"},"error":"NoRoomOnSource","outcome":"failed"}`).
				state(sfntypes.HistoryEventTypePassStateExited, "InterfaceRejected").interfaceFailed(0, eni0).placementFailed().events,
			want: ResumePoint{Status: StatusFailed, State: "PlacementFailed", Type: "Fail", Fail: true,
				FailedStep: workflow.StepCheckExistingSession, Error: workflow.ErrorNoRoomOnSource, NetworkInterfaceID: eni0},
			wantEnded: true, wantRefusing: true,
		},
		{
			name: "with two failed interfaces the first is named and the other counted",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).mapEntered().
				interfaceCaughtAt(0, eni0, workflow.StepFilterBySG, "NoReachableSensor").
				interfaceCaughtAt(1, eni1, workflow.StepCreateSession, "EC2Rejected").placementFailed().events,
			want: ResumePoint{Status: StatusFailed, State: "PlacementFailed", Type: "Fail", Fail: true,
				FailedStep: workflow.StepFilterBySG, Error: "NoReachableSensor", NetworkInterfaceID: eni0, MoreFailed: 1},
			wantEnded: true, wantRefusing: true,
		},
		{
			name: "an abort after the Map of a placement with no failed interface redrives it to its end",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).mapEntered().iteration(0, eni0).
				taskIn(workflow.StepCreateSession, eni0).typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).
				exited(workflow.StepCreateSession, `{}`).iterationEnded(sfntypes.HistoryEventTypeMapIterationSucceeded, 0).
				typ(sfntypes.HistoryEventTypeMapStateSucceeded).state(sfntypes.HistoryEventTypeMapStateExited, placeEach).
				state(sfntypes.HistoryEventTypePassStateEntered, "SummarizeInterfaces").typ(sfntypes.HistoryEventTypeExecutionAborted).events,
			want:      ResumePoint{Status: StatusAborted, State: "SummarizeInterfaces", Type: "Pass"},
			wantEnded: true,
		},
		{
			name: "CheckExistingSession's own failure goes down the top-level dead-letter path to the Fail state",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).caughtAt(workflow.StepCheckExistingSession, "EC2Unavailable").
				typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).exited("SendToDeadLetterQueue", `{}`).
				state(sfntypes.HistoryEventTypeFailStateEntered, "PlacementFailed").executionFailed("EC2Unavailable", "503").events,
			want: ResumePoint{Status: StatusFailed, State: "PlacementFailed", Type: "Fail", Fail: true,
				FailedStep: workflow.StepCheckExistingSession, Error: "EC2Unavailable"},
			wantEnded: true, wantRefusing: true,
		},
		{
			name: "a timeout resumes at the state it cut short",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepCreateSession).
				typ(sfntypes.HistoryEventTypeTaskScheduled).typ(sfntypes.HistoryEventTypeExecutionTimedOut).events,
			want:      ResumePoint{Status: StatusTimedOut, State: workflow.StepCreateSession, Type: "Task"},
			wantEnded: true,
		},
		{
			name: "in the earlier graph, a States.Runtime error in a <Step>Failed Pass state resumes on the dead-letter path and names the step's error",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepFilterBySG).
				typ(sfntypes.HistoryEventTypeTaskScheduled).failed("NoReachableSensor", lambdaCause("no", "NoReachableSensor")).
				exited(workflow.StepFilterBySG, `{}`).state(sfntypes.HistoryEventTypePassStateEntered, "FilterBySecurityGroupFailed").
				executionFailed("States.Runtime", "An error occurred while executing the state 'FilterBySecurityGroupFailed' (entered at the event id #5). The JSONPath '$.failure.Cause' specified for the field 'cause.$' could not be found in the input").events,
			want: ResumePoint{Status: StatusFailed, State: "FilterBySecurityGroupFailed", Type: "Pass",
				FailedStep: workflow.StepFilterBySG, Error: "NoReachableSensor"},
			wantEnded: true, wantRefusing: true,
		},
		{
			name: "in the earlier graph, a failed dead-letter send is caught into the Fail state and still names the step",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).caughtAt(workflow.StepPickLeastLoaded, "NoSensorCapacity").
				typ(sfntypes.HistoryEventTypeTaskScheduled).failed("SQS.KmsThrottledException", "throttled").exited("SendToDeadLetterQueue", `{}`).
				state(sfntypes.HistoryEventTypeFailStateEntered, "PlacementFailed").executionFailed("NoSensorCapacity", "none").events,
			want: ResumePoint{Status: StatusFailed, State: "PlacementFailed", Type: "Fail", Fail: true,
				FailedStep: workflow.StepPickLeastLoaded, Error: "NoSensorCapacity"},
			wantEnded: true, wantRefusing: true,
		},
		{
			name: "after a redrive only the redriven run counts",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepCreateSession).
				typ(sfntypes.HistoryEventTypeTaskScheduled).typ(sfntypes.HistoryEventTypeExecutionAborted).
				typ(sfntypes.HistoryEventTypeExecutionRedriven).caughtAt(workflow.StepCreateSession, "EC2Rejected").
				typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).exited("SendToDeadLetterQueue", `{}`).
				state(sfntypes.HistoryEventTypeFailStateEntered, "PlacementFailed").executionFailed("EC2Rejected", "quota").events,
			want: ResumePoint{Status: StatusFailed, State: "PlacementFailed", Type: "Fail", Fail: true,
				FailedStep: workflow.StepCreateSession, Error: "EC2Rejected"},
			wantEnded: true, wantRefusing: true,
		},
		{
			name: "a redrive that is still running has nothing to redrive",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepCreateSession).
				typ(sfntypes.HistoryEventTypeExecutionAborted).typ(sfntypes.HistoryEventTypeExecutionRedriven).
				entered(workflow.StepCreateSession).events,
			wantEnded: false,
		},
		{
			name: "a succeeded execution has nothing to redrive",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepCreateSession).
				typ(sfntypes.HistoryEventTypeTaskScheduled).succeeded(`{}`).exited(workflow.StepCreateSession, `{}`).
				state(sfntypes.HistoryEventTypeSucceedStateEntered, "Mirrored").typ(sfntypes.HistoryEventTypeExecutionSucceeded).events,
			wantEnded: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ended := RedriveResumePoint(tt.events)
			if ended != tt.wantEnded {
				t.Fatalf("ended = %v, want %v (resume point %+v)", ended, tt.wantEnded, got)
			}
			if !ended {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resume point (-want +got):\n%s", diff)
			}
			if got.OnDeadLetterPath() != tt.wantRefusing {
				t.Errorf("OnDeadLetterPath = %v, want %v", got.OnDeadLetterPath(), tt.wantRefusing)
			}
		})
	}
}

func TestRedriveCannotRerunErrorSaysWhatToRun(t *testing.T) {
	tests := []struct {
		name string
		err  RedriveCannotRerunError
		want string
	}{
		{
			name: "a step caught into the Fail state",
			err: RedriveCannotRerunError{Execution: "manual-i-0a1b2c3d-20261122T103000Z", InstanceID: "i-0a1b2c3d",
				Resume: ResumePoint{State: "PlacementFailed", Type: "Fail", Fail: true, FailedStep: workflow.StepFilterBySG, Error: "NoReachableSensor"}},
			want: "execution manual-i-0a1b2c3d-20261122T103000Z failed at FilterBySecurityGroup (NoReachableSensor) and ended in the dead-letter path; " +
				"a redrive would resume at the Fail state PlacementFailed and fail again without re-running FilterBySecurityGroup. " +
				"Start a new placement with: mirrorctl run --instance i-0a1b2c3d (or mirrorctl retry --from-dlq)",
		},
		{
			name: "an interface caught inside the Map is named, and the others that failed are counted",
			err: RedriveCannotRerunError{Execution: "manual-i-0a1b2c3d-20261122T103000Z", InstanceID: "i-0a1b2c3d",
				Resume: ResumePoint{State: "PlacementFailed", Type: "Fail", Fail: true, FailedStep: workflow.StepFilterBySG, Error: "NoReachableSensor",
					NetworkInterfaceID: "eni-0a1b2c3d", MoreFailed: 1}},
			want: "execution manual-i-0a1b2c3d-20261122T103000Z failed at FilterBySecurityGroup (NoReachableSensor) for eni-0a1b2c3d " +
				"(and 1 more interface(s)) and ended in the dead-letter path; " +
				"a redrive would resume at the Fail state PlacementFailed and fail again without re-running FilterBySecurityGroup. " +
				"Start a new placement with: mirrorctl run --instance i-0a1b2c3d (or mirrorctl retry --from-dlq)",
		},
		{
			name: "a stop on the dead-letter path before the Fail state, without a known instance",
			err: RedriveCannotRerunError{Execution: "7d0b9c1e",
				Resume: ResumePoint{State: "FilterBySecurityGroupFailed", Type: "Pass", FailedStep: workflow.StepFilterBySG}},
			want: "execution 7d0b9c1e failed at FilterBySecurityGroup and ended in the dead-letter path; " +
				"a redrive would resume at FilterBySecurityGroupFailed, on the dead-letter path, and fail again without re-running FilterBySecurityGroup. " +
				"Start a new placement with: mirrorctl retry --from-dlq (or mirrorctl run --instance ID)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecordedHistoriesCarryTheWorkflowsPayloads holds the recorded
// histories to the payloads the step Lambdas exchange: every step's input
// and every Lambda's response Payload decodes into its workflow type with no
// field left over, and encodes back to the same document, so a change to
// shared/workflow that the recordings miss fails here rather than in a trace.
func TestRecordedHistoriesCarryTheWorkflowsPayloads(t *testing.T) {
	for _, name := range []string{"history-failed-at-security-group.json", "history-aborted-at-network-acl.json",
		"history-failed-data-limit-at-gather-candidates.json"} {
		t.Run(name, func(t *testing.T) {
			var step string
			for _, e := range recorded(t, name) {
				switch {
				case e.Type == sfntypes.HistoryEventTypeTaskStateEntered:
					step = aws.ToString(e.StateEnteredEventDetails.Name)
					input := aws.ToString(e.StateEnteredEventDetails.Input)
					switch _, isStep := workflow.StepNamed(step); {
					case step == workflow.StepCheckExistingSession:
						roundTrips(t, step+" input", input, &workflow.ManualInput{})
					case isStep:
						roundTrips(t, step+" input", input, &workflow.Placement{})
					default:
						roundTrips(t, step+" input", input, &workflow.DeadLetter{})
					}
				case e.Type == sfntypes.HistoryEventTypeTaskSucceeded && e.TaskSucceededEventDetails != nil:
					var out struct{ Payload json.RawMessage }
					if err := json.Unmarshal([]byte(aws.ToString(e.TaskSucceededEventDetails.Output)), &out); err != nil || out.Payload == nil {
						continue // not a lambda:invoke response
					}
					if step == workflow.StepCheckExistingSession {
						roundTrips(t, step+" Payload", string(out.Payload), &workflow.Instance{})
					} else {
						roundTrips(t, step+" Payload", string(out.Payload), &workflow.Placement{})
					}
				}
			}
		})
	}
}

// roundTrips decodes doc into v, refusing unknown fields, and checks that v
// encodes back to the same JSON value.
func roundTrips(t *testing.T, what, doc string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s does not decode as %T: %v", what, v, err)
		return
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(doc), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s changes when it goes through %T (-recorded +encoded):\n%s", what, v, diff)
	}
}
