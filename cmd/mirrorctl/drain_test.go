package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
)

// unknownTarget has a target id's shape and names none in three-zones.json.
const unknownTarget = "tmt-0000000000000000a"

// withAccount serves the EC2 simulator, seeded from three-zones.json, as
// mirrorctl's EC2 endpoint, and returns a client of it for the test's own
// look at the account.
func (e *env) withAccount() (*ec2sim.Sim, *ec2.Client) {
	e.t.Helper()
	snap, err := snapshot.Load(threeZones)
	if err != nil {
		e.t.Fatal(err)
	}
	sim := ec2sim.New(snap, ec2sim.Options{Seed: simSeed, RecordRequests: true})
	endpoint, err := sim.Start(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sim.Close() })
	e.app.endpoints[ec2.ServiceID] = endpoint
	return sim, ec2sim.NewClient(endpoint, func(o *ec2.Options) { o.HTTPClient = testHTTPClient })
}

// targetTags are the tags of every target in the account, by target id.
func targetTags(t *testing.T, client *ec2.Client) map[string][]string {
	t.Helper()
	targets, err := ec2api.TrafficMirrorTargetsAsList(context.Background(), client, &ec2.DescribeTrafficMirrorTargetsInput{})
	if err != nil {
		t.Fatalf("describing the targets: %v", err)
	}
	return tagsByTarget(targets)
}

func tagsByTarget(targets []ec2types.TrafficMirrorTarget) map[string][]string {
	out := map[string][]string{}
	for _, tg := range targets {
		tags := []string{}
		for _, tag := range tg.Tags {
			tags = append(tags, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		out[aws.ToString(tg.TrafficMirrorTargetId)] = tags
	}
	return out
}

// seededTags are the target tags of three-zones.json as the file has them.
func seededTags(t *testing.T) map[string][]string {
	t.Helper()
	snap, err := snapshot.Load(threeZones)
	if err != nil {
		t.Fatal(err)
	}
	return tagsByTarget(snap.TrafficMirrorTargets)
}

var drainingTag = placement.DrainingTagKey + "=" + placement.DrainingTagValue

func TestDrainTagsTheTargetAndStartsOneReconcile(t *testing.T) {
	e := newEnv(t).withReconcile()
	sim, client := e.withAccount()
	if code := e.run("drain", threeZonesSensor, "--output", "json"); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	want := seededTags(t)
	want[threeZonesSensor] = append(want[threeZonesSensor], drainingTag)
	if diff := cmp.Diff(want, targetTags(t, client)); diff != "" {
		t.Errorf("target tags after drain (-want +got):\n%s", diff)
	}
	if n := sim.Calls()["CreateTags"]; n != 1 {
		t.Errorf("CreateTags called %d times, want 1", n)
	}
	calls := e.sfn.Calls("StartExecution")
	if len(calls) != 1 {
		t.Fatalf("StartExecution called %d times, want 1", len(calls))
	}
	wantStart := map[string]any{
		"stateMachineArn": reconcileStateMachine,
		"name":            "mirrorctl-drain-" + threeZonesSensor + "-1795345200",
		"input":           `{"trigger": "mirrorctl"}`,
	}
	if diff := cmp.Diff(wantStart, calls[0].Input); diff != "" {
		t.Errorf("StartExecution input (-want +got):\n%s", diff)
	}
	var got drained
	if err := json.Unmarshal(e.out.Bytes(), &got); err != nil {
		t.Fatalf("decoding the drain: %v\n%s", err, e.out)
	}
	// sensor0 receives from three source interfaces, one session each.
	if got.AlreadyDraining || got.Load.Sources != 3 || got.Load.Sessions != 3 {
		t.Errorf("drain said already draining %v, load %+v; want a new drain of 3 sources in 3 sessions", got.AlreadyDraining, got.Load)
	}
	if wantARN := "arn:aws:states:us-east-1:123456789012:execution:MirrorflowReconcile:" + wantStart["name"].(string); got.Reconcile.ExecutionARN != wantARN {
		t.Errorf("printed execution %q, want %q", got.Reconcile.ExecutionARN, wantARN)
	}
}

func TestDrainOfADrainingTargetTagsNothingAndReconcilesAgain(t *testing.T) {
	e := newEnv(t).withReconcile()
	sim, client := e.withAccount()
	if code := e.run("drain", threeZonesSensor); code != exitOK {
		t.Fatalf("first drain: exit %d, stderr:\n%s", code, e.err)
	}
	sim.ResetCalls()
	e.app.now = func() time.Time { return time.Unix(1795345260, 0).UTC() }
	if code := e.run("drain", threeZonesSensor); code != exitOK {
		t.Fatalf("second drain: exit %d, stderr:\n%s", code, e.err)
	}
	if !strings.Contains(e.out.String(), threeZonesSensor+" was already draining") {
		t.Errorf("the second drain does not say the target was already draining:\n%s", e.out)
	}
	if n := sim.Calls()["CreateTags"]; n != 0 {
		t.Errorf("CreateTags called %d times on a draining target, want 0", n)
	}
	if n := len(e.sfn.Calls("StartExecution")); n != 2 {
		t.Errorf("StartExecution called %d times over two drains, want 2", n)
	}
	if got := targetTags(t, client)[threeZonesSensor]; strings.Count(strings.Join(got, ","), drainingTag) != 1 {
		t.Errorf("tags of %s = %v, want %s once", threeZonesSensor, got, drainingTag)
	}
}

func TestDrainWait(t *testing.T) {
	tests := []struct {
		name       string
		ending     ending
		wantCode   int
		wantOutput []string
		wantErr    string
	}{
		{"a Reconcile that succeeds exits 0 and prints its output",
			ending{status: "SUCCEEDED", output: reconcileSummary},
			exitOK, []string{"Status    SUCCEEDED", `"placed": 6`}, ""},
		{"a Reconcile that fails exits 4 and says how",
			ending{status: "FAILED", errName: "States.TaskFailed", cause: "EC2 throttled DescribeInstances"},
			exitNotSucceeded, []string{"Status    FAILED: States.TaskFailed", "Cause     EC2 throttled DescribeInstances"},
			"mirrorctl drain: mirrorctl-drain-" + threeZonesSensor + "-1795345200 ended FAILED: the reconcile did not succeed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withReconcile()
			e.withAccount()
			e.sfn.pollsToEnd = 2
			e.sfn.end = func(string) ending { return tt.ending }
			if code := e.run("drain", threeZonesSensor, "--wait", "--timeout", "10s"); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, e.err)
			}
			for _, w := range tt.wantOutput {
				if !strings.Contains(e.out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, e.out)
				}
			}
			if !strings.Contains(e.err.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, e.err)
			}
			if n := len(e.sfn.Calls("DescribeExecution")); n != 3 {
				t.Errorf("DescribeExecution polled %d times, want 3 (RUNNING twice, then ended)", n)
			}
		})
	}
}

// TestDrainRefusesChangingNothing checks that a drain that cannot be done
// tags nothing and starts nothing.
func TestDrainRefusesChangingNothing(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		setup    func(*env)
		wantCode int
		wantErr  string
	}{
		{name: "an instance id is not a target id", args: []string{"drain", instanceA},
			wantCode: exitUsage, wantErr: `"` + instanceA + `" is not a traffic mirror target id (tmt- followed by 17 hex digits)`},
		{name: "a short target id is malformed", args: []string{"drain", "tmt-0a1b2c3d"},
			wantCode: exitUsage, wantErr: `"tmt-0a1b2c3d" is not a traffic mirror target id`},
		{name: "no target", args: []string{"drain"}, wantCode: exitUsage, wantErr: "drain takes one traffic mirror target id"},
		{name: "a well-formed id of no target in the account", args: []string{"drain", unknownTarget},
			wantCode: exitUsage, wantErr: unknownTarget + " is not a traffic mirror target in this account and Region"},
		{name: "a stack without the Reconcile output", args: []string{"drain", threeZonesSensor},
			setup:    func(e *env) { delete(e.cfn.stacks["Mirrorflow"], "ReconcileStateMachineArn") },
			wantCode: exitAWS,
			wantErr: "reading the outputs of stack Mirrorflow: the stack has no ReconcileStateMachineArn output: " +
				"deploy this version, or pass --reconcile-state-machine ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withReconcile()
			sim, client := e.withAccount()
			if tt.setup != nil {
				tt.setup(e)
			}
			if code := e.run(tt.args...); code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(e.err.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, e.err)
			}
			if n := sim.Calls()["CreateTags"]; n != 0 {
				t.Errorf("CreateTags called %d times", n)
			}
			if n := len(e.sfn.Calls("StartExecution")); n != 0 {
				t.Errorf("StartExecution called %d times", n)
			}
			if diff := cmp.Diff(seededTags(t), targetTags(t, client)); diff != "" {
				t.Errorf("a refused drain changed the targets' tags (-snapshot +after):\n%s", diff)
			}
		})
	}
}

// TestDrainThatCannotStartTheReconcileSaysTheTargetIsDraining checks the
// one failure after the tag is set: the drain is half done, and the
// message says what is left to do.
func TestDrainThatCannotStartTheReconcileSaysTheTargetIsDraining(t *testing.T) {
	e := newEnv(t).withReconcile()
	_, client := e.withAccount()
	code := e.run("drain", threeZonesSensor, "--reconcile-state-machine", "arn:aws:states:us-east-1:123456789012:stateMachine:Gone")
	if code != exitAWS {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitAWS, e.err)
	}
	want := "mirrorctl drain: " + threeZonesSensor + " is draining, but its sources were not moved: starting execution"
	if !strings.HasPrefix(e.err.String(), want) || !strings.Contains(e.err.String(), "run mirrorctl reconcile to move them") {
		t.Errorf("stderr = %q, want it to start %q and say to run reconcile", e.err, want)
	}
	if got := targetTags(t, client)[threeZonesSensor]; !slices.Contains(got, drainingTag) {
		t.Errorf("tags of %s = %v, want %s kept: the drain is half done, not undone", threeZonesSensor, got, drainingTag)
	}
	if n := len(e.cfn.Calls("DescribeStacks")); n != 0 {
		t.Errorf("DescribeStacks called %d times although --reconcile-state-machine was given", n)
	}
}

func TestUndrain(t *testing.T) {
	tests := []struct {
		name string
		// before are the commands run first.
		before     [][]string
		wantTags   []string
		wantOutput string
		// wantDeleteTags are the DeleteTags requests' tag parameters.
		wantDeleteTags []map[string]string
	}{
		{"undrain removes the tag drain set, naming its value, and starts nothing",
			[][]string{{"drain", threeZonesSensor}},
			[]string{"Name=sensor0", "mirrorflow:sensor=true"},
			threeZonesSensor + " is no longer draining: removed mirrorflow:draining=true; new placements may choose it again.",
			[]map[string]string{{"ResourceId.1": threeZonesSensor, "Tag.1.Key": "mirrorflow:draining", "Tag.1.Value": "true"}}},
		{"undrain of a target that is not draining says so and changes nothing",
			nil,
			[]string{"Name=sensor0", "mirrorflow:sensor=true"},
			threeZonesSensor + " was not draining (no mirrorflow:draining=true tag); nothing to remove.",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).withReconcile()
			sim, client := e.withAccount()
			for _, args := range tt.before {
				if code := e.run(args...); code != exitOK {
					t.Fatalf("%v: exit %d, stderr:\n%s", args, code, e.err)
				}
			}
			sim.ResetCalls()
			e.sfn.Reset()
			e.cfn.Reset()
			if code := e.run("undrain", threeZonesSensor); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, e.err)
			}
			if diff := cmp.Diff(tt.wantTags, targetTags(t, client)[threeZonesSensor]); diff != "" {
				t.Errorf("tags of %s after undrain (-want +got):\n%s", threeZonesSensor, diff)
			}
			if !strings.Contains(e.out.String(), tt.wantOutput) || !strings.Contains(e.out.String(), "Nothing was started") {
				t.Errorf("output lacks %q and that nothing was started:\n%s", tt.wantOutput, e.out)
			}
			if n := len(e.sfn.Calls("StartExecution")); n != 0 {
				t.Errorf("undrain started %d executions, want none", n)
			}
			if n := len(e.cfn.Calls("DescribeStacks")); n != 0 {
				t.Errorf("undrain read the stack %d times; it needs no state machine", n)
			}
			var deletes []map[string]string
			for _, r := range sim.Requests("DeleteTags") {
				params := map[string]string{}
				for k, v := range r.Params {
					if k != "Action" && k != "Version" {
						params[k] = v[0]
					}
				}
				deletes = append(deletes, params)
			}
			if diff := cmp.Diff(tt.wantDeleteTags, deletes); diff != "" {
				t.Errorf("DeleteTags requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUndrainLeavesATagOfAnotherValue checks that undrain deletes the tag
// with its value: mirrorflow:draining=false never meant draining, and is
// someone else's to remove.
func TestUndrainLeavesATagOfAnotherValue(t *testing.T) {
	e := newEnv(t)
	sim, client := e.withAccount()
	if _, err := client.CreateTags(t.Context(), &ec2.CreateTagsInput{Resources: []string{threeZonesSensor},
		Tags: []ec2types.Tag{{Key: aws.String(placement.DrainingTagKey), Value: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	sim.ResetCalls()
	if code := e.run("undrain", threeZonesSensor); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	want := []string{"Name=sensor0", "mirrorflow:sensor=true", "mirrorflow:draining=false"}
	if diff := cmp.Diff(want, targetTags(t, client)[threeZonesSensor]); diff != "" {
		t.Errorf("tags of %s after undrain (-want +got):\n%s", threeZonesSensor, diff)
	}
	if !strings.Contains(e.out.String(), "was not draining") {
		t.Errorf("output does not say the target was not draining:\n%s", e.out)
	}
}

func TestUndrainRefusesChangingNothing(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		wantErr string
	}{
		{"a malformed id", "sensor0", `"sensor0" is not a traffic mirror target id`},
		{"a well-formed id of no target in the account", unknownTarget, unknownTarget + " is not a traffic mirror target in this account and Region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			sim, client := e.withAccount()
			if code := e.run("undrain", tt.target); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(e.err.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, e.err)
			}
			if n := sim.Calls()["DeleteTags"]; n != 0 {
				t.Errorf("DeleteTags called %d times", n)
			}
			if diff := cmp.Diff(seededTags(t), targetTags(t, client)); diff != "" {
				t.Errorf("a refused undrain changed the targets' tags (-snapshot +after):\n%s", diff)
			}
		})
	}
}

// TestGoldenDrain records what README.md quotes under "Drain a sensor": a
// drain of three-zones.json's sensor0 in the EC2 simulator, its Reconcile
// followed to the end in the Step Functions fake, then the undrain.
func TestGoldenDrain(t *testing.T) {
	e := newEnv(t).withReconcile()
	e.withAccount()
	steps := []struct {
		args   []string
		golden string
	}{
		{[]string{"drain", threeZonesSensor, "--wait"}, "drain-wait.golden.txt"},
		{[]string{"undrain", threeZonesSensor}, "undrain.golden.txt"},
		{[]string{"reconcile", "--wait"}, "reconcile-wait.golden.txt"},
	}
	for _, s := range steps {
		if code := e.run(s.args...); code != exitOK {
			t.Fatalf("%v: exit %d, stderr:\n%s", s.args, code, e.err)
		}
		if e.err.Len() != 0 {
			t.Errorf("%v: stderr is not empty:\n%s", s.args, e.err)
		}
		golden(t, s.golden, e.out.Bytes())
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, quoted := range []string{"drain-wait.golden.txt", "undrain.golden.txt"} {
		want, err := os.ReadFile(filepath.Join("testdata", quoted))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), string(want)) {
			t.Errorf("README.md no longer quotes testdata/%s as it is; copy it into \"Drain a sensor\"", quoted)
		}
	}
}
