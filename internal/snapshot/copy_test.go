package snapshot_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

// TestCloneIsAJSONRoundTrip checks Clone against what it stands in for:
// every example account cloned encodes to the same JSON as the original,
// and changing the clone changes nothing of the original.
func TestCloneIsAJSONRoundTrip(t *testing.T) {
	for _, file := range []string{"three-zones.json", "sg-blocked.json", "full-sensor.json", "nacl-deny.json"} {
		t.Run(file, func(t *testing.T) {
			orig, err := snapshot.Load(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(orig)
			clone := orig.Clone()
			got, _ := json.Marshal(clone)
			if string(got) != string(want) {
				t.Fatalf("the clone encodes differently:\n%s", cmp.Diff(string(want), string(got)))
			}
			if clone.Name != orig.Name {
				t.Errorf("Name = %q, want %q", clone.Name, orig.Name)
			}
			clone.Reservations[0].Instances[0].Tags = append(clone.Reservations[0].Instances[0].Tags, ec2types.Tag{Key: aws.String("k")})
			*clone.NetworkInterfaces[0].NetworkInterfaceId = "eni-changed"
			clone.Config.TargetIDs = append(clone.Config.TargetIDs, "tmt-changed")
			if after, _ := json.Marshal(orig); string(after) != string(want) {
				t.Errorf("changing the clone changed the original:\n%s", cmp.Diff(string(want), string(after)))
			}
		})
	}
}

func TestMerge(t *testing.T) {
	inst := func(id string) ec2types.Instance { return ec2types.Instance{InstanceId: aws.String(id)} }
	res := func(id string, instances ...ec2types.Instance) ec2types.Reservation {
		return ec2types.Reservation{ReservationId: aws.String(id), Instances: instances}
	}
	group := func(id, name string) ec2types.SecurityGroup {
		return ec2types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String(name)}
	}
	tests := []struct {
		name      string
		have, add snapshot.Snapshot
		want      snapshot.Snapshot
	}{
		{name: "a resource with a new id is appended",
			have: snapshot.Snapshot{SecurityGroups: []ec2types.SecurityGroup{group("sg-1", "a")}},
			add:  snapshot.Snapshot{SecurityGroups: []ec2types.SecurityGroup{group("sg-2", "b")}},
			want: snapshot.Snapshot{SecurityGroups: []ec2types.SecurityGroup{group("sg-1", "a"), group("sg-2", "b")}}},
		{name: "a resource with a known id is replaced in place",
			have: snapshot.Snapshot{SecurityGroups: []ec2types.SecurityGroup{group("sg-1", "a"), group("sg-2", "b")}},
			add:  snapshot.Snapshot{SecurityGroups: []ec2types.SecurityGroup{group("sg-1", "changed")}},
			want: snapshot.Snapshot{SecurityGroups: []ec2types.SecurityGroup{group("sg-1", "changed"), group("sg-2", "b")}}},
		{name: "an instance moves to the reservation that now names it, and an emptied reservation goes",
			have: snapshot.Snapshot{Reservations: []ec2types.Reservation{res("r-1", inst("i-1")), res("r-2", inst("i-2"), inst("i-3"))}},
			add:  snapshot.Snapshot{Reservations: []ec2types.Reservation{res("r-3", inst("i-1"), inst("i-3"))}},
			want: snapshot.Snapshot{Reservations: []ec2types.Reservation{res("r-2", inst("i-2")), res("r-3", inst("i-1"), inst("i-3"))}}},
		{name: "an instance added to a known reservation joins it",
			have: snapshot.Snapshot{Reservations: []ec2types.Reservation{res("r-1", inst("i-1"))}},
			add:  snapshot.Snapshot{Reservations: []ec2types.Reservation{res("r-1", inst("i-2"))}},
			want: snapshot.Snapshot{Reservations: []ec2types.Reservation{res("r-1", inst("i-1"), inst("i-2"))}}},
		{name: "prefix list entries are replaced per list",
			have: snapshot.Snapshot{PrefixListEntries: map[string][]ec2types.PrefixListEntry{"pl-1": {{Cidr: aws.String("10.0.0.0/8")}}}},
			add:  snapshot.Snapshot{PrefixListEntries: map[string][]ec2types.PrefixListEntry{"pl-1": {{Cidr: aws.String("10.1.0.0/16")}}, "pl-2": nil}},
			want: snapshot.Snapshot{PrefixListEntries: map[string][]ec2types.PrefixListEntry{"pl-1": {{Cidr: aws.String("10.1.0.0/16")}}, "pl-2": nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.have.Merge(&tt.add)
			want, _ := json.Marshal(tt.want)
			got, _ := json.Marshal(tt.have)
			if string(got) != string(want) {
				t.Errorf("merged (-want +got):\n%s", cmp.Diff(string(want), string(got)))
			}
		})
	}
}
