package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/operate"
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
// prints it.
func (e *env) withUndeliveredEvent() *env {
	e.t.Helper()
	const path = "testdata/eventbridge-dead-letter.json"
	raw, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	var doc struct {
		Messages []struct {
			MessageID              string `json:"MessageId"`
			Body                   string
			MD5OfBody              string
			MD5OfMessageAttributes string
			Attributes             map[string]string
			MessageAttributes      map[string]struct{ DataType, StringValue string }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		e.t.Fatalf("decoding %s: %v", path, err)
	}
	for _, m := range doc.Messages {
		ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
		if err != nil {
			e.t.Fatalf("%s: message %s has no SentTimestamp: %v", path, m.MessageID, err)
		}
		attrs := map[string]attribute{}
		for name, a := range m.MessageAttributes {
			if strings.HasPrefix(a.DataType, "Binary") {
				e.t.Fatalf("%s: attribute %s is %s; the fake holds string values only", path, name, a.DataType)
			}
			attrs[name] = attribute{dataType: a.DataType, value: a.StringValue}
		}
		// A receive naming every attribute gets these digests from SQS, so
		// an edit that breaks them would no longer be a message SQS sent.
		sum := md5.Sum([]byte(m.Body))
		if got := hex.EncodeToString(sum[:]); got != m.MD5OfBody {
			e.t.Fatalf("%s: message %s MD5OfBody is %s, the body's is %s", path, m.MessageID, m.MD5OfBody, got)
		}
		if got := attributesMD5(attrs); got != m.MD5OfMessageAttributes {
			e.t.Fatalf("%s: message %s MD5OfMessageAttributes is %s, its attributes' is %s", path, m.MessageID, m.MD5OfMessageAttributes, got)
		}
		e.sqs.add(m.MessageID, m.Body, time.UnixMilli(ms).UTC(), attrs)
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
			ending{status: "SUCCEEDED", output: `{"outcome":"created"}`}, "10s", exitOK, nil, 3},
		{"the message stays in the queue, visible, when the new execution fails", 2,
			ending{status: "FAILED", errName: "NoReachableSensor", cause: `{"errorMessage":"no reachable sensor for i-0c4d5e6f708192a3b","errorType":"NoReachableSensor","stackTrace":[]}`},
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
