package operate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/testkit/sqsfake"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// The messages of testdata/eventbridge-dead-letters.json, as `aws sqs
// receive-message --message-attribute-names All --attribute-names All`
// printed them: events the rule could not start an execution for.
const (
	throttledID  = "5f1e7c2a-8d3b-4e6f-9a0b-1c2d3e4f5a6b" // THROTTLING after 8 retries, i-0e26b3747ee8aab5c
	refusedID    = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d" // NO_PERMISSIONS at once, i-0a1b2c3d4e5f60718
	truncatedID  = "9c0d1e2f-3a4b-4c5d-9e6f-7a8b9c0d1e2f" // NO_RESOURCE, with a body cut short
	deadRuleARN  = "arn:aws:events:us-east-1:123456789012:rule/Mirrorflow-InstanceRunning71F4DCB2-1RJ5Q0ZK8W3YH"
	deadSfnARN   = "arn:aws:states:us-east-1:123456789012:stateMachine:PlacementStateMachine2048B983-tR7sXp2LqW9m"
	refusedCause = "User: arn:aws:sts::123456789012:assumed-role/Mirrorflow-PlacementStateMachineEventsRoleAF4EC2-Gq3nV8xK1pZc/2f9d1a7e4b3c5d6e " +
		"is not authorized to perform: states:StartExecution on resource: " + deadSfnARN +
		" because no identity-based policy allows the states:StartExecution action"
)

const fakeQueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/Mirrorflow-DeadLetterQueue"

// loadQueue is a fake queue holding the messages of a receive-message
// document in testdata.
func loadQueue(t *testing.T, name string) *sqsfake.Queue {
	t.Helper()
	q := sqsfake.New(fakeQueueURL)
	q.Errorf = t.Errorf
	if err := q.Load(os.DirFS("testdata"), name); err != nil {
		t.Fatal(err)
	}
	return q
}

// queueClient is a real SQS client of q, served until the test ends.
func queueClient(t *testing.T, q *sqsfake.Queue) *sqs.Client {
	t.Helper()
	srv := httptest.NewServer(q)
	t.Cleanup(srv.Close)
	return sqsfake.NewClient(srv.URL)
}

// deadLetterQueue is the recorded EventBridge dead letters and, beside them,
// one the state machine sent and one EventBridge event sent without
// attributes, all behind a real SQS client.
func deadLetterQueue(t *testing.T) (*sqsfake.Queue, Queue) {
	t.Helper()
	q := loadQueue(t, "eventbridge-dead-letters.json")
	letter, err := json.Marshal(workflow.DeadLetter{
		Step: workflow.StepFilterBySG, InstanceID: "i-0fedcba9876543210",
		ExecutionID: "arn:aws:states:us-east-1:123456789012:execution:PlacementStateMachine2048B983-tR7sXp2LqW9m:manual-i-0fedcba9876543210-20261122T103000Z",
		Input:       json.RawMessage(`{"instanceId":"i-0fedcba9876543210"}`), Error: "NoReachableSensor",
		Cause: lambdaCause("no reachable sensor for i-0fedcba9876543210", "NoReachableSensor"), StartTime: "2026-11-22T10:30:00Z",
	})
	if err != nil {
		t.Fatal(err)
	}
	q.Add("state-machine", string(letter), time.Date(2026, 11, 22, 10, 30, 7, 0, time.UTC), nil)
	q.Add("bare-event", `{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2",`+
		`"time":"2026-11-22T09:00:00Z","detail":{"instance-id":"i-0c0ffee00c0ffee00","state":"running"}}`,
		time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC), nil)
	q.Add("not-an-object", `"i-0c0ffee00c0ffee00"`, time.Date(2026, 11, 22, 9, 6, 0, 0, time.UTC),
		map[string]sqsfake.Attribute{AttributeErrorCode: {DataType: "String", StringValue: "NO_RESOURCE"}, AttributeErrorMessage: {DataType: "String", StringValue: "gone"}})
	return q, queueClient(t, q)
}

func TestPeekReadsEventsEventBridgeCouldNotDeliver(t *testing.T) {
	q, api := deadLetterQueue(t)
	msgs, err := Peek(context.Background(), api, fakeQueueURL, 10)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]DeadLetterMessage{}
	for _, m := range msgs {
		byID[m.MessageID] = m
	}
	throttledEvent := `{"version":"0","id":"ee376907-2647-4179-9203-343cfb3017a4","detail-type":"EC2 Instance State-change Notification",` +
		`"source":"aws.ec2","account":"123456789012","time":"2026-11-22T11:02:13Z","region":"us-east-1",` +
		`"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-0e26b3747ee8aab5c"],"detail":{"instance-id":"i-0e26b3747ee8aab5c","state":"running"}}`

	tests := []struct {
		name            string
		id              string
		wantLetter      workflow.DeadLetter
		wantUndelivered *UndeliveredEvent
		wantErr         string // empty: the message decodes
	}{
		{
			name: "a throttled StartExecution is a failure at StartExecution with EventBridge's code and message",
			id:   throttledID,
			wantLetter: workflow.DeadLetter{Step: StepStartExecution, InstanceID: "i-0e26b3747ee8aab5c", Input: json.RawMessage(throttledEvent),
				Error: "THROTTLING", Cause: "Rate exceeded", StartTime: "2026-11-22T11:02:13Z"},
			wantUndelivered: &UndeliveredEvent{RuleARN: deadRuleARN, TargetARN: deadSfnARN, ErrorCode: "THROTTLING", ErrorMessage: "Rate exceeded"},
		},
		{
			name: "a refused target role is read the same way, with IAM's message as the reason",
			id:   refusedID,
			wantLetter: workflow.DeadLetter{Step: StepStartExecution, InstanceID: "i-0a1b2c3d4e5f60718", Error: "NO_PERMISSIONS",
				Cause: refusedCause, StartTime: "2026-11-22T11:40:02Z"},
			wantUndelivered: &UndeliveredEvent{RuleARN: deadRuleARN, TargetARN: deadSfnARN, ErrorCode: "NO_PERMISSIONS", ErrorMessage: refusedCause},
		},
		{
			name:            "an event cut short is unreadable, and says what EventBridge reported",
			id:              truncatedID,
			wantLetter:      workflow.DeadLetter{Step: StepStartExecution, Error: "NO_RESOURCE"},
			wantUndelivered: &UndeliveredEvent{RuleARN: deadRuleARN, TargetARN: deadSfnARN, ErrorCode: "NO_RESOURCE", ErrorMessage: "State Machine Does Not Exist: '" + deadSfnARN + "'"},
			wantErr:         "an event EventBridge could not deliver (NO_RESOURCE: State Machine Does Not Exist",
		},
		{
			name:            "attributes with a body that is not a JSON object are unreadable",
			id:              "not-an-object",
			wantLetter:      workflow.DeadLetter{Step: StepStartExecution, Error: "NO_RESOURCE"},
			wantUndelivered: &UndeliveredEvent{ErrorCode: "NO_RESOURCE", ErrorMessage: "gone"},
			wantErr:         "the body is not a JSON object",
		},
		{
			name: "an event without EventBridge's attributes is still recognised by its detail-type and source",
			id:   "bare-event",
			wantLetter: workflow.DeadLetter{Step: StepStartExecution, InstanceID: "i-0c0ffee00c0ffee00",
				Cause: noErrorMessage, StartTime: "2026-11-22T09:00:00Z"},
			wantUndelivered: &UndeliveredEvent{},
		},
		{
			name: "the state machine's workflow.DeadLetter is read as before",
			id:   "state-machine",
			wantLetter: workflow.DeadLetter{Step: workflow.StepFilterBySG, InstanceID: "i-0fedcba9876543210",
				ExecutionID: "arn:aws:states:us-east-1:123456789012:execution:PlacementStateMachine2048B983-tR7sXp2LqW9m:manual-i-0fedcba9876543210-20261122T103000Z",
				Error:       "NoReachableSensor", Cause: lambdaCause("no reachable sensor for i-0fedcba9876543210", "NoReachableSensor"), StartTime: "2026-11-22T10:30:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := byID[tt.id]
			if !ok {
				t.Fatalf("Peek did not return message %s", tt.id)
			}
			got := m.Letter
			if tt.wantLetter.Input == nil {
				got.Input = nil // compared below only where the case names it
			}
			if diff := cmp.Diff(tt.wantLetter, got); diff != "" {
				t.Errorf("Letter (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantUndelivered, m.Undelivered); diff != "" {
				t.Errorf("Undelivered (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantErr == "" && m.DecodeErr != nil:
				t.Errorf("DecodeErr = %v, want none", m.DecodeErr)
			case tt.wantErr != "" && (m.DecodeErr == nil || !strings.Contains(m.DecodeErr.Error(), tt.wantErr)):
				t.Errorf("DecodeErr = %v, want one containing %q", m.DecodeErr, tt.wantErr)
			}
			if m.SentAt.IsZero() || m.ReceiveCount != 1 {
				t.Errorf("SentAt %v, ReceiveCount %d; want SQS's SentTimestamp and 1", m.SentAt, m.ReceiveCount)
			}
		})
	}

	if len(msgs) != 6 {
		t.Errorf("Peek returned %d messages, want all 6", len(msgs))
	}
	for _, c := range q.Calls(sqsfake.ReceiveMessage) {
		if diff := cmp.Diff([]string{AttributeRuleARN, AttributeTargetARN, AttributeErrorCode, AttributeErrorMessage}, c.Strings("MessageAttributeNames")); diff != "" {
			t.Errorf("ReceiveMessage MessageAttributeNames (-want +got):\n%s", diff)
		}
	}
	if got := q.Visible(); len(got) != 6 {
		t.Errorf("after a peek %d messages are visible, want all 6: %v", len(got), got)
	}
}

func TestFailureRowsListEventsEventBridgeCouldNotDeliver(t *testing.T) {
	q := loadQueue(t, "eventbridge-dead-letters.json")
	msgs, err := Peek(context.Background(), queueClient(t, q), fakeQueueURL, 10)
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 22, h, m, s, 0, time.UTC) }
	want := []Failure{
		{InstanceID: "i-0e26b3747ee8aab5c", When: at(11, 48, 40), Step: StepStartExecution, Error: "THROTTLING", Reason: "Rate exceeded",
			InQueue: true, Failures: 1},
		{When: at(11, 42, 0), Step: StepStartExecution, Error: "unreadable message", InQueue: true, Failures: 1},
		{InstanceID: "i-0a1b2c3d4e5f60718", When: at(11, 40, 3), Step: StepStartExecution, Error: "NO_PERMISSIONS", Reason: refusedCause,
			InQueue: true, Failures: 1},
	}
	got := FailureRows(nil, msgs)
	if len(got) == len(want) {
		if !strings.HasPrefix(got[1].Reason, "message "+truncatedID+": ") {
			t.Errorf("the unreadable message's reason %q does not name it", got[1].Reason)
		}
		got[1].Reason = ""
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FailureRows (-want +got):\n%s", diff)
	}

	// Two unreadable messages with no instance are two rows, not one.
	twice := append(msgs, DeadLetterMessage{MessageID: "other", SentAt: at(11, 43, 0), DecodeErr: errors.New("decoding dead-letter message other: unexpected end of JSON input")})
	if rows := FailureRows(nil, twice); len(rows) != 4 {
		t.Errorf("%d rows for 3 failures and a second unreadable message, want 4: %+v", len(rows), rows)
	}
}

func TestRetryFromDeadLetterQueueStartsEventsEventBridgeCouldNotDeliver(t *testing.T) {
	q := loadQueue(t, "eventbridge-dead-letters.json")
	sf := &fakeSFN{outcome: map[string]sfntypes.ExecutionStatus{"i-0a1b2c3d4e5f60718": sfntypes.ExecutionStatusFailed}}
	const sm = "arn:aws:states:us-east-1:123456789012:stateMachine:PlacementStateMachine2048B983-tR7sXp2LqW9m"
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	results, err := RetryDeadLetters(context.Background(), sf, queueClient(t, q), RetryOptions{
		StateMachineARN: sm, QueueURL: fakeQueueURL, Limit: 10, Timeout: 5 * time.Second,
		Backoff: Backoff{Initial: time.Millisecond, Max: time.Millisecond}, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}

	want := []RetryResult{
		{MessageID: throttledID, InstanceID: "i-0e26b3747ee8aab5c", Status: StatusSucceeded, Deleted: true,
			ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:PlacementStateMachine2048B983-tR7sXp2LqW9m:retry-i-0e26b3747ee8aab5c-20261122T120000Z"},
		{MessageID: refusedID, InstanceID: "i-0a1b2c3d4e5f60718", Status: StatusFailed, Reason: workflow.ErrorInterfacePlacementFailed + ": " + failedCause,
			ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:PlacementStateMachine2048B983-tR7sXp2LqW9m:retry-i-0a1b2c3d4e5f60718-20261122T120000Z"},
		{MessageID: truncatedID, Status: "NOT_STARTED"},
	}
	if len(results) == len(want) {
		if !strings.Contains(results[2].Reason, "an event EventBridge could not deliver") {
			t.Errorf("the unreadable message's reason %q does not say what it is", results[2].Reason)
		}
		results[2].Reason = ""
	}
	if diff := cmp.Diff(want, results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}

	var inputs []string
	for _, in := range sf.started {
		inputs = append(inputs, aws.ToString(in.Input))
	}
	wantInputs := []string{`{"instanceId":"i-0e26b3747ee8aab5c"}`, `{"instanceId":"i-0a1b2c3d4e5f60718"}`}
	if diff := cmp.Diff(wantInputs, inputs); diff != "" {
		t.Errorf("execution inputs (-want +got):\n%s", diff)
	}
	// Only the message whose new execution succeeded left the queue; the
	// others are visible again at once for the next retry.
	if diff := cmp.Diff([]string{refusedID, truncatedID}, q.IDs()); diff != "" {
		t.Errorf("messages left in the queue (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{refusedID, truncatedID}, q.Visible()); diff != "" {
		t.Errorf("messages visible after the retry (-want +got):\n%s", diff)
	}
}

func TestRetryFromDeadLetterQueueStartsOneExecutionPerInstance(t *testing.T) {
	const (
		instance = "i-0a1b2c3d4e5f60718"
		other    = "i-0fedcba9876543210"
		failedAt = "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:manual-i-0a1b2c3d4e5f60718-20261122T103000Z"
		sm       = "arn:aws:states:us-east-1:123456789012:stateMachine:Mirrorflow"
		retried  = "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:retry-i-0a1b2c3d4e5f60718-20261122T120000Z"
		retried2 = "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:retry-i-0fedcba9876543210-20261122T120000Z"
	)
	// A failed execution sent one message per interface that failed, each
	// naming the instance; another instance failed on its own.
	letter := func(instanceID, eni, step, errName string) string {
		b, err := json.Marshal(workflow.DeadLetter{
			Step: step, InstanceID: instanceID, NetworkInterfaceID: eni, ExecutionID: failedAt,
			Input: json.RawMessage(`{"instanceId":"` + instanceID + `"}`), Error: errName, Cause: lambdaCause("no", errName),
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name        string
		outcome     sfntypes.ExecutionStatus
		wantDeleted bool
		wantLeft    []string
	}{
		{"the messages of one instance's interfaces share a new execution and leave the queue once it succeeds",
			sfntypes.ExecutionStatusSucceeded, true, []string{"other"}},
		{"the messages of one instance's interfaces stay in the queue, visible, when their shared execution fails",
			sfntypes.ExecutionStatusFailed, false, []string{"eni-a", "eni-b", "other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := sqsfake.New(fakeQueueURL)
			q.Errorf = t.Errorf
			sent := time.Date(2026, 11, 22, 10, 30, 7, 0, time.UTC)
			q.Add("eni-a", letter(instance, "eni-0a0a0a0a0a0a0a0a0", workflow.StepFilterBySG, "NoReachableSensor"), sent, nil)
			q.Add("eni-b", letter(instance, "eni-0b0b0b0b0b0b0b0b0", workflow.StepCreateSession, "EC2Rejected"), sent, nil)
			q.Add("other", letter(other, "eni-0c0c0c0c0c0c0c0c0", workflow.StepFilterByNACL, "NoReachableSensor"), sent, nil)
			sf := &fakeSFN{outcome: map[string]sfntypes.ExecutionStatus{instance: tt.outcome, other: sfntypes.ExecutionStatusFailed}}
			now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
			results, err := RetryDeadLetters(context.Background(), sf, queueClient(t, q), RetryOptions{
				StateMachineARN: sm, QueueURL: fakeQueueURL, Limit: 10, Timeout: 5 * time.Second,
				Backoff: Backoff{Initial: time.Millisecond, Max: time.Millisecond}, Now: func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			var inputs []string
			for _, in := range sf.started {
				inputs = append(inputs, aws.ToString(in.Input))
			}
			if diff := cmp.Diff([]string{`{"instanceId":"` + instance + `"}`, `{"instanceId":"` + other + `"}`}, inputs); diff != "" {
				t.Errorf("executions started (-want +got):\n%s", diff)
			}
			reason := ""
			if tt.outcome != sfntypes.ExecutionStatusSucceeded {
				reason = workflow.ErrorInterfacePlacementFailed + ": " + failedCause
			}
			want := []RetryResult{
				{MessageID: "eni-a", InstanceID: instance, ExecutionARN: retried, Status: string(tt.outcome), Deleted: tt.wantDeleted, Reason: reason},
				{MessageID: "eni-b", InstanceID: instance, ExecutionARN: retried, Status: string(tt.outcome), Deleted: tt.wantDeleted, Reason: reason},
				{MessageID: "other", InstanceID: other, ExecutionARN: retried2, Status: StatusFailed,
					Reason: workflow.ErrorInterfacePlacementFailed + ": " + failedCause},
			}
			if diff := cmp.Diff(want, results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLeft, q.Visible()); diff != "" {
				t.Errorf("messages visible after the retry (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecodeMessage: no body and no attributes make decoding panic, and a
// message read as an undelivered event is either unreadable or a letter the
// retry can start from.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(`{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"instance-id":"i-0e26b3747ee8aab5c"}}`, "THROTTLING", true)
	f.Add(`{"detail":"i-0"}`, "NO_RESOURCE", true)
	f.Add(`{"step":"CreateSession","input":{}}`, "", false)
	f.Add(`{"source":"aws.ec2","detail":null}`, "", false)
	f.Add(`[`, "INTERNAL_ERROR", true)
	f.Fuzz(func(t *testing.T, body, code string, attrs bool) {
		m := sqstypes.Message{MessageId: aws.String("m"), Body: aws.String(body)}
		if attrs {
			m.MessageAttributes = map[string]sqstypes.MessageAttributeValue{AttributeErrorCode: {DataType: aws.String("String"), StringValue: aws.String(code)}}
		}
		d := decodeMessage(m)
		if d.Undelivered == nil || d.DecodeErr != nil {
			return
		}
		if d.Letter.Step != StepStartExecution || !json.Valid(d.Letter.Input) {
			t.Errorf("an undelivered event decoded to step %q with input %q", d.Letter.Step, d.Letter.Input)
		}
	})
}

// TestRetryLeavesAFailedReconcileToMirrorctlReconcile: a dead letter from
// one of the Reconcile's own steps carries the Reconcile's input, which the
// placement state machine would refuse; retry starts nothing for it, says
// to run the Reconcile again, and leaves it in the queue. A placement the
// Reconcile could not start names its instance and is placed again.
func TestRetryLeavesAFailedReconcileToMirrorctlReconcile(t *testing.T) {
	const (
		instance = "i-0a1b2c3d4e5f60718"
		sm       = "arn:aws:states:us-east-1:123456789012:stateMachine:Mirrorflow"
		failedAt = "arn:aws:states:us-east-1:123456789012:execution:MirrorflowReconcile:schedule-1"
	)
	letter := func(step, instanceID string) string {
		b, err := json.Marshal(workflow.DeadLetter{
			Step: step, InstanceID: instanceID, ExecutionID: failedAt,
			Input: json.RawMessage(`{"trigger":"schedule"}`), Error: "EC2Throttled", Cause: lambdaCause("slow down", "EC2Throttled"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	q := sqsfake.New(fakeQueueURL)
	q.Errorf = t.Errorf
	sent := time.Date(2026, 11, 22, 10, 30, 7, 0, time.UTC)
	q.Add("list", letter(workflow.StepListReconcileWork, ""), sent, nil)
	q.Add("start", letter("StartPlacement", instance), sent, nil)
	sf := &fakeSFN{outcome: map[string]sfntypes.ExecutionStatus{instance: sfntypes.ExecutionStatusSucceeded}}
	results, err := RetryDeadLetters(context.Background(), sf, queueClient(t, q), RetryOptions{
		StateMachineARN: sm, QueueURL: fakeQueueURL, Limit: 10, Timeout: 5 * time.Second,
		Backoff: Backoff{Initial: time.Millisecond, Max: time.Millisecond}, Now: func() time.Time { return sent },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sf.started) != 1 || aws.ToString(sf.started[0].Input) != `{"instanceId":"`+instance+`"}` {
		t.Fatalf("started %d executions, want one placement of %s", len(sf.started), instance)
	}
	for _, r := range results {
		switch r.MessageID {
		case "list":
			if r.Status != "NOT_STARTED" || r.Deleted || !strings.Contains(r.Reason, "mirrorctl reconcile") {
				t.Errorf("the Reconcile's own failure: %+v, want NOT_STARTED, kept, pointing at mirrorctl reconcile", r)
			}
		case "start":
			if r.Status != string(sfntypes.ExecutionStatusSucceeded) || !r.Deleted {
				t.Errorf("the placement the Reconcile could not start: %+v, want placed again and deleted", r)
			}
		}
	}
}
