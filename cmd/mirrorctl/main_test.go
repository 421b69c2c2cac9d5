package main

import (
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sqsfake"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	region       = "us-east-1"
	stateMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:Mirrorflow"
	queueURL     = "https://sqs.us-east-1.amazonaws.com/123456789012/Mirrorflow-DeadLetterQueue"
	failedName   = "manual-i-0a1b2c3d4e5f60718-20261122T103000Z"
	failedARN    = "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:" + failedName
	eventARN     = "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:7d0b9c1e-5a4f-4e2b-8c3d-2f1a0e9b8c7d"
	abortedName  = "manual-i-0a1b2c3d4e5f60718-20261122T104500Z"
	abortedARN   = "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:" + abortedName
	uncaughtARN  = "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:manual-i-0a1b2c3d4e5f60718-20261122T095000Z"
	instanceA    = "i-0a1b2c3d4e5f60718"
	interfaceA   = "eni-0123456789abcdef0"
	instanceB    = "i-0fedcba9876543210"
)

// testHTTPClient keeps the SDK's request-body close from racing net/http's
// write loop (see sdktest.HTTPClient): the tests disable retries to count
// calls exactly, so they must not depend on the retry that hides it.
var testHTTPClient = sdktest.HTTPClient()

// env is mirrorctl wired to loopback fakes of Step Functions, SQS and
// CloudFormation through the real SDK clients.
type env struct {
	t   *testing.T
	sfn *fakeSFN
	sqs *sqsfake.Queue
	cfn *fakeCFN
	app *app
	out *bytes.Buffer
	err *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, sfn: newFakeSFN(t), sqs: sqsfake.New(queueURL), out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	e.cfn = &fakeCFN{t: t, stacks: map[string]map[string]string{"Mirrorflow": {
		"StateMachineArn":    stateMachine,
		"DeadLetterQueueUrl": queueURL,
		"DeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:Mirrorflow-DeadLetterQueue",
	}}}
	e.sqs.Errorf = t.Errorf
	e.sfn.stateMachines[stateMachine] = true
	e.app = newApp(e.out, e.err)
	e.app.endpoints = servers(t, e.sfn, e.sqs, e.cfn)
	e.app.loadConfig = func(_ context.Context, r, _ string) (aws.Config, error) {
		if r == "" {
			r = region
		}
		return aws.Config{
			Region:           r,
			RetryMaxAttempts: 1,
			HTTPClient:       testHTTPClient,
			Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Source: "test"}, nil
			})),
		}, nil
	}
	e.app.now = func() time.Time { return time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC) }
	e.app.backoff = operate.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}
	return e
}

// withFailure loads the recorded failed placement and its dead-letter
// messages, plus the EventBridge-started execution the second message is from.
func (e *env) withFailure() *env {
	e.sfn.loadHistory(failedARN, "testdata/history-failed-at-security-group.json")
	e.sfn.executions[eventARN] = &fakeExecution{
		arn: eventARN, name: eventARN[strings.LastIndex(eventARN, ":")+1:], stateMachine: stateMachine, status: "FAILED",
		errName: "InterfacePlacementFailed", cause: interfaceFailed("eni-0fedcba9876543210 at CreateSession: EC2Rejected"),
		start: time.Date(2026, 11, 22, 9, 12, 42, 0, time.UTC), stop: time.Date(2026, 11, 22, 9, 12, 44, 290_000_000, time.UTC),
	}
	raw, err := os.ReadFile("testdata/dead-letters.json")
	if err != nil {
		e.t.Fatal(err)
	}
	var msgs []struct {
		MessageID     string          `json:"messageId"`
		SentTimestamp time.Time       `json:"sentTimestamp"`
		Body          json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &msgs); err != nil {
		e.t.Fatal(err)
	}
	for _, m := range msgs {
		e.sqs.Add(m.MessageID, string(m.Body), m.SentTimestamp, nil)
	}
	return e
}

// interfaceFailed is the cause PlacementFailed records when the Map ended
// interfaces as failed: DescribeFailedInterfaces' sentence over their summaries.
func interfaceFailed(summaries ...string) string {
	list, _ := json.Marshal(summaries)
	return fmt.Sprintf("%d source interface(s) could not be placed, each sent to the dead-letter queue with its reason: %s", len(summaries), list)
}

// placedOutput is a succeeded execution's output as SummarizeInterfaces
// builds it: the instance's one interface created a session.
const placedOutput = `{"anyCreated":true,"anyExists":false,"anyFailed":false,` +
	`"executionId":"arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:manual-i-0a1b2c3d4e5f60718-20261122T110000Z",` +
	`"instanceId":"i-0a1b2c3d4e5f60718","interfaces":[{"instanceId":"i-0a1b2c3d4e5f60718","trigger":"manual",` +
	`"source":{"instanceId":"i-0a1b2c3d4e5f60718","networkInterfaceId":"eni-0123456789abcdef0"},"outcome":"created",` +
	`"targetId":"tmt-0aa11bb22cc33dd44","sessionId":"tms-0123456789abcdef0","candidates":[],"steps":[]}]}`

// run runs one mirrorctl command line and returns its exit code.
func (e *env) run(args ...string) int {
	e.t.Helper()
	e.out.Reset()
	e.err.Reset()
	return e.app.main(context.Background(), args)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s drifted (-golden +got); run go test ./cmd/mirrorctl -update if the change is meant:\n%s", path, diff)
	}
}

func TestGoldenOutputs(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"trace of a placement that failed at FilterBySecurityGroup, as a table", []string{"trace", failedARN}, "trace.golden.txt"},
		{"trace of a placement that failed at FilterBySecurityGroup, as JSON", []string{"trace", failedARN, "--output", "json"}, "trace.golden.json"},
		{"failures of the last day, as a table", []string{"failures", "--since", "24h"}, "failures.golden.txt"},
		{"failures of the last day, as JSON", []string{"failures", "--output=json"}, "failures.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withFailure()
			if code := e.run(tt.args...); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, e.err)
			}
			golden(t, tt.golden, e.out.Bytes())
		})
	}
}

// TestGoldenRedriveOfAnAbortedExecution records what
// docs/when-a-placement-fails.md quotes: the trace of the execution aborted
// while FilterByNetworkACL ran inside the Map, and redrive's answer for it.
func TestGoldenRedriveOfAnAbortedExecution(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"trace of a placement aborted at FilterByNetworkACL, as a table", []string{"trace", abortedName}, "trace-aborted.golden.txt"},
		{"redrive of a placement aborted at FilterByNetworkACL", []string{"redrive", abortedName}, "redrive-aborted.golden.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withFailure()
			e.sfn.loadHistory(abortedARN, "testdata/history-aborted-at-network-acl.json")
			if code := e.run(tt.args...); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, e.err)
			}
			if e.err.Len() != 0 {
				t.Errorf("stderr is not empty:\n%s", e.err)
			}
			golden(t, tt.golden, e.out.Bytes())
		})
	}
}

func TestRunStartsANamedManualExecution(t *testing.T) {
	e := newEnv(t)
	if code := e.run("run", "--instance", instanceA); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	if got := e.cfn.Calls("DescribeStacks"); len(got) != 1 || got[0].Input["StackName"] != "Mirrorflow" {
		t.Errorf("DescribeStacks calls = %v, want one for stack Mirrorflow", got)
	}
	calls := e.sfn.Calls("StartExecution")
	if len(calls) != 1 {
		t.Fatalf("StartExecution called %d times, want 1", len(calls))
	}
	want := map[string]any{
		"stateMachineArn": stateMachine,
		"name":            "manual-i-0a1b2c3d4e5f60718-20261122T110000Z",
		"input":           `{"instanceId":"i-0a1b2c3d4e5f60718"}`,
	}
	if diff := cmp.Diff(want, calls[0].Input); diff != "" {
		t.Errorf("StartExecution input (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.out.String(), "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/"+
		"arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:manual-i-0a1b2c3d4e5f60718-20261122T110000Z") {
		t.Errorf("run did not print the console URL:\n%s", e.out)
	}
}

// TestEndpointsFromTheEnvironmentAreKept checks that mirrorctl leaves alone
// an endpoint the SDK resolved from the environment (AWS_ENDPOINT_URL or
// AWS_ENDPOINT_URL_<SERVICE>, which LoadDefaultConfig puts in the config),
// so it can be pointed at a local or private endpoint.
func TestEndpointsFromTheEnvironmentAreKept(t *testing.T) {
	e := newEnv(t)
	overrides := e.app.endpoints
	e.app.endpoints = nil
	load := e.app.loadConfig
	e.app.loadConfig = func(ctx context.Context, r, p string) (aws.Config, error) {
		cfg, err := load(ctx, r, p)
		cfg.BaseEndpoint = aws.String(overrides["SFN"])
		return cfg, err
	}
	if code := e.run("run", "--instance", instanceA, "--state-machine", stateMachine); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	if calls := e.sfn.Calls("StartExecution"); len(calls) != 1 {
		t.Fatalf("StartExecution reached the endpoint from the environment %d times, want 1", len(calls))
	}
}

func TestRunWait(t *testing.T) {
	tests := []struct {
		name       string
		ending     ending
		wantCode   int
		wantOutput string
	}{
		{"a placement that succeeds exits 0 and shows its interface's outcome",
			ending{status: "SUCCEEDED", output: placedOutput},
			exitOK, "created, target tmt-0aa11bb22cc33dd44, session tms-0123456789abcdef0"},
		{"a placement whose interface failed exits 4 and shows the error",
			ending{status: "FAILED", errName: "InterfacePlacementFailed", cause: interfaceFailed("eni-0123456789abcdef0 at PickLeastLoaded: NoReachableSensor")},
			exitNotSucceeded, "FAILED: InterfacePlacementFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.sfn.pollsToEnd = 2
			e.sfn.end = func(string) ending { return tt.ending }
			code := e.run("run", "--instance", instanceA, "--wait", "--timeout", "10s")
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, e.err)
			}
			if !strings.Contains(e.out.String(), tt.wantOutput) {
				t.Errorf("output lacks %q:\n%s", tt.wantOutput, e.out)
			}
			if n := len(e.sfn.Calls("DescribeExecution")); n != 3 {
				t.Errorf("DescribeExecution polled %d times, want 3 (RUNNING twice, then ended)", n)
			}
		})
	}
}

func TestRunWaitTimesOut(t *testing.T) {
	e := newEnv(t)
	e.sfn.pollsToEnd = 1 << 30
	code := e.run("run", "--instance", instanceA, "--wait", "--timeout", "30ms")
	if code != exitNotSucceeded {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitNotSucceeded, e.err)
	}
	if !strings.Contains(e.err.String(), "still RUNNING after 30ms") {
		t.Errorf("stderr does not say it is still running:\n%s", e.err)
	}
}

func TestTraceFindsTheNewestExecutionOfAnInstance(t *testing.T) {
	tests := []struct {
		name     string
		instance string
		want     string
	}{
		{"by the name mirrorctl gave it", instanceA, failedARN},
		{"by the input of an EventBridge-started execution", instanceB, eventARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withFailure()
			e.sfn.executions[eventARN].input = `{"detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"` + instanceB + `","state":"running"}}`
			if code := e.run("trace", "--instance", tt.instance, "--output", "json"); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, e.err)
			}
			var got operate.Trace
			if err := json.Unmarshal(e.out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.ExecutionARN != tt.want {
				t.Errorf("traced %s, want %s", got.ExecutionARN, tt.want)
			}
		})
	}
}

func TestTraceAcceptsAnExecutionName(t *testing.T) {
	e := newEnv(t).withFailure()
	if code := e.run("trace", failedName); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	calls := e.sfn.Calls("GetExecutionHistory")
	if len(calls) < 2 {
		t.Fatalf("GetExecutionHistory called %d times; the 51-event history in pages of 10 needs 6", len(calls))
	}
	if calls[0].Input["executionArn"] != failedARN {
		t.Errorf("GetExecutionHistory executionArn = %v, want %s", calls[0].Input["executionArn"], failedARN)
	}
}

func TestFailuresPeeksWithoutTakingMessages(t *testing.T) {
	e := newEnv(t).withFailure()
	if code := e.run("failures"); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	if got := e.sqs.Visible(); len(got) != 2 {
		t.Errorf("visible messages after failures = %v, want both still visible", got)
	}
	for _, c := range e.sqs.Calls("ReceiveMessage") {
		if c.Input["VisibilityTimeout"] != float64(operate.PeekVisibility) {
			t.Errorf("ReceiveMessage VisibilityTimeout = %v, want %d", c.Input["VisibilityTimeout"], operate.PeekVisibility)
		}
	}
	changes := e.sqs.Calls("ChangeMessageVisibility")
	if len(changes) != 2 {
		t.Fatalf("ChangeMessageVisibility called %d times, want once per message", len(changes))
	}
	for _, c := range changes {
		if c.Input["VisibilityTimeout"] != float64(0) {
			t.Errorf("ChangeMessageVisibility VisibilityTimeout = %v, want 0", c.Input["VisibilityTimeout"])
		}
	}
	// The failed execution at FilterBySecurityGroup is explained by its
	// message; only an execution without one needs its history read.
	for _, c := range e.sfn.Calls("GetExecutionHistory") {
		if c.Input["executionArn"] == failedARN {
			t.Errorf("read the history of %s although its dead-letter message explains it", failedARN)
		}
	}
}

func TestRetryFromDLQ(t *testing.T) {
	failing := ending{status: "FAILED", errName: "InterfacePlacementFailed", cause: interfaceFailed("eni-0123456789abcdef0 at FilterBySecurityGroup: NoReachableSensor")}
	tests := []struct {
		name        string
		failFor     string
		wantCode    int
		wantLeft    []string
		wantDeleted int
	}{
		{"every message is deleted once its execution succeeded", "", exitOK, nil, 2},
		{"a message whose execution failed stays in the queue, visible", instanceA, exitNotSucceeded, []string{"5fea7756-0ea4-451a-a703-a558b933e274"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withFailure()
			e.sfn.end = func(input string) ending {
				if tt.failFor != "" && strings.Contains(input, tt.failFor) {
					return failing
				}
				return ending{status: "SUCCEEDED", output: placedOutput}
			}
			code := e.run("retry", "--from-dlq", "--timeout", "10s")
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s\nstdout:\n%s", code, tt.wantCode, e.err, e.out)
			}
			if diff := cmp.Diff(tt.wantLeft, e.sqs.Visible()); diff != "" {
				t.Errorf("messages left visible (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLeft, e.sqs.IDs()); diff != "" {
				t.Errorf("messages left in the queue (-want +got):\n%s", diff)
			}
			if n := len(e.sqs.Calls("DeleteMessage")); n != tt.wantDeleted {
				t.Errorf("DeleteMessage called %d times, want %d", n, tt.wantDeleted)
			}
			var inputs []string
			for _, c := range e.sfn.Calls("StartExecution") {
				inputs = append(inputs, c.Input["input"].(string))
				if !strings.HasPrefix(c.Input["name"].(string), "retry-") {
					t.Errorf("execution name %v does not start with retry-", c.Input["name"])
				}
			}
			wantInputs := []string{`{"instanceId":"i-0a1b2c3d4e5f60718"}`, `{"instanceId":"i-0fedcba9876543210"}`}
			if diff := cmp.Diff(wantInputs, inputs); diff != "" {
				t.Errorf("StartExecution inputs (-want +got):\n%s", diff)
			}
			for _, c := range e.sqs.Calls("ReceiveMessage") {
				if v := c.Input["VisibilityTimeout"].(float64); v < 10 {
					t.Errorf("retry received with VisibilityTimeout %v; messages must stay hidden while their executions run", v)
				}
			}
		})
	}
}

func TestRetryDoesNotDeleteBeforeSuccess(t *testing.T) {
	e := newEnv(t).withFailure()
	e.sfn.pollsToEnd = 1 << 30
	if code := e.run("retry", "--from-dlq", "--timeout", "30ms"); code != exitNotSucceeded {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitNotSucceeded, e.err)
	}
	if n := len(e.sqs.Calls("DeleteMessage")); n != 0 {
		t.Errorf("DeleteMessage called %d times while executions still ran", n)
	}
	if got := e.sqs.IDs(); len(got) != 2 {
		t.Errorf("messages in queue = %v, want both", got)
	}
}

func TestRedrive(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantARN    string
		wantOutput string
	}{
		{"an execution ARN is redriven as given", []string{"redrive", abortedARN}, abortedARN, "Redriven  " + abortedARN},
		{"an execution name is redriven under the stack's state machine", []string{"redrive", abortedName}, abortedARN, "Redriven  " + abortedARN},
		{"--wait follows the redriven execution to its end", []string{"redrive", abortedARN, "--wait"}, abortedARN, "Status     SUCCEEDED"},
		{"an error no Catch handles fails the Map, and is redriven: the redrive reruns the failed iteration at its step", []string{"redrive", uncaughtARN}, uncaughtARN, "Redriven  " + uncaughtARN},
		{"an abort inside the Map is redriven at the step the iteration was running", []string{"redrive", abortedName, "--wait"}, abortedARN, "Redrives   1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withFailure()
			e.sfn.loadHistory(abortedARN, "testdata/history-aborted-at-network-acl.json")
			e.sfn.loadHistory(uncaughtARN, "testdata/history-failed-data-limit-at-gather-candidates.json")
			if code := e.run(tt.args...); code != exitOK {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, e.err)
			}
			calls := e.sfn.Calls("RedriveExecution")
			if len(calls) != 1 || calls[0].Input["executionArn"] != tt.wantARN {
				t.Fatalf("RedriveExecution calls = %v, want one for %s", calls, tt.wantARN)
			}
			if tok, _ := calls[0].Input["clientToken"].(string); tok == "" {
				t.Errorf("RedriveExecution sent no clientToken; the SDK fills one so a repeated call is idempotent")
			}
			if !strings.Contains(e.out.String(), tt.wantOutput) {
				t.Errorf("output lacks %q:\n%s", tt.wantOutput, e.out)
			}
		})
	}
}

func TestRedriveRefusesADeadLetteredExecution(t *testing.T) {
	for _, args := range [][]string{{"redrive", failedARN}, {"redrive", failedName, "--wait"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e := newEnv(t).withFailure()
			if code := e.run(args...); code != exitUsage {
				t.Errorf("exit %d, want %d (the wrong command for this execution); stderr:\n%s", code, exitUsage, e.err)
			}
			if n := len(e.sfn.Calls("RedriveExecution")); n != 0 {
				t.Errorf("RedriveExecution called %d times; a redrive would only fail again at PlacementFailed", n)
			}
			want := "mirrorctl redrive: execution " + failedName + " failed at FilterBySecurityGroup (NoReachableSensor) for " + interfaceA +
				" and ended in the dead-letter path; " +
				"a redrive would resume at the Fail state PlacementFailed and fail again without re-running FilterBySecurityGroup. " +
				"Start a new placement with: mirrorctl run --instance " + instanceA + " (or mirrorctl retry --from-dlq)\n"
			if diff := cmp.Diff(want, e.err.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if got := e.sfn.executions[failedARN].status; got != "FAILED" {
				t.Errorf("execution status %s after a refused redrive, want FAILED", got)
			}
		})
	}
}

func TestErrorsNameTheirCause(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		setup    func(*env)
		wantCode int
		wantErr  string
	}{
		{name: "a missing execution", args: []string{"trace", "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:nope"},
			wantCode: exitAWS, wantErr: "the execution does not exist (ExecutionDoesNotExist)"},
		{name: "a missing state machine", args: []string{"run", "--instance", instanceA, "--state-machine", "arn:aws:states:us-east-1:123456789012:stateMachine:Gone"},
			wantCode: exitAWS, wantErr: "the state machine does not exist (StateMachineDoesNotExist)"},
		{name: "a missing stack", args: []string{"failures", "--stack", "Nope"},
			wantCode: exitAWS, wantErr: "stack not found (ValidationError); deploy the stack, or pass --stack"},
		{name: "a missing dead-letter queue", args: []string{"failures", "--queue-url", "https://sqs.us-east-1.amazonaws.com/123456789012/Gone"},
			wantCode: exitAWS, wantErr: "the dead-letter queue does not exist (AWS.SimpleQueueService.NonExistentQueue)"},
		{name: "an execution that cannot be redriven", args: []string{"redrive", failedARN},
			setup:    func(e *env) { e.sfn.executions[failedARN].status = "SUCCEEDED" },
			wantCode: exitAWS, wantErr: "the execution cannot be redriven (ExecutionNotRedrivable)"},
		{name: "no credentials", args: []string{"failures"},
			setup: func(e *env) {
				e.app.loadConfig = func(context.Context, string, string) (aws.Config, error) {
					return aws.Config{Region: region, Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
						return aws.Credentials{}, errors.New("failed to refresh cached credentials, no EC2 IMDS role found")
					}))}, nil
				}
			},
			wantCode: exitAWS, wantErr: "no AWS credentials found"},
		{name: "no Region", args: []string{"failures"},
			setup: func(e *env) {
				e.app.loadConfig = func(context.Context, string, string) (aws.Config, error) { return aws.Config{}, nil }
			},
			wantCode: exitUsage, wantErr: "no AWS Region: pass --region"},
		{name: "an unknown output format", args: []string{"failures", "--output", "yaml"}, wantCode: exitUsage, wantErr: `--output "yaml": must be table or json`},
		{name: "run without an instance", args: []string{"run"}, wantCode: exitUsage, wantErr: "--instance is required"},
		{name: "trace with both an execution and an instance", args: []string{"trace", failedARN, "--instance", instanceA}, wantCode: exitUsage, wantErr: "not both"},
		{name: "retry without a source", args: []string{"retry"}, wantCode: exitUsage, wantErr: "--from-dlq"},
		{name: "an unknown command", args: []string{"plan9"}, wantCode: exitUsage, wantErr: `unknown command "plan9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withFailure()
			if tt.setup != nil {
				tt.setup(e)
			}
			code := e.run(tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(e.err.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, e.err)
			}
		})
	}
}
