package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

const (
	reconcileStateMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:MirrorflowReconcile"
	// reconcileName is mirrorctl-<unix time> at the env's clock, 2026-11-22T11:00:00Z.
	reconcileName = "mirrorctl-1795345200"
)

// reconcileSummary stands in for the Reconcile state machine's output, a
// workflow.ReconcileState after its last page: the fake ends its executions
// with it. The three sessions a drain leaves stale are three unmirrored
// interfaces, each placed again by its own placement, which deletes them.
var reconcileSummary = func() string {
	b, err := json.Marshal(workflow.ReconcileState{Trigger: "mirrorctl", Totals: workflow.ReconcileTotals{
		Pages: 1, Judged: workflow.ReconcileCounts{Mirrored: 1, Unmirrored: 6, Stale: 3}, Placed: 6,
	}})
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// withReconcile adds the Reconcile state machine to the deployment: the
// stack's ReconcileStateMachineArn output and the machine in the fake.
func (e *env) withReconcile() *env {
	e.cfn.stacks["Mirrorflow"]["ReconcileStateMachineArn"] = reconcileStateMachine
	e.sfn.stateMachines[reconcileStateMachine] = true
	e.sfn.end = func(string) ending { return ending{status: "SUCCEEDED", output: reconcileSummary} }
	return e
}

func TestReconcileStartsOneNamedExecution(t *testing.T) {
	e := newEnv(t).withReconcile()
	if code := e.run("reconcile"); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	calls := e.sfn.Calls("StartExecution")
	if len(calls) != 1 {
		t.Fatalf("StartExecution called %d times, want 1", len(calls))
	}
	want := map[string]any{"stateMachineArn": reconcileStateMachine, "name": reconcileName, "input": `{"trigger": "mirrorctl"}`}
	if diff := cmp.Diff(want, calls[0].Input); diff != "" {
		t.Errorf("StartExecution input (-want +got):\n%s", diff)
	}
	if arn := "arn:aws:states:us-east-1:123456789012:execution:MirrorflowReconcile:" + reconcileName; !strings.Contains(e.out.String(), "ARN       "+arn) {
		t.Errorf("reconcile did not print the execution's ARN %s:\n%s", arn, e.out)
	}
	if n := len(e.sfn.Calls("DescribeExecution")); n != 0 {
		t.Errorf("reconcile without --wait polled %d times", n)
	}
}

func TestReconcileWait(t *testing.T) {
	tests := []struct {
		name       string
		ending     ending
		pollsToEnd int
		wantCode   int
		wantOutput string
		wantErr    string
	}{
		{"a Reconcile that succeeds exits 0 and prints its summary",
			ending{status: "SUCCEEDED", output: reconcileSummary}, 2,
			exitOK, "Output\n  {\n    \"trigger\": \"mirrorctl\",\n    \"nextToken\": \"\",\n    \"totals\": {", ""},
		{"a Reconcile that fails exits 4",
			ending{status: "FAILED", errName: "States.Timeout"}, 2,
			exitNotSucceeded, "Status    FAILED: States.Timeout", reconcileName + " ended FAILED: the reconcile did not succeed"},
		{"a Reconcile still running at the timeout exits 4",
			ending{status: "SUCCEEDED", output: reconcileSummary}, 1 << 30,
			exitNotSucceeded, "Status    RUNNING", reconcileName + " still RUNNING after 30ms: the reconcile did not succeed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withReconcile()
			e.sfn.pollsToEnd = tt.pollsToEnd
			e.sfn.end = func(string) ending { return tt.ending }
			timeout := "10s"
			if tt.pollsToEnd > 2 {
				timeout = "30ms"
			}
			if code := e.run("reconcile", "--wait", "--timeout", timeout); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, e.err)
			}
			if !strings.Contains(e.out.String(), tt.wantOutput) {
				t.Errorf("output lacks %q:\n%s", tt.wantOutput, e.out)
			}
			if !strings.Contains(e.err.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, e.err)
			}
		})
	}
}

func TestReconcileFindsItsStateMachine(t *testing.T) {
	const flagged = "arn:aws:states:us-east-1:123456789012:stateMachine:FromTheFlag"
	tests := []struct {
		name      string
		args      []string
		setup     func(*env)
		wantCode  int
		wantErr   string
		wantStart string
		wantReads int
	}{
		{name: "from the stack's ReconcileStateMachineArn output", args: []string{"reconcile"},
			wantCode: exitOK, wantStart: reconcileStateMachine, wantReads: 1},
		{name: "from --reconcile-state-machine, without reading the stack", args: []string{"reconcile", "--reconcile-state-machine", flagged},
			setup:    func(e *env) { e.sfn.stateMachines[flagged] = true },
			wantCode: exitOK, wantStart: flagged, wantReads: 0},
		{name: "a stack deployed before the output existed says what to do", args: []string{"reconcile"},
			setup:    func(e *env) { delete(e.cfn.stacks["Mirrorflow"], "ReconcileStateMachineArn") },
			wantCode: exitAWS, wantReads: 1,
			wantErr: "mirrorctl reconcile: reading the outputs of stack Mirrorflow: the stack has no ReconcileStateMachineArn output: " +
				"deploy this version, or pass --reconcile-state-machine ARN\n"},
		{name: "--reconcile-state-machine means nothing to plan", args: []string{"plan", "--live", "--reconcile-state-machine", flagged},
			wantCode: exitUsage, wantErr: "--reconcile-state-machine does not apply here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withReconcile()
			if tt.setup != nil {
				tt.setup(e)
			}
			if code := e.run(tt.args...); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, e.err)
			}
			if !strings.Contains(e.err.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to hold %q", e.err, tt.wantErr)
			}
			var started []string
			for _, c := range e.sfn.Calls("StartExecution") {
				started = append(started, c.Input["stateMachineArn"].(string))
			}
			var want []string
			if tt.wantStart != "" {
				want = []string{tt.wantStart}
			}
			if diff := cmp.Diff(want, started); diff != "" {
				t.Errorf("executions started on (-want +got):\n%s", diff)
			}
			if n := len(e.cfn.Calls("DescribeStacks")); n != tt.wantReads {
				t.Errorf("DescribeStacks called %d times, want %d", n, tt.wantReads)
			}
		})
	}
}

// TestDeploymentFromStackReadsTheReconcileOutput checks the output is read
// when present and optional when absent: the placement commands still work
// against a stack deployed before the Reconcile state machine existed.
func TestDeploymentFromStackReadsTheReconcileOutput(t *testing.T) {
	tests := []struct {
		name string
		// withOutput adds ReconcileStateMachineArn to the stack.
		withOutput bool
		want       operate.Deployment
	}{
		{"a stack with the output names the Reconcile state machine", true, operate.Deployment{
			StateMachineARN: stateMachine, QueueURL: queueURL, QueueARN: "arn:aws:sqs:us-east-1:123456789012:Mirrorflow-DeadLetterQueue",
			ReconcileStateMachineARN: reconcileStateMachine}},
		{"an older stack without it still gives the rest", false, operate.Deployment{
			StateMachineARN: stateMachine, QueueURL: queueURL, QueueARN: "arn:aws:sqs:us-east-1:123456789012:Mirrorflow-DeadLetterQueue"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.withOutput {
				e.withReconcile()
			}
			cfg, err := e.app.loadConfig(t.Context(), region, "")
			if err != nil {
				t.Fatal(err)
			}
			cfn := cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { e.app.overrideEndpoint(cloudformation.ServiceID, &o.BaseEndpoint) })
			got, err := operate.DeploymentFromStack(t.Context(), cfn, "Mirrorflow")
			if err != nil {
				t.Fatalf("DeploymentFromStack: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deployment (-want +got):\n%s", diff)
			}
		})
	}
}
