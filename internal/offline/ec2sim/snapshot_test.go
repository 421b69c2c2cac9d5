package ec2sim_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// TestSnapshotIsTheAccountAsChanged checks that Snapshot holds what the
// calls changed, is a copy, and seeds a simulator that starts where the
// first one ended.
func TestSnapshotIsTheAccountAsChanged(t *testing.T) {
	seed := load(t, "three-zones.json")
	sim := ec2sim.New(seed, ec2sim.Options{Seed: 3})
	client := start(t, sim)
	ctx := context.Background()
	out, err := client.CreateTrafficMirrorSession(ctx, createInput(app0, sensor1, 1))
	if err != nil {
		t.Fatalf("creating a session: %v", err)
	}
	created := *out.TrafficMirrorSession.TrafficMirrorSessionId
	if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{"i-5202beb1625020651"}, Tags: []ec2types.Tag{{Key: ptr("team"), Value: ptr("blue")}},
	}); err != nil {
		t.Fatalf("tagging: %v", err)
	}
	snap := sim.Snapshot()

	t.Run("a created session is in it, as Describe shows it", func(t *testing.T) {
		described, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{})
		if err != nil {
			t.Fatalf("describing sessions: %v", err)
		}
		if diff := cmp.Diff(sessionsByID(described), sessionsByID(snap.TrafficMirrorSessions), sdktest.IgnoreUnexported(described)); diff != "" {
			t.Errorf("snapshot sessions differ from the described ones (-described +snapshot):\n%s", diff)
		}
		if _, ok := sessionsByID(snap.TrafficMirrorSessions)[created]; !ok {
			t.Errorf("the snapshot lacks the created session %s", created)
		}
	})
	t.Run("a tag added to an instance is in it", func(t *testing.T) {
		if !hasTag(snap, "i-5202beb1625020651", "team", "blue") {
			t.Error("the snapshot's i-5202beb1625020651 lacks team=blue")
		}
	})
	t.Run("the seed's Config is kept", func(t *testing.T) {
		if diff := cmp.Diff(seed.Config, snap.Config); diff != "" {
			t.Errorf("Config (-seed +snapshot):\n%s", diff)
		}
	})
	t.Run("changing the snapshot changes nothing in the simulator", func(t *testing.T) {
		before, _ := json.Marshal(sim.Snapshot())
		snap.TrafficMirrorSessions[0].TrafficMirrorTargetId = ptr("tmt-changed")
		snap.TrafficMirrorSessions = snap.TrafficMirrorSessions[:1]
		snap.Reservations[0].Instances[0].Tags = nil
		if after, _ := json.Marshal(sim.Snapshot()); string(after) != string(before) {
			t.Errorf("the simulator changed with its snapshot:\n%s", cmp.Diff(string(before), string(after)))
		}
	})
	t.Run("a simulator seeded from the saved snapshot describes the same sessions", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "after.json")
		if err := sim.Snapshot().Save(path); err != nil {
			t.Fatal(err)
		}
		saved, err := snapshot.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		next := start(t, ec2sim.New(saved, ec2sim.Options{}))
		want, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := ec2api.TrafficMirrorSessionsAsList(ctx, next, &ec2.DescribeTrafficMirrorSessionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sessionsByID(want), sessionsByID(got), sdktest.IgnoreUnexported(want)); diff != "" {
			t.Errorf("sessions (-first simulator +seeded from its snapshot):\n%s", diff)
		}
	})
}

// TestSnapshotDuringCreatesIsConsistent takes snapshots while sessions are
// created (run with -race): each holds whole sessions only, never fewer than
// the one before, and the last holds them all.
func TestSnapshotDuringCreatesIsConsistent(t *testing.T) {
	snap := load(t, "full-sensor.json")
	sim := ec2sim.New(snap, ec2sim.Options{})
	client := start(t, sim)
	sensorB := *snap.TrafficMirrorTargets[1].TrafficMirrorTargetId
	var wg sync.WaitGroup
	for _, r := range snap.Reservations[10:12] {
		src := *r.Instances[0].NetworkInterfaces[0].NetworkInterfaceId
		wg.Go(func() {
			if _, err := client.CreateTrafficMirrorSession(context.Background(), withFilter(createInput(src, sensorB, 2), snap)); err != nil {
				t.Errorf("creating a session from %s: %v", src, err)
			}
		})
	}
	seen := len(snap.TrafficMirrorSessions)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		s := sim.Snapshot()
		for _, ms := range s.TrafficMirrorSessions {
			if ms.TrafficMirrorSessionId == nil || ms.NetworkInterfaceId == nil || ms.TrafficMirrorTargetId == nil {
				t.Fatalf("a snapshot holds a partial session: %+v", ms)
			}
		}
		if n := len(s.TrafficMirrorSessions); n < seen {
			t.Fatalf("a snapshot holds %d sessions after one held %d", n, seen)
		} else {
			seen = n
		}
	}
	if want := len(snap.TrafficMirrorSessions) + 2; seen != want {
		t.Errorf("the last snapshot holds %d sessions, want %d", seen, want)
	}
}

func sessionsByID(ss []ec2types.TrafficMirrorSession) map[string]ec2types.TrafficMirrorSession {
	out := make(map[string]ec2types.TrafficMirrorSession, len(ss))
	for _, s := range ss {
		out[*s.TrafficMirrorSessionId] = s
	}
	return out
}

func hasTag(snap *snapshot.Snapshot, instanceID, key, value string) bool {
	for _, r := range snap.Reservations {
		for _, in := range r.Instances {
			if *in.InstanceId != instanceID {
				continue
			}
			for _, tag := range in.Tags {
				if *tag.Key == key && *tag.Value == value {
					return true
				}
			}
		}
	}
	return false
}
