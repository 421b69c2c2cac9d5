package main

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

const (
	// undeliveredID is the message EventBridge sent to the dead-letter
	// queue when Step Functions throttled the StartExecution for instanceC.
	undeliveredID = "3e9a6c1f-2b7d-4f05-8e4a-6d1c0b9f7a25"
	instanceC     = "i-0c4d5e6f708192a3b"
)

// withUndeliveredEvent queues the message EventBridge sent to the
// dead-letter queue after its StartExecution for instanceC's running event
// was throttled past the rule's eight retries: the event as the body, and
// RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS and
// EXHAUSTED_RETRY_CONDITION as message attributes, as `aws sqs
// receive-message --attribute-names All --message-attribute-names All`
// prints it. Load holds the document to the digests SQS sent with it.
func (e *env) withUndeliveredEvent() *env {
	e.t.Helper()
	if err := e.sqs.Load(os.DirFS("testdata"), "eventbridge-dead-letter.json"); err != nil {
		e.t.Fatal(err)
	}
	return e
}

func TestFailuresListsAnEventEventBridgeCouldNotStart(t *testing.T) {
	e := newEnv(t).withUndeliveredEvent()
	if code := e.run("failures", "--output", "json"); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	var got []operate.Failure
	if err := json.Unmarshal(e.out.Bytes(), &got); err != nil {
		t.Fatalf("decoding failures: %v\n%s", err, e.out)
	}
	// No execution ran: the row names EventBridge's StartExecution call, the
	// instance from the event, and EventBridge's ERROR_CODE and ERROR_MESSAGE.
	want := []operate.Failure{{
		InstanceID: instanceC, When: time.Date(2026, 11, 22, 10, 49, 2, 118_000_000, time.UTC),
		Step: operate.StepStartExecution, Error: "THROTTLING", Reason: "Rate exceeded", InQueue: true, Failures: 1,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if code := e.run("failures"); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	golden(t, "failures-start-execution.golden.txt", e.out.Bytes())
	if diff := cmp.Diff([]string{undeliveredID}, e.sqs.Visible()); diff != "" {
		t.Errorf("visible messages after failures (-want +got):\n%s", diff)
	}
}

func TestRetryFromDLQStartsAnEventEventBridgeCouldNotStart(t *testing.T) {
	tests := []struct {
		name       string
		pollsToEnd int
		ending     ending
		timeout    string
		wantCode   int
		wantLeft   []string
		// wantPolls is how often the execution is described; 0 skips the check.
		wantPolls int
	}{
		{"the message is deleted once the new execution succeeded", 2,
			ending{status: "SUCCEEDED", output: placedOutput}, "10s", exitOK, nil, 3},
		{"the message stays in the queue, visible, when the new execution fails", 2,
			ending{status: "FAILED", errName: "InterfacePlacementFailed", cause: interfaceFailed("eni-0c4d5e6f708192a3b at FilterBySecurityGroup: NoReachableSensor")},
			"10s", exitNotSucceeded, []string{undeliveredID}, 3},
		{"the message stays in the queue while the new execution still runs", 1 << 30,
			ending{status: "SUCCEEDED"}, "30ms", exitNotSucceeded, []string{undeliveredID}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withUndeliveredEvent()
			e.sfn.pollsToEnd = tt.pollsToEnd
			e.sfn.end = func(string) ending { return tt.ending }
			code := e.run("retry", "--from-dlq", "--timeout", tt.timeout)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s\nstdout:\n%s", code, tt.wantCode, e.err, e.out)
			}
			starts := e.sfn.Calls("StartExecution")
			if len(starts) != 1 {
				t.Fatalf("StartExecution called %d times, want 1", len(starts))
			}
			want := map[string]any{
				"stateMachineArn": stateMachine,
				"name":            "retry-" + instanceC + "-20261122T110000Z",
				"input":           `{"instanceId":"` + instanceC + `"}`,
			}
			if diff := cmp.Diff(want, starts[0].Input); diff != "" {
				t.Errorf("StartExecution input (-want +got):\n%s", diff)
			}
			if n := len(e.sfn.Calls("DescribeExecution")); tt.wantPolls != 0 && n != tt.wantPolls {
				t.Errorf("DescribeExecution called %d times, want %d (RUNNING twice, then ended)", n, tt.wantPolls)
			}
			wantDeleted := 0
			if len(tt.wantLeft) == 0 {
				wantDeleted = 1
			}
			if n := len(e.sqs.Calls("DeleteMessage")); n != wantDeleted {
				t.Errorf("DeleteMessage called %d times, want %d", n, wantDeleted)
			}
			if diff := cmp.Diff(tt.wantLeft, e.sqs.IDs()); diff != "" {
				t.Errorf("messages left in the queue (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLeft, e.sqs.Visible()); diff != "" {
				t.Errorf("messages left visible (-want +got):\n%s", diff)
			}
		})
	}
}
