package snapshot_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/config"
)

// TestSaveLoadRoundTrip checks that what Save writes, Load reads back to
// the same account and Config, for every example account and for what a
// run adds to one.
func TestSaveLoadRoundTrip(t *testing.T) {
	example := func(file string) func(t *testing.T) *snapshot.Snapshot {
		return func(t *testing.T) *snapshot.Snapshot {
			s, err := snapshot.Load(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	tests := []struct {
		name string
		snap func(t *testing.T) *snapshot.Snapshot
	}{
		{name: "three-zones.json reads back as it was saved", snap: example("three-zones.json")},
		{name: "sg-blocked.json reads back as it was saved", snap: example("sg-blocked.json")},
		{name: "full-sensor.json reads back as it was saved", snap: example("full-sensor.json")},
		{name: "nacl-deny.json reads back as it was saved", snap: example("nacl-deny.json")},
		{name: "a created session keeps its tags, VNI and a description with markup characters", snap: func(t *testing.T) *snapshot.Snapshot {
			s := example("three-zones.json")(t)
			s.TrafficMirrorSessions = append(s.TrafficMirrorSessions, ec2types.TrafficMirrorSession{
				TrafficMirrorSessionId: aws.String("tms-0123456789abcdef0"),
				NetworkInterfaceId:     aws.String("eni-7b8fba278842ef307"),
				TrafficMirrorTargetId:  aws.String("tmt-7273e72bf6fabc352"),
				TrafficMirrorFilterId:  aws.String("tmf-028da7ec9b76b272f"),
				SessionNumber:          aws.Int32(1),
				VirtualNetworkId:       aws.Int32(4242),
				Description:            aws.String("mirrorflow <demo-i-1> & co"),
				Tags:                   []ec2types.Tag{{Key: aws.String("mirrorflow:execution"), Value: aws.String("demo-i-1")}},
			})
			return s
		}},
		{name: "an instance's launch time keeps its instant", snap: func(t *testing.T) *snapshot.Snapshot {
			s := example("three-zones.json")(t)
			launched := time.Date(2025, 3, 1, 12, 30, 45, 123000000, time.UTC)
			s.Reservations[0].Instances[0].LaunchTime = &launched
			return s
		}},
		{name: "an explicit sensor list, local-zone-only and rules survive in Config", snap: func(t *testing.T) *snapshot.Snapshot {
			s := example("three-zones.json")(t)
			// Load fills Config's defaults, so the saved one has them too.
			cfg := config.Config{FilterID: "tmf-028da7ec9b76b272f", TargetIDs: []string{"tmt-7273e72bf6fabc352"}, LocalZoneOnly: true, SessionNumber: 7,
				Interfaces: config.InterfacesAll,
				Rules: []config.Rule{{Name: "pci", Match: config.Match{Tags: []config.Tag{{Key: "env", Value: "pci"}}, SubnetIDs: []string{"subnet-0a1b2c3d4e5f60718"}},
					FilterID: "tmf-0123456789abcdef0", SessionNumber: 2}},
			}.WithDefaults()
			s.Config = &cfg
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.snap(t)
			path := filepath.Join(t.TempDir(), "saved.json")
			if err := orig.Save(path); err != nil {
				t.Fatal(err)
			}
			back, err := snapshot.Load(path)
			if err != nil {
				t.Fatalf("loading what Save wrote: %v", err)
			}
			want, _ := json.Marshal(orig)
			got, _ := json.Marshal(back)
			if !bytes.Equal(got, want) {
				t.Errorf("read back differently (-saved +loaded):\n%s", cmp.Diff(string(want), string(got)))
			}
			if back.Name != "saved.json" {
				t.Errorf("Name = %q, want the file it was loaded from", back.Name)
			}
		})
	}
}

func TestSaveToAMissingFolderFailsNamingThePath(t *testing.T) {
	s, err := snapshot.Load(filepath.Join(dir, "nacl-deny.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "no-such-folder", "saved.json")
	err = s.Save(path)
	if !errors.Is(err, os.ErrNotExist) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Fatalf("err = %v, want a not-exist error naming %s", err, path)
	}
}
