package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// fill gives target ten sessions from other interfaces, as ten placements
// running at the same time would: a 10-source sensor is then full.
func fill(a *ec2account.Account, target string) {
	var sessions []ec2types.TrafficMirrorSession
	for i := range 10 {
		sessions = append(sessions, ec2types.TrafficMirrorSession{
			// Ids of the target's own, so that filling several sensors keeps every session.
			TrafficMirrorSessionId: aws.String(fmt.Sprintf("tms-%s%03x", target[4:18], i)), TrafficMirrorTargetId: aws.String(target),
			TrafficMirrorFilterId: aws.String("tmf-028da7ec9b76b272f"), NetworkInterfaceId: aws.String(fmt.Sprintf("eni-%s%03x", target[4:18], i)),
			SessionNumber: aws.Int32(1),
		})
	}
	a.AddTrafficMirrorSessions(sessions...)
}

// caught is CreateSession's input as the state machine's SensorFull Catch
// hands it to PickLeastLoaded: the payload, with the error and the cause
// Lambda reported (aws-lambda-go's error document) at $.sensorFull.
func caught(t *testing.T, p workflow.Placement, errorType, message string) workflow.Placement {
	t.Helper()
	cause, err := json.Marshal(workflow.LambdaCause{ErrorMessage: message, ErrorType: errorType})
	if err != nil {
		t.Fatal(err)
	}
	p.SensorFull = &workflow.CaughtError{Error: errorType, Cause: string(cause)}
	return p
}

// TestAFullSensorIsPickedAround plays the race a burst causes: the sensor
// PickLeastLoaded chose fills up before CreateSession runs. EC2 refuses the
// session, CreateSession reports SensorFull through Lambda, the state
// machine routes it back, and the placement lands on another sensor.
func TestAFullSensorIsPickedAround(t *testing.T) {
	ctx := context.Background()
	acct, cfg := loadScenario(t)
	h := New(acct.Client, acct.ELBv2, cfg)
	p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
	first := p.TargetID
	fill(acct, first)

	gotType, msg := invoke(t, h.CreateSession, p)
	if gotType != steperr.TypeName(&steperr.SensorFull{}) || !strings.Contains(msg, first) {
		t.Fatalf("CreateSession on a sensor filled meanwhile: errorType %q (%s), want SensorFull naming %s", gotType, msg, first)
	}

	again, err := h.PickLeastLoaded(ctx, caught(t, p, gotType, msg))
	if err != nil {
		t.Fatalf("re-pick: %v", err)
	}
	if again.TargetID == "" || again.TargetID == first || again.SensorFull != nil {
		t.Errorf("re-pick chose %q (sensorFull %v), want another sensor than the full %s and the caught error cleared", again.TargetID, again.SensorFull, first)
	}
	if again.RePicks != 1 || !slices.Equal(again.FullSensors, []string{first}) {
		t.Errorf("RePicks %d, FullSensors %v; want 1 and [%s]", again.RePicks, again.FullSensors, first)
	}
	pass := again.Steps[len(again.Steps)-1]
	if pass.Step != workflow.StepPickLeastLoaded || !strings.Contains(pass.Note, "re-pick 1 of at most 25") || !strings.Contains(pass.Note, first) {
		t.Errorf("the re-pick's report = %+v, want it to say it is re-pick 1 and why", pass)
	}
	for _, r := range pass.Rejected {
		if slices.ContainsFunc(p.Steps, func(s workflow.StepReport) bool { return s.Step == pass.Step && slices.Contains(s.Rejected, r) }) {
			t.Errorf("the re-pick repeats rejection %v of the first pass; the payload must not grow with each pass", r)
		}
	}

	done, err := h.CreateSession(ctx, again)
	if err != nil || done.Outcome != workflow.OutcomeCreated || done.TargetID != again.TargetID {
		t.Fatalf("CreateSession after the re-pick = %q to %q, %v; want created to %s", done.Outcome, done.TargetID, err, again.TargetID)
	}
}

func TestRePicksEnd(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// prepare changes the account and the payload that comes back from CreateSession.
		prepare      func(*ec2account.Account, *workflow.Placement)
		wantInReason []string
	}{
		{
			name: "when every candidate is full the placement fails at PickLeastLoaded, all full",
			prepare: func(a *ec2account.Account, p *workflow.Placement) {
				for _, s := range p.Candidates {
					fill(a, s.TargetID)
				}
			},
			wantInReason: []string{workflow.StepPickLeastLoaded, "rejected the last 4 candidate(s)", "full"},
		},
		{
			name: "after MaxRePicks passes the placement gives up, naming the sensors found full",
			prepare: func(_ *ec2account.Account, p *workflow.Placement) {
				p.RePicks = workflow.MaxRePicks
			},
			wantInReason: []string{workflow.StepPickLeastLoaded, fmt.Sprintf("gave up after %d re-picks", workflow.MaxRePicks)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, cfg := loadScenario(t)
			h := New(acct.Client, acct.ELBv2, cfg)
			p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
			full := p.TargetID
			tt.prepare(acct, &p)
			_, err := h.PickLeastLoaded(ctx, caught(t, p, "SensorFull", "sensor "+full+" is full"))
			if err == nil || steperr.TypeName(err) != "NoReachableSensor" {
				t.Fatalf("PickLeastLoaded error = %T %v, want NoReachableSensor", err, err)
			}
			for _, want := range append(tt.wantInReason, full) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}
