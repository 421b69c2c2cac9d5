package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// maxPayload is Step Functions' quota on a state's input or output, and on
// a task's result: 256 KiB of UTF-8 (Step Functions service quotas, "Maximum
// input or output size for a task, state, or execution"). Past it an
// execution fails with States.DataLimitExceeded, which no Catch handles.
const maxPayload = 256 * 1024

// lambdaInvokeOverhead is what the lambda:invoke integration wraps around
// the function's result before OutputPath selects $.Payload (StatusCode,
// ExecutedVersion, SdkHttpMetadata, SdkResponseMetadata): a task's result
// must fit with it.
const lambdaInvokeOverhead = 1024

// TestPlacementPayloadFitsStepFunctionsQuota runs the candidate steps over
// an account with hundreds of sensors, all reachable and all rejected, and
// checks every step's input and result, the payload a Catch builds with the
// step's error beside it, and the dead-letter message, against the quota.
// It logs the bytes each candidate costs, from which the fleet that fits
// follows.
//
// Each candidate costs about 450 bytes in Candidates plus its id in every
// step's report, so a placement fits up to about 490 candidate sensors; an
// account may tag up to 10,000 traffic mirror targets (Traffic Mirroring
// quotas), so GatherCandidates refuses more than MaxCandidates with a named
// error (TestTooManyCandidatesFailAtGatherCandidates). The test runs at
// MaxCandidates, the scenario's own 4 sensors included.
func TestPlacementPayloadFitsStepFunctionsQuota(t *testing.T) {
	const sensors = MaxCandidates - 4
	tests := []struct {
		name string
		// far puts the sensors in another zone with LocalZoneOnly, so the
		// zone step rejects every one of them (the scenario's own sensors
		// place the instance still).
		far bool
	}{
		{name: "every sensor reachable: the payload carries them all to PickLeastLoaded"},
		{name: "every new sensor rejected: the report lists the first ones and counts the rest", far: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, cfg := loadScenario(t)
			zone := "us-east-1a"
			if tt.far {
				zone, cfg.LocalZoneOnly = "us-east-1b", true
			}
			addSensorsIn(acct, cfg.SensorTag, sensors, zone)
			h := New(acct.Client, acct.ELBv2, cfg)
			p := primaryOf(t, h, app0)
			largest := 0
			fits := func(what string, v any, overhead int) {
				t.Helper()
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				largest = max(largest, len(b))
				if len(b)+overhead > maxPayload {
					t.Errorf("%s is %d bytes (+%d), over Step Functions' %d", what, len(b), overhead, maxPayload)
				}
			}
			before, _ := json.Marshal(p)
			for _, s := range workflow.Steps[1:] {
				fits(s.Name+"'s input", p, 0)
				out, err := laterSteps[s.Name](h, context.Background(), p)
				if err != nil {
					// The Catch puts the error at $.failure beside the input;
					// the dead-letter message copies its cause.
					cause, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "NoReachableSensor"})
					caught := struct {
						workflow.Placement
						Failure workflow.CaughtError `json:"failure"`
					}{p, workflow.CaughtError{Error: "NoReachableSensor", Cause: string(cause)}}
					fits(s.Name+"'s caught error beside its input", caught, 0)
					fits("the dead-letter message", workflow.DeadLetter{Step: s.Name, InstanceID: p.InstanceID,
						NetworkInterfaceID: p.Source.NetworkInterfaceID, ExecutionID: p.ExecutionID,
						Input: json.RawMessage(`{"instanceId":"` + p.InstanceID + `"}`), Error: "NoReachableSensor", Cause: string(cause)}, 0)
					if !tt.far {
						t.Fatalf("%s: %v", s.Name, err)
					}
					break
				}
				fits(s.Name+"'s result", out, lambdaInvokeOverhead)
				p = out
			}
			for _, r := range p.Steps {
				if len(r.Rejected) > steperr.MaxListedRejections {
					t.Errorf("%s's report lists %d rejections, want at most %d", r.Step, len(r.Rejected), steperr.MaxListedRejections)
				}
			}
			t.Logf("%d sensors: largest payload %d bytes (%.0f%% of 256 KiB); about %d bytes per candidate",
				sensors, largest, 100*float64(largest)/maxPayload, (largest-len(before))/sensors)
		})
	}
}

// TestNoReachableSensorMessageIsBounded: the error of a step that rejected
// every one of 10,000 sensors (the traffic mirror targets an account may
// have) lists the first ones and counts them all, so the cause fits
// Lambda's 32,768-character error cause and the dead-letter message fits.
func TestNoReachableSensorMessageIsBounded(t *testing.T) {
	var rejected []placement.Rejection
	for i := range 10000 {
		rejected = append(rejected, placement.Rejection{TargetID: fmt.Sprintf("tmt-%017x", i),
			Reason: "sg-0123456789abcdef0: no inbound rule admits UDP 4789 from 10.0.0.25 (rules for TCP 22, TCP 443 only)"})
	}
	msg := (&steperr.NoReachableSensor{Step: workflow.StepFilterBySG, InstanceID: app0, Rejected: rejected}).Error()
	if len(msg) > 32768/2 {
		t.Errorf("message is %d bytes, want well under Lambda's 32,768-character cause", len(msg))
	}
	if !strings.Contains(msg, "rejected the last 10000 candidate(s), the first 50 listed: ") {
		t.Errorf("message does not count every rejection: %.200s", msg)
	}
	got := workflow.LambdaCause{ErrorMessage: msg}.Rejections()
	if len(got) != steperr.MaxListedRejections || got[0] != rejected[0] || got[len(got)-1] != rejected[len(got)-1] {
		t.Errorf("trace recovers %d rejections from the message, want the first %d as listed", len(got), steperr.MaxListedRejections)
	}
	t.Logf("10,000 rejections: a %d-byte message", len(msg))
}

// TestTooManyCandidatesFailAtGatherCandidates: thousands of candidate
// sensors would overflow the payload, and an execution whose state exceeds
// it fails with States.DataLimitExceeded, which skips the dead-letter path.
// GatherCandidates refuses them instead, with a terminal error that says how
// to narrow the rule, which the state machine sends to the dead-letter queue.
func TestTooManyCandidatesFailAtGatherCandidates(t *testing.T) {
	acct, cfg := loadScenario(t)
	addSensorsIn(acct, cfg.SensorTag, 2000, "us-east-1a")
	h := New(acct.Client, acct.ELBv2, cfg)
	p := primaryOf(t, h, app0)
	got, err := h.GatherCandidates(context.Background(), p)
	var invalid *steperr.InvalidConfiguration
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "2004 candidate sensors") || !strings.Contains(err.Error(), "narrower SensorTag or TargetIds") {
		t.Fatalf("error %v, want InvalidConfiguration naming the 2004 candidates and how to narrow the rule", err)
	}
	if got.Outcome != workflow.OutcomeFailed || len(got.Candidates) != 0 {
		t.Errorf("payload outcome %q with %d candidates, want failed and none carried", got.Outcome, len(got.Candidates))
	}
	if b, _ := json.Marshal(got); len(b) > maxPayload/8 {
		t.Errorf("the failed payload is %d bytes; the refusal should carry almost nothing", len(b))
	}
}
