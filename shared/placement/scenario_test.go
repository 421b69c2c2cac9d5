package placement

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

// exampleAccount is the example account every package's tests share.
const exampleAccount = "../../testdata/snapshots/three-zones.json"

func loadSnapshot(t testing.TB, path string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func instances(s *snapshot.Snapshot) []ec2types.Instance {
	var out []ec2types.Instance
	for _, r := range s.Reservations {
		out = append(out, r.Instances...)
	}
	return out
}

// decide runs the steps of "What a placement must decide" in order for one
// instance, as the workflow chains them, and renders the outcome.
func decide(s *snapshot.Snapshot, inst ec2types.Instance) string {
	src, err := SourceFromInstance(inst)
	if err != nil {
		return "skipped: " + err.Error()
	}
	isCand := func(id string) bool {
		for _, t := range s.TrafficMirrorTargets {
			if aws.ToString(t.TrafficMirrorTargetId) == id {
				return IsCandidate(t, s.Config.TargetIDs, s.Config.SensorTag)
			}
		}
		return false
	}
	if sess, ok := ExistingSession(src.NetworkInterfaceID, s.TrafficMirrorSessions, isCand); ok {
		return "exists " + aws.ToString(sess.TrafficMirrorSessionId)
	}
	if t, ok := SensorTarget(src.NetworkInterfaceID, s.TrafficMirrorTargets); ok {
		return "skipped: is sensor " + aws.ToString(t.TrafficMirrorTargetId)
	}
	var cands []ec2types.TrafficMirrorTarget
	for _, t := range s.TrafficMirrorTargets {
		if IsCandidate(t, s.Config.TargetIDs, s.Config.SensorTag) {
			cands = append(cands, t)
		}
	}
	// A verdict names the filter that emptied the list, so a target
	// rejected for a missing interface is not part of it.
	sensors, _ := ResolveSensors(cands, s.NetworkInterfaces, instances(s))
	steps := []struct {
		name string
		run  func([]Sensor) ([]Sensor, []Rejection)
	}{
		{"zone", func(in []Sensor) ([]Sensor, []Rejection) { return FilterByZone(src, in, s.Config.LocalZoneOnly) }},
		{"security groups", func(in []Sensor) ([]Sensor, []Rejection) {
			pls := make(map[string][]string)
			for _, id := range PrefixListsReferenced(in, s.SecurityGroups) {
				for _, e := range s.PrefixListEntries[id] {
					pls[id] = append(pls[id], aws.ToString(e.Cidr))
				}
			}
			return FilterBySecurityGroup(src, in, s.SecurityGroups, pls)
		}},
		{"network ACLs", func(in []Sensor) ([]Sensor, []Rejection) { return FilterByNetworkACL(src, in, s.NetworkAcls) }},
	}
	for _, st := range steps {
		var rej []Rejection
		sensors, rej = st.run(sensors)
		if len(sensors) == 0 {
			return fmt.Sprintf("failed at %s: %s", st.name, reasons(rej))
		}
	}
	p, ok := PickLeastLoaded(src, sensors, s.TrafficMirrorSessions, nil)
	if !ok {
		return "failed at load: " + reasons(p.Rejected)
	}
	out := "created " + p.Chosen.TargetID
	if p.CrossZone {
		out += " cross-zone"
	}
	return out
}

// reasons renders a step's rejections; with one it is the whole reason,
// with several the target ids, whose reasons the unit tests pin down.
func reasons(rs []Rejection) string {
	if len(rs) == 1 {
		return rs[0].TargetID + ": " + rs[0].Reason
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.TargetID)
	}
	return strings.Join(ids, ", ")
}

// Names in testdata/snapshots/three-zones.json.
const (
	sensor0A = "tmt-f6de7f1f2d1b3a796" // us-east-1a, 3 sessions
	sensor1B = "tmt-7273e72bf6fabc352" // us-east-1b, 1 session
	sensor2C = "tmt-c32ab334bd3ac1d7e" // us-east-1c, none
	sensor3A = "tmt-bfa588fdd5ccb6885" // us-east-1a, none
)

func TestThreeZonesScenario(t *testing.T) {
	fillSensor := func(s *snapshot.Snapshot, targetID string) {
		s.TrafficMirrorSessions = append(s.TrafficMirrorSessions, sessionsFrom(targetID, "eni-other-"+targetID, 10)...)
	}
	tests := []struct {
		name   string
		change func(*snapshot.Snapshot)
		want   map[string]string
	}{
		{
			name: "each instance goes to a sensor of its zone with room, or already has one",
			want: map[string]string{
				// sensor0A (3 sessions) and sensor3A (none) are both in us-east-1a; the fewest sessions win.
				"i-5202beb1625020651": "created " + sensor3A,
				"i-e45dd1e7315dfb071": "exists tms-65b553f9b3af33c63",
				"i-0e26b3747ee8aab5c": "created " + sensor2C,
				"i-4c78b5b89e0facc1b": "created " + sensor3A,
				"i-7436df31099e152cd": "created " + sensor1B,
				"i-d53985d70947e1fa1": "created " + sensor2C,
				"i-db42c3071153300a8": "created " + sensor3A,
			},
		},
		{
			name: "full same-zone sensors fall back to a sensor in another zone",
			change: func(s *snapshot.Snapshot) {
				fillSensor(s, sensor0A)
				fillSensor(s, sensor3A)
			},
			want: map[string]string{
				"i-5202beb1625020651": "created " + sensor2C + " cross-zone",
				"i-7436df31099e152cd": "created " + sensor1B,
			},
		},
		{
			name: "LocalZoneOnly fails an instance whose zone's sensors are full",
			change: func(s *snapshot.Snapshot) {
				fillSensor(s, sensor0A)
				fillSensor(s, sensor3A)
				s.Config.LocalZoneOnly = true
			},
			want: map[string]string{
				"i-5202beb1625020651": "failed at load: " + sensor3A + ", " + sensor0A,
				"i-7436df31099e152cd": "created " + sensor1B,
			},
		},
		{
			name: "sensor group without a UDP 4789 rule fails placement at the security-group step",
			change: func(s *snapshot.Snapshot) {
				s.Config.LocalZoneOnly = true // one sensor per instance is left to reject
				for i, g := range s.SecurityGroups {
					if aws.ToString(g.GroupName) == "sg-sensor" {
						s.SecurityGroups[i].IpPermissions[0].IpProtocol = aws.String("tcp")
					}
				}
			},
			want: map[string]string{
				"i-0e26b3747ee8aab5c": "failed at security groups: " + sensor2C + ": sg-2860f634c900c590d: no inbound rule admits UDP 4789 from 10.0.2.32; " +
					"allow UDP 4789 into eni-dd18f95c6f095f61c from 10.0.2.32/32 or from the source's group sg-fd2bfbaf5ed131092",
			},
		},
		{
			name: "deny entry on the default ACL blocks the sensor subnets",
			change: func(s *snapshot.Snapshot) {
				s.Config.LocalZoneOnly = true
				s.NetworkAcls[0].Entries = append(s.NetworkAcls[0].Entries, entry(50, false, "17", "deny", "10.0.2.0/24", ports(4789, 4789)))
			},
			want: map[string]string{
				"i-0e26b3747ee8aab5c": "failed at network ACLs: " + sensor2C + ": acl-20c558f2339243a8a (subnet-e087e60867b7b5d58 inbound): rule 50 denies UDP 4789 from 10.0.2.32",
				"i-5202beb1625020651": "created " + sensor3A,
			},
		},
		{
			name: "explicit TargetIds restrict the candidates",
			change: func(s *snapshot.Snapshot) {
				s.Config.TargetIDs = []string{sensor0A}
			},
			want: map[string]string{
				"i-5202beb1625020651": "created " + sensor0A,
				"i-0e26b3747ee8aab5c": "created " + sensor0A + " cross-zone",
				// Its session is to sensor1B, no longer a candidate.
				"i-e45dd1e7315dfb071": "created " + sensor0A + " cross-zone",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := loadSnapshot(t, exampleAccount)
			if tt.change != nil {
				tt.change(s)
			}
			got := make(map[string]string)
			for _, inst := range instances(s) {
				id := aws.ToString(inst.InstanceId)
				if _, ok := tt.want[id]; ok {
					got[id] = decide(s, inst)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestThreeZonesSensorIsSkipped(t *testing.T) {
	s := loadSnapshot(t, exampleAccount)
	var sensorENIs []string
	for _, t := range s.TrafficMirrorTargets {
		sensorENIs = append(sensorENIs, aws.ToString(t.NetworkInterfaceId))
	}
	slices.Sort(sensorENIs)
	for _, e := range s.NetworkInterfaces {
		eni := aws.ToString(e.NetworkInterfaceId)
		_, isSensor := SensorTarget(eni, s.TrafficMirrorTargets)
		if _, listed := slices.BinarySearch(sensorENIs, eni); isSensor != listed {
			t.Errorf("SensorTarget(%s) = %v, want %v", eni, isSensor, listed)
		}
	}
	// A sensor's own instance is skipped, never placed on itself.
	inst := ec2types.Instance{
		InstanceId: aws.String("i-sensor0"),
		Placement:  &ec2types.Placement{AvailabilityZone: aws.String("us-east-1a")},
		NetworkInterfaces: []ec2types.InstanceNetworkInterface{{
			NetworkInterfaceId: aws.String("eni-cc244a893f8bcfd36"),
			SubnetId:           aws.String("subnet-05f421c502822d6a7"),
			PrivateIpAddress:   aws.String("10.0.100.10"),
			Attachment:         &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0)},
		}},
	}
	if got, want := decide(s, inst), "skipped: is sensor "+sensor0A; got != want {
		t.Errorf("sensor instance: got %q, want %q", got, want)
	}
}
