package placement

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sessionsFrom makes n sessions to targetID, from n distinct interfaces
// named prefix-0, prefix-1, ...
func sessionsFrom(targetID, prefix string, n int) []ec2types.TrafficMirrorSession {
	var out []ec2types.TrafficMirrorSession
	for i := range n {
		eni := fmt.Sprintf("%s-%d", prefix, i)
		out = append(out, session("tms-"+targetID+"-"+eni, targetID, eni))
	}
	return out
}

func zoned(s Sensor, same bool) Sensor {
	s.SameZone = same
	if !same {
		s.AvailabilityZone = zoneB
	}
	return s
}

func withMax(s Sensor, n int) Sensor {
	s.MaxSources = n
	return s
}

func TestPickLeastLoaded(t *testing.T) {
	tests := []struct {
		name          string
		sensors       []Sensor
		sessions      []ec2types.TrafficMirrorSession
		full          []string // found full at CreateSession earlier in the placement
		wantChosen    string   // "" means ok=false
		wantCrossZone bool
		wantLoad      map[string]int
		wantRejected  []Rejection
		wantNote      string
	}{
		{
			name:       "full sensor is dropped: 10 of 10 sources",
			sensors:    []Sensor{zoned(testSensor("tmt-1", "eni-1"), true), zoned(testSensor("tmt-2", "eni-2"), true)},
			sessions:   sessionsFrom("tmt-1", "eni-a", 10),
			wantChosen: "tmt-2",
			wantLoad:   map[string]int{"tmt-1": 10, "tmt-2": 0},
			wantRejected: []Rejection{{TargetID: "tmt-1",
				Reason: "full: 10 of 10 sources on eni-1; add a sensor or use an instance size that accepts 100 sources"}},
			wantNote: "tmt-2 (eni-2 in us-east-1a): 0 sessions, 10 of 10 source slots free; the only same-zone sensor left",
		},
		{
			name:    "capacity counts distinct sources, not sessions",
			sensors: []Sensor{zoned(testSensor("tmt-1", "eni-1"), true)},
			// 12 sessions from 9 interfaces: three interfaces hold two sessions each.
			sessions:   append(sessionsFrom("tmt-1", "eni-a", 9), sessionsFrom("tmt-1", "eni-a", 3)...),
			wantChosen: "tmt-1",
			wantLoad:   map[string]int{"tmt-1": 12},
			wantNote:   "tmt-1 (eni-1 in us-east-1a): 12 sessions, 1 of 10 source slots free; the only same-zone sensor left",
		},
		{
			name:       "a session from the source itself does not count against capacity",
			sensors:    []Sensor{zoned(testSensor("tmt-1", "eni-1"), true)},
			sessions:   append(sessionsFrom("tmt-1", "eni-a", 9), session("tms-own", "tmt-1", srcENI)),
			wantChosen: "tmt-1",
			wantLoad:   map[string]int{"tmt-1": 10},
			wantNote:   "tmt-1 (eni-1 in us-east-1a): 10 sessions, 1 of 10 source slots free; the only same-zone sensor left",
		},
		{
			name:       "a 100-source size is not full at 10",
			sensors:    []Sensor{withMax(zoned(testSensor("tmt-1", "eni-1"), true), 100)},
			sessions:   sessionsFrom("tmt-1", "eni-a", 10),
			wantChosen: "tmt-1",
			wantLoad:   map[string]int{"tmt-1": 10},
			wantNote:   "tmt-1 (eni-1 in us-east-1a): 10 sessions, 90 of 100 source slots free; the only same-zone sensor left",
		},
		{
			name: "full names the instance type when known",
			sensors: []Sensor{func() Sensor {
				s := zoned(testSensor("tmt-1", "eni-1"), true)
				s.InstanceType = "m5.large"
				return s
			}()},
			sessions: sessionsFrom("tmt-1", "eni-a", 11),
			wantLoad: map[string]int{"tmt-1": 11},
			wantRejected: []Rejection{{TargetID: "tmt-1",
				Reason: "full: 11 of 10 sources on eni-1 (m5.large); add a sensor or use an instance size that accepts 100 sources"}},
			wantNote: "no sensor left for eni-src: 1 of 1 full",
		},
		{
			name: "load-balancer target is never full and its notes are repeated",
			sensors: []Sensor{func() Sensor {
				s := lbSensor("tmt-nlb", TargetNetworkLB)
				s.SameZone = true
				s.Notes = []string{"security groups not checked"}
				return s
			}()},
			sessions:   sessionsFrom("tmt-nlb", "eni-a", 500),
			wantChosen: "tmt-nlb",
			wantLoad:   map[string]int{"tmt-nlb": 500},
			wantNote:   "tmt-nlb (tmt-nlb): 500 sessions; the only same-zone sensor left; security groups not checked",
		},
		{
			name:       "same-zone sensor is preferred over a less loaded one in another zone",
			sensors:    []Sensor{zoned(testSensor("tmt-1", "eni-1"), false), zoned(testSensor("tmt-2", "eni-2"), true)},
			sessions:   sessionsFrom("tmt-2", "eni-b", 9),
			wantChosen: "tmt-2",
			wantLoad:   map[string]int{"tmt-1": 0, "tmt-2": 9},
			wantNote:   "tmt-2 (eni-2 in us-east-1a): 9 sessions, 1 of 10 source slots free; the only same-zone sensor left",
		},
		{
			name:          "other-zone sensor is used only when no same-zone sensor is left",
			sensors:       []Sensor{zoned(testSensor("tmt-1", "eni-1"), false), zoned(testSensor("tmt-2", "eni-2"), true)},
			sessions:      sessionsFrom("tmt-2", "eni-b", 10),
			wantChosen:    "tmt-1",
			wantCrossZone: true,
			wantLoad:      map[string]int{"tmt-1": 0, "tmt-2": 10},
			wantRejected: []Rejection{{TargetID: "tmt-2",
				Reason: "full: 10 of 10 sources on eni-2; add a sensor or use an instance size that accepts 100 sources"}},
			wantNote: "tmt-1 (eni-1 in us-east-1b): 0 sessions, 10 of 10 source slots free; the only other-zone sensor left; no sensor in us-east-1a was left, so the mirrored traffic crosses zones",
		},
		{
			name:       "a sensor CreateSession found full is not picked again, even when its count says it has room",
			sensors:    []Sensor{zoned(testSensor("tmt-1", "eni-1"), true), zoned(testSensor("tmt-2", "eni-2"), false)},
			sessions:   sessionsFrom("tmt-1", "eni-a", 9),
			full:       []string{"tmt-1"},
			wantChosen: "tmt-2", wantCrossZone: true,
			wantLoad: map[string]int{"tmt-1": 9, "tmt-2": 0},
			wantRejected: []Rejection{{TargetID: "tmt-1",
				Reason: "full: EC2 refused another source at CreateSession earlier in this placement (9 of 10 sources on eni-1 when counted again); add a sensor or use an instance size that accepts 100 sources"}},
			wantNote: "tmt-2 (eni-2 in us-east-1b): 0 sessions, 10 of 10 source slots free; the only other-zone sensor left; no sensor in us-east-1a was left, so the mirrored traffic crosses zones",
		},
		{
			name:     "every sensor found full leaves nothing to pick",
			sensors:  []Sensor{zoned(testSensor("tmt-1", "eni-1"), true)},
			full:     []string{"tmt-1"},
			wantLoad: map[string]int{"tmt-1": 0},
			wantRejected: []Rejection{{TargetID: "tmt-1",
				Reason: "full: EC2 refused another source at CreateSession earlier in this placement (0 of 10 sources on eni-1 when counted again); add a sensor or use an instance size that accepts 100 sources"}},
			wantNote: "no sensor left for eni-src: 1 of 1 full",
		},
		{
			name:     "no sensor given leaves nothing to pick",
			wantLoad: map[string]int{},
			wantNote: "no sensor left for eni-src: 0 of 0 full",
		},
		{
			name:       "sessions to other targets are not counted",
			sensors:    []Sensor{zoned(testSensor("tmt-1", "eni-1"), true)},
			sessions:   append(sessionsFrom("tmt-foreign", "eni-a", 20), sessionsFrom("tmt-1", "eni-b", 1)...),
			wantChosen: "tmt-1",
			wantLoad:   map[string]int{"tmt-1": 1},
			wantNote:   "tmt-1 (eni-1 in us-east-1a): 1 session, 9 of 10 source slots free; the only same-zone sensor left",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := PickLeastLoaded(testSource(), tt.sensors, tt.sessions, tt.full)
			if ok != (tt.wantChosen != "") || p.Chosen.TargetID != tt.wantChosen {
				t.Fatalf("PickLeastLoaded chose %q (ok=%v), want %q", p.Chosen.TargetID, ok, tt.wantChosen)
			}
			if p.CrossZone != tt.wantCrossZone {
				t.Errorf("CrossZone = %v, want %v", p.CrossZone, tt.wantCrossZone)
			}
			if diff := cmp.Diff(tt.wantLoad, p.Load); diff != "" {
				t.Errorf("Load mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRejected, p.Rejected, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Rejected mismatch (-want +got):\n%s", diff)
			}
			if p.Note != tt.wantNote {
				t.Errorf("Note = %q\nwant   %q", p.Note, tt.wantNote)
			}
		})
	}
}

// TestPickLeastLoadedTieBreak checks the tie-break on equally loaded
// sensors: the same source always gets the same sensor whatever order the
// sensors come in, and different sources spread over all of them.
func TestPickLeastLoadedTieBreak(t *testing.T) {
	var sensors []Sensor
	for i := range 4 {
		sensors = append(sensors, zoned(testSensor(fmt.Sprintf("tmt-%d", i), fmt.Sprintf("eni-%d", i)), true))
	}
	reversed := slices.Clone(sensors)
	slices.Reverse(reversed)

	t.Run("equal load is broken the same way whatever the input order", func(t *testing.T) {
		for i := range 50 {
			src := testSource()
			src.NetworkInterfaceID = fmt.Sprintf("eni-app-%d", i)
			a, okA := PickLeastLoaded(src, sensors, nil, nil)
			b, okB := PickLeastLoaded(src, reversed, nil, nil)
			if !okA || !okB || a.Chosen.TargetID != b.Chosen.TargetID {
				t.Fatalf("source %s: chose %q then %q for the same sensors in another order", src.NetworkInterfaceID, a.Chosen.TargetID, b.Chosen.TargetID)
			}
		}
	})
	t.Run("equal load spreads sources over every tied sensor", func(t *testing.T) {
		counts := make(map[string]int)
		const n = 400
		for i := range n {
			src := testSource()
			src.NetworkInterfaceID = fmt.Sprintf("eni-%017x", i*7919)
			p, ok := PickLeastLoaded(src, sensors, nil, nil)
			if !ok {
				t.Fatal("no sensor picked among four empty ones")
			}
			counts[p.Chosen.TargetID]++
		}
		for _, s := range sensors {
			// A fair split is 100 each; the lowest id taking everything was the bug.
			if c := counts[s.TargetID]; c < n/4/2 {
				t.Errorf("%s was chosen %d times of %d; tie-break does not spread load: %v", s.TargetID, c, n, counts)
			}
		}
	})
	t.Run("a full sensor is never chosen, whatever the hash", func(t *testing.T) {
		sessions := sessionsFrom("tmt-0", "eni-x", 10)
		for i := range 50 {
			src := testSource()
			src.NetworkInterfaceID = fmt.Sprintf("eni-app-%d", i)
			if p, _ := PickLeastLoaded(src, sensors, sessions, nil); p.Chosen.TargetID == "tmt-0" {
				t.Fatalf("source %s chose the full tmt-0", src.NetworkInterfaceID)
			}
		}
	})
}

// TestPickTakesTheFewestSessions is rule 11 for a placement running alone:
// of the same-zone sensors with room, one with the fewest sessions wins,
// whatever its free slots and whatever the hash says of the source.
func TestPickTakesTheFewestSessions(t *testing.T) {
	big := zoned(testSensor("tmt-big", "eni-big"), true)
	big.MaxSources = 100
	sensors := []Sensor{
		zoned(testSensor("tmt-a", "eni-a"), true), // 2 sessions, 8 free
		big,                                       // 3 sessions, 97 free
		zoned(testSensor("tmt-c", "eni-c"), true), // 1 session, 9 free
		zoned(testSensor("tmt-d", "eni-d"), true), // 1 session, 9 free
	}
	sessions := append(sessionsFrom("tmt-a", "eni-x", 2), sessionsFrom("tmt-big", "eni-y", 3)...)
	sessions = append(sessions, sessionsFrom("tmt-c", "eni-z", 1)...)
	sessions = append(sessions, sessionsFrom("tmt-d", "eni-w", 1)...)
	for i := range 200 {
		src := testSource()
		src.NetworkInterfaceID = fmt.Sprintf("eni-%017x", i*104729)
		p, ok := PickLeastLoaded(src, sensors, sessions, nil)
		if !ok || (p.Chosen.TargetID != "tmt-c" && p.Chosen.TargetID != "tmt-d") {
			t.Fatalf("source %s chose %q (ok=%v), want tmt-c or tmt-d, the sensors with the fewest sessions", src.NetworkInterfaceID, p.Chosen.TargetID, ok)
		}
		if !strings.Contains(p.Note, "the fewest sessions of 4 same-zone sensors, tied with 1 other(s)") {
			t.Fatalf("note %q does not say the fewest sessions won, among a tie", p.Note)
		}
	}
}

// TestPickSpreadsTiesInProportionToFreeSlots is the burst case: many
// placements read the same counts and pick at once. The sensors tied at the
// fewest sessions must each be chosen in proportion to their free slots,
// so that the picks spread over the room there is instead of all landing on
// one sensor.
func TestPickSpreadsTiesInProportionToFreeSlots(t *testing.T) {
	big := zoned(testSensor("tmt-big", "eni-big"), true)
	big.MaxSources = 100
	sensors := []Sensor{
		zoned(testSensor("tmt-a", "eni-a"), true), // 2 sessions, 8 free
		big,                                       // 2 sessions, 98 free
		zoned(testSensor("tmt-c", "eni-c"), true), // 2 sessions, 8 free
		zoned(testSensor("tmt-d", "eni-d"), true), // 3 sessions: not tied, never chosen
	}
	var sessions []ec2types.TrafficMirrorSession
	for _, id := range []string{"tmt-a", "tmt-big", "tmt-c"} {
		sessions = append(sessions, sessionsFrom(id, "eni-"+id, 2)...)
	}
	sessions = append(sessions, sessionsFrom("tmt-d", "eni-z", 3)...)
	free := map[string]int{"tmt-a": 8, "tmt-big": 98, "tmt-c": 8}
	const n = 4000
	counts := map[string]int{}
	for i := range n {
		src := testSource()
		src.NetworkInterfaceID = fmt.Sprintf("eni-%017x", i*104729)
		p, ok := PickLeastLoaded(src, sensors, sessions, nil)
		if !ok {
			t.Fatal("nothing picked")
		}
		counts[p.Chosen.TargetID]++
	}
	if counts["tmt-d"] != 0 {
		t.Errorf("tmt-d, with more sessions than the others, was chosen %d times", counts["tmt-d"])
	}
	for id, f := range free {
		want := float64(n) * float64(f) / 114
		if got := float64(counts[id]); got < want*0.8 || got > want*1.2 {
			t.Errorf("%s (%d of 114 free slots among the tied) was chosen %d times of %d, want about %.0f: %v", id, f, counts[id], n, want, counts)
		}
	}
}

// TestPickOneAtATimeUsesEverySlot places sources one after another, each
// seeing the sessions of those before, as mirrorctl plan and a quiet day do:
// exactly as many sources as there are free slots all find one, and no
// sensor takes more than it had free.
func TestPickOneAtATimeUsesEverySlot(t *testing.T) {
	var sensors []Sensor
	for i := range 12 {
		sensors = append(sensors, zoned(testSensor(fmt.Sprintf("tmt-%02d", i), fmt.Sprintf("eni-%02d", i)), true))
	}
	// Four sensors start half full.
	var sessions []ec2types.TrafficMirrorSession
	for i := range 4 {
		sessions = append(sessions, sessionsFrom(fmt.Sprintf("tmt-%02d", i), fmt.Sprintf("eni-old-%d", i), 5)...)
	}
	took := map[string]int{}
	for i := range 100 {
		src := testSource()
		src.NetworkInterfaceID = fmt.Sprintf("eni-%017x", i*7919)
		p, ok := PickLeastLoaded(src, sensors, sessions, nil)
		if !ok {
			t.Fatalf("source %d of 100 found no room on 12 sensors with 100 free slots", i+1)
		}
		sessions = append(sessions, session(fmt.Sprintf("tms-%d", i), p.Chosen.TargetID, src.NetworkInterfaceID))
		took[p.Chosen.TargetID]++
	}
	for _, s := range sensors {
		if took[s.TargetID] > 10 || (s.TargetID < "tmt-04" && took[s.TargetID] > 5) {
			t.Errorf("%s took %d sources, more than its free slots", s.TargetID, took[s.TargetID])
		}
	}
}

func TestRendezvousSeparatesIDBoundaries(t *testing.T) {
	if rendezvous("eni-ab", "c") == rendezvous("eni-a", "bc") {
		t.Error(`rendezvous("eni-ab","c") equals rendezvous("eni-a","bc"); the ids must be kept apart`)
	}
}
