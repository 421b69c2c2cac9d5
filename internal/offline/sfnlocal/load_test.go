package sfnlocal

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodeMaxTimerSeconds is the longest timer Node arms, (2^31-1) ms, in whole
// seconds: the runner's stand-in for AWS's 99999999.
const nodeMaxTimerSeconds = 2147483

// effectiveStates runs sfn-runner --print-definition on definition and
// returns every state of what it would execute, nested ones included, by name.
func effectiveStates(t *testing.T, definition string) map[string]map[string]any {
	t.Helper()
	abs, err := filepath.Abs(definition)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "sfn-runner.mjs", "--print-definition", "--definition", abs)
	cmd.Dir = nodeDir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sfn-runner --print-definition: %v\n%s", err, out)
	}
	var def map[string]any
	if err := json.Unmarshal(out, &def); err != nil {
		t.Fatalf("decoding the printed definition: %v\n%s", err, out)
	}
	states := map[string]map[string]any{}
	var walk func(machine map[string]any)
	walk = func(machine map[string]any) {
		m, _ := machine["States"].(map[string]any)
		for name, raw := range m {
			state, _ := raw.(map[string]any)
			states[name] = state
			branches, _ := state["Branches"].([]any)
			for _, b := range branches {
				branch, _ := b.(map[string]any)
				walk(branch)
			}
			if proc, ok := state["ItemProcessor"].(map[string]any); ok {
				walk(proc)
			}
		}
	}
	walk(def)
	return states
}

func TestTaskStatesWithoutTimeoutSecondsGetAWSsDefault(t *testing.T) {
	// That the engine honours the default (and does not fire a timer that
	// overflowed after 1 ms) TestExecute shows: its Probe task sets none.
	states := effectiveStates(t, "testdata/timeouts.asl.json")
	tests := []struct {
		name        string
		state       string
		wantTimeout any // TimeoutSeconds as decoded from JSON; nil when absent
		wantPath    any
	}{
		{name: "a Task without TimeoutSeconds gets AWS's default, as far as Node's timers reach", state: "NoTimeout", wantTimeout: float64(nodeMaxTimerSeconds)},
		{name: "an explicit TimeoutSeconds is kept", state: "Explicit", wantTimeout: float64(5)},
		{name: "a TimeoutSecondsPath is left to the execution", state: "FromPath", wantPath: "$.timeout"},
		{name: "a Task in a Parallel branch gets the default too", state: "InBranch", wantTimeout: float64(nodeMaxTimerSeconds)},
		{name: "a Task in a Map's ItemProcessor gets the default too", state: "InMap", wantTimeout: float64(nodeMaxTimerSeconds)},
		{name: "a state that is not a Task gets no TimeoutSeconds", state: "Done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, ok := states[tt.state]
			if !ok {
				t.Fatalf("the printed definition has no state %s", tt.state)
			}
			if got := state["TimeoutSeconds"]; got != tt.wantTimeout {
				t.Errorf("TimeoutSeconds = %v, want %v", got, tt.wantTimeout)
			}
			if got := state["TimeoutSecondsPath"]; got != tt.wantPath {
				t.Errorf("TimeoutSecondsPath = %v, want %v", got, tt.wantPath)
			}
		})
	}
}

func TestAnExplicitTaskTimeoutStillEndsTheTask(t *testing.T) {
	eng, _, _ := engineOn(t, "testdata/explicit-timeout.asl.json")
	x, err := eng.Execute(context.Background(), "slow", json.RawMessage(`{"sleepMs":1500}`))
	if err != nil {
		t.Fatal(err)
	}
	if x.Succeeded() || x.Error != "States.Timeout" {
		t.Fatalf("status %s error %q, want FAILED with States.Timeout after the state's 1 s", x.Status, x.Error)
	}
}

func TestAThrottledLambdaIsRetriedAsTooManyRequests(t *testing.T) {
	const probe = "arn:aws:lambda:us-east-1:123456789012:function:Probe"
	eng, host, _ := engineOn(t, "testdata/throttled.asl.json")
	ctx := context.Background()

	// The holder's invocation waits for the gate file, keeping the probe's
	// only execution environment busy.
	gate := filepath.Join(t.TempDir(), "open")
	holding, err := json.Marshal(map[string]string{"waitFor": gate})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		x   Execution
		err error
	}
	holder := make(chan answer, 1)
	go func() {
		x, err := eng.Execute(ctx, "holder", holding)
		holder <- answer{x, err}
	}()
	for deadline := time.Now().Add(30 * time.Second); host.InFlight(probe) != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the holder's invocation never reached the probe")
		}
	}

	x, err := eng.Execute(ctx, "throttled", json.RawMessage(`{"echo":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if x.Succeeded() || x.Error != "Lambda.TooManyRequestsException" {
		t.Errorf("status %s error %q, want FAILED with Lambda.TooManyRequestsException once the retries are spent", x.Status, x.Error)
	}
	retried := 0
	for _, e := range x.Events {
		if e.Type == "StateRetried" {
			retried++
		}
	}
	if retried != 2 {
		t.Errorf("%d StateRetried events, want the Retry's MaxAttempts, 2", retried)
	}
	if got := host.Throttles()[probe]; got != 3 {
		t.Errorf("the host throttled %d invokes, want 1 + 2 retries", got)
	}

	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if a := <-holder; a.err != nil || !a.x.Succeeded() {
		t.Errorf("the holder: %v, status %s error %q", a.err, a.x.Status, a.x.Error)
	}
}
