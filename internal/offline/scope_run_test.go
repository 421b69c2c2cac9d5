package offline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// TestEachInterfaceOfAnInstanceHasItsOwnPath places an instance with three
// source interfaces through the deployed workflow, with Interfaces "all"
// and one rule: the primary interface is placed, the second (in the rule's
// subnet, but already holding 3 sessions) fails before any candidate work
// and goes to the dead-letter queue on its own, and the third (in a subnet
// no rule matches) is skipped as out of scope. The execution fails, so that
// it shows as failed, after every interface was placed.
func TestEachInterfaceOfAnInstanceHasItsOwnPath(t *testing.T) {
	snap, err := snapshot.Load(root + "/testdata/snapshots/three-zones.json")
	if err != nil {
		t.Fatal(err)
	}
	const (
		app0       = "i-5202beb1625020651"
		app0ENI    = "eni-7b8fba278842ef307"
		full       = "eni-0aaaaaaaaaaaaaaaa"
		outside    = "eni-0bbbbbbbbbbbbbbbb"
		appSubnet  = "subnet-effd20edc218da048"
		sensSubnet = "subnet-05f421c502822d6a7"
		sensor3    = "tmt-bfa588fdd5ccb6885"
	)
	for ri := range snap.Reservations {
		for ii, inst := range snap.Reservations[ri].Instances {
			if aws.ToString(inst.InstanceId) != app0 {
				continue
			}
			primary := inst.NetworkInterfaces[0]
			for i, extra := range []struct{ eni, subnet, ip string }{{full, appSubnet, "10.0.0.70"}, {outside, sensSubnet, "10.0.100.70"}} {
				ni := primary
				ni.NetworkInterfaceId, ni.SubnetId, ni.PrivateIpAddress = aws.String(extra.eni), aws.String(extra.subnet), aws.String(extra.ip)
				ni.PrivateIpAddresses = nil
				ni.Attachment = &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(int32(i + 1)), NetworkCardIndex: aws.Int32(0), Status: ec2types.AttachmentStatusAttached}
				snap.Reservations[ri].Instances[ii].NetworkInterfaces = append(snap.Reservations[ri].Instances[ii].NetworkInterfaces, ni)
			}
		}
	}
	for i, target := range []string{"tmt-7273e72bf6fabc352", "tmt-c32ab334bd3ac1d7e", "tmt-f6de7f1f2d1b3a796"} {
		snap.TrafficMirrorSessions = append(snap.TrafficMirrorSessions, ec2types.TrafficMirrorSession{
			TrafficMirrorSessionId: aws.String("tms-0" + strings.Repeat(string(rune('a'+i)), 16)), NetworkInterfaceId: aws.String(full),
			TrafficMirrorTargetId: aws.String(target), TrafficMirrorFilterId: aws.String(snap.Config.FilterID), SessionNumber: aws.Int32(int32(i + 1)),
		})
	}
	snap.Config.TargetIDs = []string{sensor3}
	snap.Config.Interfaces = config.InterfacesAll
	snap.Config.Rules = []config.Rule{{Name: "apps", Match: config.Match{SubnetIDs: []string{appSubnet}}}}

	r := startRun(t, snap, ec2sim.Options{})
	res, err := r.Place(context.Background(), "three-interfaces", app0, 0)
	if err != nil {
		t.Fatal(err)
	}

	if res.Execution.Status != "FAILED" || res.Execution.Error != workflow.ErrorInterfacePlacementFailed {
		t.Errorf("execution %s with %q, want FAILED with InterfacePlacementFailed: one interface could not be placed", res.Execution.Status, res.Execution.Error)
	}
	want := map[string]workflow.Outcome{app0ENI: workflow.OutcomeCreated, full: workflow.OutcomeFailed, outside: workflow.OutcomeSkipped}
	got := map[string]workflow.Outcome{}
	for _, p := range res.Interfaces {
		got[p.NetworkInterfaceID] = p.Outcome
		if p.NetworkInterfaceID == full && (p.FailedStep != workflow.StepCheckExistingSession || !strings.HasPrefix(p.Reason, workflow.ErrorNoRoomOnSource)) {
			t.Errorf("%s: failed at %q (%s), want %s at %s", full, p.FailedStep, p.Reason, workflow.ErrorNoRoomOnSource, workflow.StepCheckExistingSession)
		}
		if p.NetworkInterfaceID == outside && !strings.Contains(p.Reason, "out of scope") {
			t.Errorf("%s: %s, want skipped as out of scope", outside, p.Reason)
		}
	}
	for eni, o := range want {
		if got[eni] != o {
			t.Errorf("%s: %s, want %s (all: %v)", eni, got[eni], o, got)
		}
	}
	if res.Outcome != workflow.OutcomeFailed {
		t.Errorf("the instance sums up as %s, want failed: the worst of its interfaces", res.Outcome)
	}

	letters, err := r.DeadLetters()
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 || letters[0].NetworkInterfaceID != full || letters[0].Error != workflow.ErrorNoRoomOnSource || letters[0].Step != workflow.StepCheckExistingSession {
		t.Fatalf("dead letters %+v, want one for %s with %s from %s", letters, full, workflow.ErrorNoRoomOnSource, workflow.StepCheckExistingSession)
	}
	if !strings.Contains(letters[0].Cause, "3 sessions") {
		t.Errorf("dead letter cause %q does not say the interface holds 3 sessions", letters[0].Cause)
	}
	// Sent from inside the Map, the message still carries the execution's
	// input ($$.Execution.Input), which restarts the whole placement.
	if got := string(letters[0].Input); got != `{"instanceId":"`+app0+`"}` {
		t.Errorf("dead letter input %s, want the execution's input {\"instanceId\":%q}", got, app0)
	}

	tr := operate.BuildTrace(res.Execution.ExecutionARN, History(res.Execution, json.RawMessage(`{"instanceId":"`+app0+`"}`)))
	placed := map[string]bool{}
	for _, s := range tr.Steps {
		if s.Step == workflow.StepCreateSession && s.Status == operate.StatusSucceeded {
			placed[s.NetworkInterfaceID] = true
		}
	}
	if !placed[app0ENI] || len(placed) != 1 {
		t.Errorf("the trace shows CreateSession succeeding for %v, want only %s", placed, app0ENI)
	}
	var b strings.Builder
	if err := operate.RenderTraceTable(&b, tr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "interface "+app0ENI) {
		t.Errorf("the trace table does not say whose steps follow:\n%s", b.String())
	}
}
