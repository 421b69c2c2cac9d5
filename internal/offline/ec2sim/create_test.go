package ec2sim_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// three-zones.json ids the session tests use.
const (
	app0      = "eni-7b8fba278842ef307"
	app2      = "eni-c59cfa340f58b84d3"
	sensor0   = "tmt-f6de7f1f2d1b3a796" // already receives 3 sources
	sensor1   = "tmt-7273e72bf6fabc352"
	sensor2   = "tmt-c32ab334bd3ac1d7e"
	sensor0IF = "eni-cc244a893f8bcfd36"
	filter    = "tmf-028da7ec9b76b272f"
)

func createInput(source, target string, number int32) *ec2.CreateTrafficMirrorSessionInput {
	return &ec2.CreateTrafficMirrorSessionInput{
		NetworkInterfaceId:    &source,
		TrafficMirrorTargetId: &target,
		TrafficMirrorFilterId: ptr(filter),
		SessionNumber:         &number,
	}
}

// withFilter points in at another snapshot's filter.
func withFilter(in *ec2.CreateTrafficMirrorSessionInput, snap *snapshot.Snapshot) *ec2.CreateTrafficMirrorSessionInput {
	in.TrafficMirrorFilterId = snap.TrafficMirrorFilters[0].TrafficMirrorFilterId
	return in
}

// TestCreateSessionKeepsIt checks a new session's id, tags and VNI and that
// every later Describe sees it.
func TestCreateSessionKeepsIt(t *testing.T) {
	sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{Seed: 7})
	client := start(t, sim)
	ctx := context.Background()
	in := createInput(app0, sensor1, 1)
	in.TagSpecifications = []ec2types.TagSpecification{{
		ResourceType: ec2types.ResourceTypeTrafficMirrorSession,
		Tags:         []ec2types.Tag{{Key: ptr("mirrorflow:execution"), Value: ptr("exec-1")}},
	}}
	in.Description = ptr("mirrorflow exec-1")
	out, err := client.CreateTrafficMirrorSession(ctx, in)
	if err != nil {
		t.Fatalf("creating a session: %v", err)
	}
	got := out.TrafficMirrorSession
	if id := *got.TrafficMirrorSessionId; !strings.HasPrefix(id, "tms-") || len(id) != len("tms-")+17 {
		t.Errorf("session id %q is not tms- and 17 hex digits", id)
	}
	if got.VirtualNetworkId == nil || *got.VirtualNetworkId < 1 {
		t.Errorf("VirtualNetworkId = %v, want one assigned", got.VirtualNetworkId)
	}
	if diff := cmp.Diff([]ec2types.Tag{{Key: ptr("mirrorflow:execution"), Value: ptr("exec-1")}}, got.Tags, sdktest.IgnoreUnexported(got.Tags)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	described, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{
		Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", app0)}})
	if err != nil {
		t.Fatalf("describing sessions: %v", err)
	}
	if diff := cmp.Diff([]ec2types.TrafficMirrorSession{*got}, described, sdktest.IgnoreUnexported(described)); diff != "" {
		t.Errorf("described session differs from the created one (-created +described):\n%s", diff)
	}
	if n := len(sim.Sessions()); n != 5 {
		t.Errorf("Sessions() holds %d, want the 4 seeded and the new one", n)
	}
	sim.Reset()
	if n := len(sim.Sessions()); n != 4 {
		t.Errorf("after Reset, Sessions() holds %d, want the 4 seeded", n)
	}
}

// TestCreateSessionRules checks each of AWS's rules on a new session and
// the code it answers with.
func TestCreateSessionRules(t *testing.T) {
	tests := []struct {
		name  string
		setup []*ec2.CreateTrafficMirrorSessionInput
		in    *ec2.CreateTrafficMirrorSessionInput
		code  string
	}{
		{
			name:  "a source interface takes at most 3 sessions",
			setup: []*ec2.CreateTrafficMirrorSessionInput{createInput(app0, sensor1, 1), createInput(app0, sensor2, 2), createInput(app0, sensor0, 3)},
			in:    createInput(app0, sensor1, 4),
			code:  awserr.TrafficMirrorSessionsPerSource,
		},
		{
			name:  "a session number is unique per source",
			setup: []*ec2.CreateTrafficMirrorSessionInput{createInput(app0, sensor1, 1)},
			in:    createInput(app0, sensor2, 1),
			code:  awserr.InvalidParameterValue,
		},
		{
			name: "a target interface cannot be a source",
			in:   createInput(sensor0IF, sensor1, 1),
			code: awserr.InvalidParameterValue,
		},
		{
			name: "an unknown source interface is NotFound",
			in:   createInput("eni-0000000000000000a", sensor1, 1),
			code: awserr.InvalidNetworkInterfaceNotFound,
		},
		{
			name: "an unknown target is NotFound",
			in:   createInput(app0, "tmt-0000000000000000a", 1),
			code: awserr.InvalidTrafficMirrorTargetID,
		},
		{
			name: "an unknown filter is NotFound",
			in: func() *ec2.CreateTrafficMirrorSessionInput {
				in := createInput(app0, sensor1, 1)
				in.TrafficMirrorFilterId = ptr("tmf-0000000000000000a")
				return in
			}(),
			code: awserr.InvalidTrafficMirrorFilterID,
		},
		{
			name: "session number 32767 is out of range",
			in:   createInput(app0, sensor1, 32767),
			code: awserr.InvalidParameterValue,
		},
		{
			name: "a ClientToken over 64 characters is refused",
			in: func() *ec2.CreateTrafficMirrorSessionInput {
				in := createInput(app0, sensor1, 1)
				in.ClientToken = ptr(strings.Repeat("t", 65))
				return in
			}(),
			code: awserr.InvalidParameterValue,
		},
		{
			name: "tags go only on the session",
			in: func() *ec2.CreateTrafficMirrorSessionInput {
				in := createInput(app0, sensor1, 1)
				in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: ptr("k"), Value: ptr("v")}}}}
				return in
			}(),
			code: awserr.InvalidParameterValue,
		},
		{
			name: "a tag key may not use the reserved aws: prefix",
			in: func() *ec2.CreateTrafficMirrorSessionInput {
				in := createInput(app0, sensor1, 1)
				in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeTrafficMirrorSession, Tags: []ec2types.Tag{{Key: ptr("aws:owner"), Value: ptr("v")}}}}
				return in
			}(),
			code: awserr.InvalidParameterValue,
		},
		{
			name: "a session holds at most 50 tags",
			in: func() *ec2.CreateTrafficMirrorSessionInput {
				in := createInput(app0, sensor1, 1)
				spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeTrafficMirrorSession}
				for i := range 51 {
					spec.Tags = append(spec.Tags, ec2types.Tag{Key: ptr(fmt.Sprintf("k%d", i)), Value: ptr("v")})
				}
				in.TagSpecifications = []ec2types.TagSpecification{spec}
				return in
			}(),
			code: awserr.TagLimitExceeded,
		},
		{
			name: "DryRun answers DryRunOperation",
			in: func() *ec2.CreateTrafficMirrorSessionInput {
				in := createInput(app0, sensor1, 1)
				in.DryRun = ptr(true)
				return in
			}(),
			code: awserr.DryRunOperation,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{})
			client := start(t, sim)
			ctx := context.Background()
			for _, in := range tc.setup {
				if _, err := client.CreateTrafficMirrorSession(ctx, in); err != nil {
					t.Fatalf("setting up: %v", err)
				}
			}
			before := len(sim.Sessions())
			_, err := client.CreateTrafficMirrorSession(ctx, tc.in)
			if err == nil {
				t.Fatal("want an error, got a session")
			}
			if got := code(t, err); got != tc.code {
				t.Errorf("code = %s, want %s (%v)", got, tc.code, err)
			}
			if after := len(sim.Sessions()); after != before {
				t.Errorf("a refused request changed the sessions from %d to %d", before, after)
			}
		})
	}
}

// TestSourcesPerTarget checks the 10-source limit of an interface target
// and the 100 of the large sizes, on full-sensor.json's full sensor-a.
func TestSourcesPerTarget(t *testing.T) {
	base := load(t, "full-sensor.json")
	sensorA := *base.TrafficMirrorTargets[0].TrafficMirrorTargetId
	mirrored := *base.TrafficMirrorSessions[0].NetworkInterfaceId
	unmirrored := *base.Reservations[10].Instances[0].NetworkInterfaces[0].NetworkInterfaceId
	large := base.Clone()
	large.Reservations[12].Instances[0].InstanceType = "m5.24xlarge" // sensor-a's instance

	tests := []struct {
		name string
		snap *snapshot.Snapshot
		in   *ec2.CreateTrafficMirrorSessionInput
		code string
	}{
		{"an interface target takes at most 10 sources", base, withFilter(createInput(unmirrored, sensorA, 1), base), awserr.TrafficMirrorSourcesPerTarget},
		{"a source already on the full target may add a session", base, withFilter(createInput(mirrored, sensorA, 2), base), ""},
		{"a target on a large size takes more than 10", large, withFilter(createInput(unmirrored, sensorA, 1), base), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := start(t, ec2sim.New(tc.snap, ec2sim.Options{}))
			_, err := client.CreateTrafficMirrorSession(context.Background(), tc.in)
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("want a session, got %v", err)
			case tc.code != "" && err == nil:
				t.Fatalf("want %s, got a session", tc.code)
			case tc.code != "":
				if got := code(t, err); got != tc.code {
					t.Errorf("code = %s, want %s", got, tc.code)
				}
			}
		})
	}
}

// TestClientToken checks CreateTrafficMirrorSession's idempotency.
func TestClientToken(t *testing.T) {
	sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{})
	client := start(t, sim)
	ctx := context.Background()
	in := createInput(app0, sensor1, 1)
	in.ClientToken = ptr("exec-1/app0")
	first, err := client.CreateTrafficMirrorSession(ctx, in)
	if err != nil {
		t.Fatalf("creating: %v", err)
	}
	again, err := client.CreateTrafficMirrorSession(ctx, in)
	if err != nil {
		t.Fatalf("repeating with the same token: %v", err)
	}
	if *again.TrafficMirrorSession.TrafficMirrorSessionId != *first.TrafficMirrorSession.TrafficMirrorSessionId {
		t.Errorf("the same token made a second session %s (first %s)",
			*again.TrafficMirrorSession.TrafficMirrorSessionId, *first.TrafficMirrorSession.TrafficMirrorSessionId)
	}
	if n := len(sim.Sessions()); n != 5 {
		t.Errorf("sessions = %d, want 5 (4 seeded, 1 created once)", n)
	}
	other := createInput(app2, sensor2, 1)
	other.ClientToken = in.ClientToken
	_, err = client.CreateTrafficMirrorSession(ctx, other)
	if err == nil {
		t.Fatal("reusing a token with other parameters made a session")
	}
	if got := code(t, err); got != awserr.IdempotentParameterMismatch {
		t.Errorf("code = %s, want %s", got, awserr.IdempotentParameterMismatch)
	}
}

// TestCreateTags checks that tags land on the resource and that unknown ids
// are refused with the resource's NotFound code.
func TestCreateTags(t *testing.T) {
	client := start(t, ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{}))
	ctx := context.Background()
	_, err := client.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{"tms-65b553f9b3af33c63", "i-5202beb1625020651"},
		Tags:      []ec2types.Tag{{Key: ptr("mirrorflow:execution"), Value: ptr("exec-2")}, {Key: ptr("Name"), Value: ptr("renamed")}},
	})
	if err != nil {
		t.Fatalf("tagging: %v", err)
	}
	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{
		TrafficMirrorSessionIds: []string{"tms-65b553f9b3af33c63"}})
	if err != nil || len(sessions) != 1 || !slices.ContainsFunc(sessions[0].Tags, func(t ec2types.Tag) bool {
		return *t.Key == "mirrorflow:execution" && *t.Value == "exec-2"
	}) {
		t.Fatalf("want the tagged session with mirrorflow:execution=exec-2, got %+v, %v", sessions, err)
	}
	instances, err := ec2api.InstancesAsList(ctx, client, &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{ec2api.Filter("tag:Name", "renamed")}})
	if err != nil || len(instances) != 1 || len(instances[0].Tags) != 2 {
		t.Fatalf("want the one instance with Name replaced and one tag added, got %+v, %v", instances, err)
	}
	for _, tc := range []struct {
		name, id, code string
	}{
		{"an unknown session is NotFound", "tms-0000000000000000a", awserr.InvalidTrafficMirrorSessionID},
		{"an unknown instance is NotFound", "i-0000000000000000a", awserr.InvalidInstanceIDNotFound},
		{"an id of no known kind is InvalidID", "nothing", awserr.InvalidID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{tc.id}, Tags: []ec2types.Tag{{Key: ptr("k"), Value: ptr("v")}}})
			if err == nil {
				t.Fatal("want an error")
			}
			if got := code(t, err); got != tc.code {
				t.Errorf("code = %s, want %s", got, tc.code)
			}
		})
	}
}

// TestConcurrentCreates has many clients create sessions at once (run with
// -race): every source gets exactly one session and no id repeats.
func TestConcurrentCreates(t *testing.T) {
	snap := load(t, "full-sensor.json")
	sim := ec2sim.New(snap, ec2sim.Options{})
	client := start(t, sim)
	sensorB := *snap.TrafficMirrorTargets[1].TrafficMirrorTargetId
	var sources []string
	for _, r := range snap.Reservations[:12] {
		sources = append(sources, *r.Instances[0].NetworkInterfaces[0].NetworkInterfaceId)
	}
	errs := make(chan error, 2*len(sources))
	for i, src := range sources {
		go func() {
			in := withFilter(createInput(src, sensorB, 2), snap)
			in.ClientToken = ptr(fmt.Sprintf("token-%d", i))
			_, err := client.CreateTrafficMirrorSession(context.Background(), in)
			errs <- err
		}()
		go func() {
			_, err := ec2api.TrafficMirrorSessionsAsList(context.Background(), client, &ec2.DescribeTrafficMirrorSessionsInput{})
			errs <- err
		}()
	}
	created := 0
	for range 2 * len(sources) {
		err := <-errs
		if err != nil && awserr.Code(err) != awserr.TrafficMirrorSourcesPerTarget {
			t.Errorf("concurrent call: %v", err)
		}
		if err == nil {
			created++
		}
	}
	onB := 0
	ids := map[string]bool{}
	for _, s := range sim.Sessions() {
		if ids[*s.TrafficMirrorSessionId] {
			t.Errorf("session id %s repeats", *s.TrafficMirrorSessionId)
		}
		ids[*s.TrafficMirrorSessionId] = true
		if *s.TrafficMirrorTargetId == sensorB {
			onB++
		}
	}
	// sensor-b is a c5n.xlarge: 10 of the 12 sources fit.
	if onB != 10 {
		t.Errorf("sensor-b has %d sessions, want 10 (its source limit)", onB)
	}
}

// TestDeleteSession checks DeleteTrafficMirrorSession: the session is gone
// from every Describe, its source's session number and quota are free
// again, an unknown id is NotFound, and DryRun deletes nothing.
func TestDeleteSession(t *testing.T) {
	sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{})
	client := start(t, sim)
	ctx := context.Background()
	out, err := client.CreateTrafficMirrorSession(ctx, createInput(app0, sensor1, 1))
	if err != nil {
		t.Fatal(err)
	}
	id := out.TrafficMirrorSession.TrafficMirrorSessionId
	if _, err := client.DeleteTrafficMirrorSession(ctx, &ec2.DeleteTrafficMirrorSessionInput{TrafficMirrorSessionId: id, DryRun: ptr(true)}); code(t, err) != awserr.DryRunOperation {
		t.Fatalf("dry run: %v, want DryRunOperation", err)
	}
	if n := len(sim.Sessions()); n != 5 {
		t.Fatalf("a dry run deleted a session: %d left of 5", n)
	}
	if _, err := client.DeleteTrafficMirrorSession(ctx, &ec2.DeleteTrafficMirrorSessionInput{TrafficMirrorSessionId: id}); err != nil {
		t.Fatalf("deleting %s: %v", *id, err)
	}
	left, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", app0)}})
	if err != nil || len(left) != 0 {
		t.Errorf("after the delete %s has %d sessions (%v), want none", app0, len(left), err)
	}
	if _, err := client.CreateTrafficMirrorSession(ctx, createInput(app0, sensor2, 1)); err != nil {
		t.Errorf("session number 1 on %s after its session was deleted: %v, want it free again", app0, err)
	}
	if _, err := client.DeleteTrafficMirrorSession(ctx, &ec2.DeleteTrafficMirrorSessionInput{TrafficMirrorSessionId: id}); code(t, err) != awserr.InvalidTrafficMirrorSessionID {
		t.Errorf("deleting %s again: %v, want %s", *id, err, awserr.InvalidTrafficMirrorSessionID)
	}
}
