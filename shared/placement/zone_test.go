package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestFilterByZone(t *testing.T) {
	inZone := func(s Sensor, zone string, same bool) Sensor {
		s.AvailabilityZone, s.SameZone = zone, same
		return s
	}
	inZones := func(s Sensor, zones ...string) Sensor {
		s.Zones = zones
		return s
	}
	sameZone := func(s Sensor, same bool) Sensor {
		s.SameZone = same
		return s
	}
	lbNote := func(s Sensor, note string) Sensor {
		s.SameZone = true
		s.Notes = []string{note}
		return s
	}
	tests := []struct {
		name          string
		sensors       []Sensor
		localZoneOnly bool
		wantKept      []Sensor
		wantRejected  []Rejection
		src           func(Source) Source // changes the shared source, when set
	}{
		{
			name:     "sensor in the source's zone is same-zone",
			sensors:  []Sensor{inZone(testSensor("tmt-1", "eni-1"), zoneA, false)},
			wantKept: []Sensor{inZone(testSensor("tmt-1", "eni-1"), zoneA, true)},
		},
		{
			name:     "sensor in another zone is kept as a fallback without LocalZoneOnly",
			sensors:  []Sensor{inZone(testSensor("tmt-1", "eni-1"), zoneB, true)},
			wantKept: []Sensor{inZone(testSensor("tmt-1", "eni-1"), zoneB, false)},
		},
		{
			name:          "LocalZoneOnly rejects a sensor in another zone",
			sensors:       []Sensor{inZone(testSensor("tmt-2", "eni-2"), zoneB, false), inZone(testSensor("tmt-1", "eni-1"), zoneA, false)},
			localZoneOnly: true,
			wantKept:      []Sensor{inZone(testSensor("tmt-1", "eni-1"), zoneA, true)},
			wantRejected: []Rejection{{TargetID: "tmt-2",
				Reason: "eni-2 in us-east-1b, source eni-src is in us-east-1a (LocalZoneOnly); add a sensor in us-east-1a or turn LocalZoneOnly off"}},
		},
		{
			name:          "LocalZoneOnly rejects a sensor whose zone is unknown",
			sensors:       []Sensor{inZone(testSensor("tmt-1", "eni-1"), "", false)},
			localZoneOnly: true,
			wantRejected: []Rejection{{TargetID: "tmt-1",
				Reason: "eni-1 in an unknown zone, source eni-src is in us-east-1a (LocalZoneOnly); add a sensor in us-east-1a or turn LocalZoneOnly off"}},
		},
		{
			name:          "Network Load Balancer is same-zone when one of its zones is the source's",
			sensors:       []Sensor{inZones(lbSensor("tmt-nlb", TargetNetworkLB), zoneB, zoneA)},
			localZoneOnly: true,
			wantKept:      []Sensor{sameZone(inZones(lbSensor("tmt-nlb", TargetNetworkLB), zoneB, zoneA), true)},
		},
		{
			name:     "Network Load Balancer none of whose zones is the source's is kept as a fallback without LocalZoneOnly",
			sensors:  []Sensor{inZones(lbSensor("tmt-nlb", TargetNetworkLB), zoneB, "us-east-1c")},
			wantKept: []Sensor{inZones(lbSensor("tmt-nlb", TargetNetworkLB), zoneB, "us-east-1c")},
		},
		{
			name:          "LocalZoneOnly rejects a Network Load Balancer none of whose zones is the source's, naming them",
			sensors:       []Sensor{inZones(lbSensor("tmt-nlb", TargetNetworkLB), zoneB, "us-east-1c", "us-east-1d")},
			localZoneOnly: true,
			wantRejected: []Rejection{{TargetID: "tmt-nlb",
				Reason: "tmt-nlb in us-east-1b, us-east-1c and us-east-1d, source eni-src is in us-east-1a (LocalZoneOnly); add a sensor in us-east-1a or turn LocalZoneOnly off"}},
		},
		{
			name:          "load-balancer target in one zone is judged like an interface",
			sensors:       []Sensor{inZone(lbSensor("tmt-gwlbe", TargetGatewayLBE), zoneB, false)},
			localZoneOnly: true,
			wantRejected: []Rejection{{TargetID: "tmt-gwlbe",
				Reason: "tmt-gwlbe in us-east-1b, source eni-src is in us-east-1a (LocalZoneOnly); add a sensor in us-east-1a or turn LocalZoneOnly off"}},
		},
		{
			name:     "an unknown zone is not the same zone as another unknown zone",
			sensors:  []Sensor{inZone(testSensor("tmt-1", "eni-1"), "", true)},
			wantKept: []Sensor{inZone(testSensor("tmt-1", "eni-1"), "", false)},
			src:      func(s Source) Source { s.AvailabilityZone = ""; return s },
		},
		{
			name:          "load-balancer target has no zone and counts as same-zone",
			sensors:       []Sensor{lbSensor("tmt-nlb", TargetNetworkLB)},
			localZoneOnly: true,
			wantKept:      []Sensor{lbNote(lbSensor("tmt-nlb", TargetNetworkLB), "zone not checked: a network-load-balancer target has no zone of its own")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := testSource()
			if tt.src != nil {
				src = tt.src(src)
			}
			kept, rejected := FilterByZone(src, tt.sensors, tt.localZoneOnly)
			if diff := cmp.Diff(tt.wantKept, kept, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("kept mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRejected, rejected, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rejected mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
