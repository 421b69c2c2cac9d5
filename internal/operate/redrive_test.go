package operate

import (
	"encoding/json"
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

// caughtAt is a step failing, its Catch building the dead-letter message
// and the message being sent: everything before PlacementFailed.
func (h *history) caughtAt(step, errName string) *history {
	return h.entered(step).typ(sfntypes.HistoryEventTypeTaskScheduled).failed(errName, lambdaCause("no", errName)).exited(step, `{}`).
		state(sfntypes.HistoryEventTypePassStateEntered, step+"Failed").state(sfntypes.HistoryEventTypePassStateExited, step+"Failed").
		entered("SendToDeadLetterQueue")
}

func TestRedriveResumePoint(t *testing.T) {
	tests := []struct {
		name         string
		events       []sfntypes.HistoryEvent
		want         ResumePoint
		wantEnded    bool
		wantRefusing bool
	}{
		{
			name:   "a caught failure resumes at the Fail state, and the step the Catch handled is named",
			events: recorded(t, "history-failed-at-security-group.json"),
			want: ResumePoint{Status: StatusFailed, State: "PlacementFailed", Type: "Fail", Fail: true,
				FailedStep: workflow.StepFilterBySG, Error: "NoReachableSensor"},
			wantEnded: true, wantRefusing: true,
		},
		{
			name:      "an abort while a step's Lambda runs resumes at that Task",
			events:    recorded(t, "history-aborted-at-network-acl.json"),
			want:      ResumePoint{Status: StatusAborted, State: workflow.StepFilterByNACL, Type: "Task"},
			wantEnded: true,
		},
		{
			name:   "an error no Catch matches (States.DataLimitExceeded) resumes at the Task that raised it",
			events: recorded(t, "history-failed-data-limit-at-gather-candidates.json"),
			want: ResumePoint{Status: StatusFailed, State: workflow.StepGatherCandidates, Type: "Task",
				Error: "States.DataLimitExceeded"},
			wantEnded: true,
		},
		{
			name: "a timeout resumes at the state it cut short",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepCreateSession).
				typ(sfntypes.HistoryEventTypeTaskScheduled).typ(sfntypes.HistoryEventTypeExecutionTimedOut).events,
			want:      ResumePoint{Status: StatusTimedOut, State: workflow.StepCreateSession, Type: "Task"},
			wantEnded: true,
		},
		{
			name: "a States.Runtime error in a <Step>Failed Pass state resumes on the dead-letter path",
			events: newHistory().started(`{"instanceId":"i-0a1b2c3d"}`).entered(workflow.StepFilterBySG).
				typ(sfntypes.HistoryEventTypeTaskScheduled).failed("NoReachableSensor", lambdaCause("no", "NoReachableSensor")).
				exited(workflow.StepFilterBySG, `{}`).state(sfntypes.HistoryEventTypePassStateEntered, "FilterBySecurityGroupFailed").
				executionFailed("States.Runtime", "An error occurred while executing the state 'FilterBySecurityGroupFailed' (entered at the event id #5). The JSONPath '$.failure.Cause' specified for the field 'cause.$' could not be found in the input").events,
			want: ResumePoint{Status: StatusFailed, State: "FilterBySecurityGroupFailed", Type: "Pass",
				FailedStep: workflow.StepFilterBySG, Error: "States.Runtime"},
			wantEnded: true, wantRefusing: true,
		},
		{
			name: "a failed dead-letter send is caught into the Fail state and still names the step",
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
