package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// account is an offline deployment of the synthesized workflow over one snapshot.
type account struct {
	t    *testing.T
	snap *snapshot.Snapshot
	run  *Run
}

// deploy starts the workflow offline over testdata/snapshots/<name>.json.
func deploy(t *testing.T, name string, sim ec2sim.Options) *account {
	t.Helper()
	snap, err := snapshot.Load(root + "/testdata/snapshots/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return &account{t: t, snap: snap, run: startRun(t, snap, sim)}
}

// startRun deploys the built workflow offline over snap, with every retry
// interval shortened to 10 ms, until the test ends.
func startRun(t testing.TB, snap *snapshot.Snapshot, sim ec2sim.Options) *Run {
	t.Helper()
	fast := 10
	r, err := Start(context.Background(), Options{
		Template: built.Template, Bootstraps: built.Bootstraps, NodeDir: built.NodeDir,
		Snapshot: snap, Simulator: sim, RetryInterval: &fast,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// instance returns the instance whose Name tag is name.
func (a *account) instance(name string) ec2types.Instance {
	a.t.Helper()
	for _, r := range a.snap.Reservations {
		for _, in := range r.Instances {
			for _, tag := range in.Tags {
				if aws.ToString(tag.Key) == "Name" && aws.ToString(tag.Value) == name {
					return in
				}
			}
		}
	}
	a.t.Fatalf("the snapshot has no instance named %s", name)
	return ec2types.Instance{}
}

// place runs one execution for the named instance with the manual input.
func (a *account) place(execution, name string) Result {
	a.t.Helper()
	id := aws.ToString(a.instance(name).InstanceId)
	x, err := a.run.Execute(context.Background(), execution, workflow.ManualInput{InstanceID: id})
	if err != nil {
		a.t.Fatal(err)
	}
	return Summarize(id, x)
}

// primaryENI is the interface a placement mirrors for the named instance.
func (a *account) primaryENI(name string) string {
	a.t.Helper()
	src, err := placement.SourceFromInstance(a.instance(name))
	if err != nil {
		a.t.Fatal(err)
	}
	return src.NetworkInterfaceID
}

// zoneOf is the Availability Zone of a traffic mirror target's interface.
func (a *account) zoneOf(targetID string) string {
	for _, tgt := range a.snap.TrafficMirrorTargets {
		if aws.ToString(tgt.TrafficMirrorTargetId) != targetID {
			continue
		}
		for _, eni := range a.snap.NetworkInterfaces {
			if aws.ToString(eni.NetworkInterfaceId) == aws.ToString(tgt.NetworkInterfaceId) {
				return aws.ToString(eni.AvailabilityZone)
			}
		}
	}
	return ""
}

// sessionsFrom lists the simulator's sessions whose source is eni.
func (a *account) sessionsFrom(eni string) []ec2types.TrafficMirrorSession {
	var out []ec2types.TrafficMirrorSession
	for _, s := range a.run.Sim.Sessions() {
		if aws.ToString(s.NetworkInterfaceId) == eni {
			out = append(out, s)
		}
	}
	return out
}

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func TestEveryRunningInstanceOfTheExampleAccountIsPlacedInItsZone(t *testing.T) {
	a := deploy(t, "three-zones", ec2sim.Options{})
	for _, name := range []string{"app0", "app1", "app2", "app3", "app4", "app5", "app6"} {
		t.Run(name, func(t *testing.T) {
			res := a.place("place-"+name, name)
			in := a.instance(name)
			zone := aws.ToString(in.Placement.AvailabilityZone)
			if name == "app1" {
				// app1 is already mirrored to sensor1 by a seeded session.
				if res.Outcome != workflow.OutcomeExists || res.TargetID != "tmt-7273e72bf6fabc352" {
					t.Fatalf("app1: %+v, want exists on tmt-7273e72bf6fabc352", res)
				}
				return
			}
			if res.Outcome != workflow.OutcomeCreated {
				t.Fatalf("%s: outcome %s (%s), want created", name, res.Outcome, res.Reason)
			}
			if got := a.zoneOf(res.TargetID); got != zone {
				t.Errorf("%s in %s was mirrored to %s in %s: a sensor in its own zone passes every filter", name, zone, res.TargetID, got)
			}
			sessions := a.sessionsFrom(res.NetworkInterfaceID)
			if len(sessions) != 1 {
				t.Fatalf("%d sessions from %s in the simulator, want 1", len(sessions), res.NetworkInterfaceID)
			}
			s := sessions[0]
			if aws.ToString(s.TrafficMirrorSessionId) != res.SessionID || aws.ToString(s.TrafficMirrorTargetId) != res.TargetID ||
				aws.ToString(s.TrafficMirrorFilterId) != a.snap.Config.FilterID || aws.ToInt32(s.SessionNumber) != a.snap.Config.SessionNumber {
				t.Errorf("session %+v does not match the placement %+v and the Config", s, res)
			}
			wantTags := map[string]string{
				steps.TagManagedBy:  steps.ManagedByValue,
				steps.TagExecution:  res.Execution.ExecutionARN,
				steps.TagInstanceID: aws.ToString(in.InstanceId),
			}
			for k, v := range wantTags {
				if got := tagValue(s.Tags, k); got != v {
					t.Errorf("session tag %s = %q, want %q", k, got, v)
				}
			}
		})
	}
	t.Run("no interface has two sessions and no sensor takes more than 10 sources", func(t *testing.T) {
		checkAccount(t, a.run.Sim.Sessions())
	})
}

// checkAccount checks what must hold of an account however its placements
// ran: no source interface holds two sessions, and no interface target
// receives from more source interfaces than the 10 EC2 allows a default
// size (placement.MaxSources).
func checkAccount(t *testing.T, sessions []ec2types.TrafficMirrorSession) {
	t.Helper()
	perSource := map[string]int{}
	sources := map[string]map[string]bool{}
	for _, s := range sessions {
		eni, target := aws.ToString(s.NetworkInterfaceId), aws.ToString(s.TrafficMirrorTargetId)
		perSource[eni]++
		if sources[target] == nil {
			sources[target] = map[string]bool{}
		}
		sources[target][eni] = true
	}
	for eni, n := range perSource {
		if n > 1 {
			t.Errorf("%s has %d sessions, want at most 1", eni, n)
		}
	}
	for target, srcs := range sources {
		if limit := placement.MaxSources(placement.TargetNetworkInterface, ""); len(srcs) > limit {
			t.Errorf("%s receives from %d sources, more than the %d EC2 allows", target, len(srcs), limit)
		}
	}
}

func TestTheEventBridgeStateChangeEventStartsAPlacement(t *testing.T) {
	a := deploy(t, "three-zones", ec2sim.Options{})
	id := aws.ToString(a.instance("app3").InstanceId)
	event := json.RawMessage(fmt.Sprintf(`{
	  "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
	  "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
	  "account": "123456789012", "time": "2026-11-22T10:30:00Z", "region": "us-east-1",
	  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/%[1]s"],
	  "detail": {"instance-id": "%[1]s", "state": "running"}}`, id))
	x, err := a.run.Execute(context.Background(), "event-app3", event)
	if err != nil {
		t.Fatal(err)
	}
	if res := Summarize(id, x); res.Outcome != workflow.OutcomeCreated {
		t.Fatalf("outcome %s (%s), want created", res.Outcome, res.Reason)
	}
}

func TestAnUnplaceableInstanceEndsInTheDeadLetterQueue(t *testing.T) {
	tests := []struct {
		name, snapshot, instance, wantStep, wantReason string
	}{
		{"no security group admits VXLAN from the source", "sg-blocked", "web0", workflow.StepFilterBySG, "no inbound rule admits UDP 4789 from"},
		{"the sensor subnet's ACL denies the packet inbound", "nacl-deny", "db0", workflow.StepFilterByNACL, "rule 90"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := deploy(t, tt.snapshot, ec2sim.Options{})
			res := a.place("unplaceable", tt.instance)
			if res.Outcome != workflow.OutcomeFailed || res.FailedStep != tt.wantStep {
				t.Fatalf("outcome %s at %q (%s), want failed at %s", res.Outcome, res.FailedStep, res.Reason, tt.wantStep)
			}
			// The execution fails after the Map with its own error; its cause
			// names the interface, the step and the step's error.
			wantCause := fmt.Sprintf(`1 source interface(s) could not be placed, each sent to the dead-letter queue with its reason: ["%s at %s: NoReachableSensor"]`,
				a.primaryENI(tt.instance), tt.wantStep)
			if res.Execution.Error != workflow.ErrorInterfacePlacementFailed || res.Execution.Cause != wantCause {
				t.Errorf("execution error %q cause %q, want %s %q", res.Execution.Error, res.Execution.Cause, workflow.ErrorInterfacePlacementFailed, wantCause)
			}
			letters, err := a.run.DeadLetters()
			if err != nil {
				t.Fatal(err)
			}
			if len(letters) != 1 {
				t.Fatalf("%d dead-letter messages, want 1", len(letters))
			}
			dl := letters[0]
			cause, _ := workflow.ParseCause(dl.Cause)
			if dl.Step != tt.wantStep || dl.InstanceID != res.InstanceID || dl.ExecutionID != res.Execution.ExecutionARN ||
				dl.Error != "NoReachableSensor" || !strings.Contains(cause.ErrorMessage, tt.wantReason) {
				t.Errorf("dead-letter message %+v, want step %s, instance %s, NoReachableSensor naming %q", dl, tt.wantStep, res.InstanceID, tt.wantReason)
			}
			var input workflow.ManualInput
			if err := json.Unmarshal(dl.Input, &input); err != nil || input.InstanceID != res.InstanceID {
				t.Errorf("dead-letter input %s does not restart the placement (%v)", dl.Input, err)
			}
			if n := len(a.sessionsFrom(a.primaryENI(tt.instance))); n != 0 {
				t.Errorf("%d sessions were created for an unplaceable instance", n)
			}
			trace := operate.BuildTrace(res.Execution.ExecutionARN, History(res.Execution, json.RawMessage(`{}`)))
			var ran []string
			for _, s := range trace.Steps {
				if _, ok := workflow.StepNamed(s.Step); ok {
					ran = append(ran, s.Step)
				}
			}
			if trace.FailedStep != tt.wantStep || len(ran) == 0 || ran[len(ran)-1] != tt.wantStep {
				t.Errorf("trace failed at %q after steps %v, want %s the last step run", trace.FailedStep, ran, tt.wantStep)
			}
			for _, s := range trace.Steps {
				if s.Retries != 0 {
					t.Errorf("%s was retried %d times: NoReachableSensor is terminal", s.Step, s.Retries)
				}
			}
		})
	}
}

func TestASensorIsNeverMirrored(t *testing.T) {
	a := deploy(t, "sg-blocked", ec2sim.Options{})
	res := a.place("sensor", "sensor-a")
	if res.Outcome != workflow.OutcomeSkipped || !res.Execution.Succeeded() {
		t.Fatalf("outcome %s, status %s (%s), want skipped and succeeded", res.Outcome, res.Execution.Status, res.Reason)
	}
	if letters, _ := a.run.DeadLetters(); len(letters) != 0 {
		t.Errorf("a skipped instance sent %d dead-letter messages", len(letters))
	}
}

func TestInputThatIsNotAPlacementIsRejectedWithoutRetries(t *testing.T) {
	a := deploy(t, "three-zones", ec2sim.Options{})
	x, err := a.run.Execute(context.Background(), "bad-input", json.RawMessage(`{"instance": "app0"}`))
	if err != nil {
		t.Fatal(err)
	}
	if x.Succeeded() || x.Error != "InvalidInput" {
		t.Fatalf("status %s error %q, want FAILED with InvalidInput", x.Status, x.Error)
	}
	letters, err := a.run.DeadLetters()
	if err != nil || len(letters) != 1 {
		t.Fatalf("dead letters %v (%v), want 1", letters, err)
	}
	if dl := letters[0]; dl.Step != workflow.StepCheckExistingSession || dl.InstanceID != "" || string(dl.Input) != `{"instance":"app0"}` {
		t.Errorf("dead-letter message %+v, want step CheckExistingSession with the input kept", dl)
	}
	if got := a.run.Host.Invocations(); len(got) != 1 {
		t.Errorf("invocations %v: only the first step runs for bad input", got)
	}
	for _, e := range x.Events {
		if e.Type == "StateRetried" {
			t.Errorf("%s was retried: InvalidInput is terminal", e.State)
		}
	}
}

func TestThrottledEC2IsRecovered(t *testing.T) {
	tests := []struct {
		name        string
		fault       ec2sim.Fault
		wantRetried string // the state the state machine retried, if any
	}{
		{"the SDK's retries absorb two throttled calls",
			ec2sim.Fault{Action: "DescribeSecurityGroups", Count: 2, Code: "RequestLimitExceeded"}, ""},
		{"the state machine retries EC2Throttled once the SDK gives up",
			ec2sim.Fault{Action: "DescribeNetworkAcls", Count: steps.EC2MaxAttempts, Code: "RequestLimitExceeded"}, workflow.StepFilterByNACL},
		{"the state machine retries EC2Unavailable once the SDK gives up",
			ec2sim.Fault{Action: "DescribeTrafficMirrorTargets", Count: steps.EC2MaxAttempts, Code: "Unavailable"}, workflow.StepCheckExistingSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := deploy(t, "three-zones", ec2sim.Options{Faults: []ec2sim.Fault{tt.fault}})
			res := a.place("throttled", "app2")
			if res.Outcome != workflow.OutcomeCreated {
				t.Fatalf("outcome %s (%s), want created", res.Outcome, res.Reason)
			}
			retried := map[string]int{}
			for _, e := range res.Execution.Events {
				if e.Type == "StateRetried" {
					retried[e.State]++
				}
			}
			switch {
			case tt.wantRetried == "" && len(retried) != 0:
				t.Errorf("the state machine retried %v; the SDK should have absorbed the faults", retried)
			case tt.wantRetried != "" && (retried[tt.wantRetried] != 1 || len(retried) != 1):
				t.Errorf("the state machine retried %v, want %s once", retried, tt.wantRetried)
			}
			if got, want := a.run.Sim.Calls()[tt.fault.Action], tt.fault.Count+1; got < want {
				t.Errorf("%s was called %d times, want at least %d (every fault plus the call that succeeded)", tt.fault.Action, got, want)
			}
		})
	}
	t.Run("every placement of the account succeeds under AWS's token buckets made small", func(t *testing.T) {
		a := deploy(t, "three-zones", ec2sim.Options{Throttling: &ec2sim.Throttling{
			NonMutating: ec2sim.Bucket{Size: 4, RefillPerSecond: 20},
			Mutating:    ec2sim.Bucket{Size: 1, RefillPerSecond: 5},
			CreateTags:  ec2sim.Bucket{Size: 1, RefillPerSecond: 5},
		}})
		var wg sync.WaitGroup
		results := make(chan Result, 7)
		for i := 0; i < 7; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- a.place(fmt.Sprintf("burst-%d", i), fmt.Sprintf("app%d", i))
			}()
		}
		wg.Wait()
		close(results)
		for res := range results {
			if res.Outcome != workflow.OutcomeCreated && res.Outcome != workflow.OutcomeExists {
				t.Errorf("%s: outcome %s (%s)", res.InstanceID, res.Outcome, res.Reason)
			}
		}
	})
}

func TestADuplicateRunCreatesNoSecondSession(t *testing.T) {
	a := deploy(t, "three-zones", ec2sim.Options{})
	eni := a.primaryENI("app0")
	// EventBridge delivers at least once: two executions for one instance may run at once.
	var wg sync.WaitGroup
	outcomes := make(chan workflow.Outcome, 2)
	for _, name := range []string{"first", "duplicate"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := a.place(name, "app0")
			outcomes <- res.Outcome
			if res.Outcome == workflow.OutcomeFailed {
				t.Errorf("%s: failed (%s)", name, res.Reason)
			}
		}()
	}
	wg.Wait()
	close(outcomes)
	got := map[workflow.Outcome]int{}
	for o := range outcomes {
		got[o]++
	}
	if got[workflow.OutcomeCreated] != 1 || got[workflow.OutcomeExists] != 1 {
		t.Errorf("outcomes %v, want one created and one exists", got)
	}
	if res := a.place("later", "app0"); res.Outcome != workflow.OutcomeExists {
		t.Errorf("a later run: %s, want exists", res.Outcome)
	}
	if n := len(a.sessionsFrom(eni)); n != 1 {
		t.Errorf("%d sessions from %s, want exactly 1", n, eni)
	}
}
