package placement

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Pick is PickLeastLoaded's decision.
type Pick struct {
	// Chosen is the sensor the new session goes to; zero when ok is false.
	Chosen Sensor `json:"chosen"`
	// Rejected lists the sensors dropped because they are full.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Load is the number of sessions per target id, for every sensor given.
	Load map[string]int `json:"load"`
	// CrossZone is set when Chosen is in another zone than the source,
	// which happens only when no same-zone sensor was left.
	CrossZone bool `json:"crossZone"`
	// Note explains the choice, including checks that were not made.
	Note string `json:"note"`
}

// PickLeastLoaded chooses among sensors that passed every filter. It drops
// full sensors (distinct source interfaces >= MaxSources, not counting src,
// since re-placing src does not add a source), prefers same-zone sensors and
// falls back to others only when no same-zone sensor is left, then takes the
// one with the fewest sessions. Equally loaded sensors are ranked by
// rendezvous hashing of src.NetworkInterfaceID with the target id: the
// result is deterministic, yet different sources spread over the tied
// sensors instead of all piling onto the lowest id, which matters when many
// placements run in parallel from the same snapshot. ok is false when no
// sensor is left.
func PickLeastLoaded(src Source, sensors []Sensor, sessions []ec2types.TrafficMirrorSession) (p Pick, ok bool) {
	p.Load = make(map[string]int, len(sensors))
	sources := make(map[string]map[string]bool, len(sensors))
	for _, s := range sensors {
		p.Load[s.TargetID] = 0
		sources[s.TargetID] = make(map[string]bool)
	}
	for _, ss := range sessions {
		tid := aws.ToString(ss.TrafficMirrorTargetId)
		srcs, ok := sources[tid]
		if !ok {
			continue
		}
		p.Load[tid]++
		if eni := aws.ToString(ss.NetworkInterfaceId); eni != "" && eni != src.NetworkInterfaceID {
			srcs[eni] = true
		}
	}

	var same, other []Sensor
	for _, s := range sensors {
		if n := len(sources[s.TargetID]); s.MaxSources > 0 && n >= s.MaxSources {
			p.Rejected = append(p.Rejected, Rejection{TargetID: s.TargetID, Reason: fmt.Sprintf(
				"full: %d of %d sources on %s%s; add a sensor or use an instance size that accepts 100 sources",
				n, s.MaxSources, s.resourceName(), instanceTypeSuffix(s.InstanceType))})
			continue
		}
		if s.SameZone {
			same = append(same, s)
		} else {
			other = append(other, s)
		}
	}
	sortRejections(p.Rejected)

	pool, poolName := same, "same-zone"
	if len(same) == 0 {
		pool, poolName = other, "other-zone"
		p.CrossZone = len(other) > 0
	}
	if len(pool) == 0 {
		p.Note = fmt.Sprintf("no sensor left for %s: %d of %d full", src.NetworkInterfaceID, len(p.Rejected), len(sensors))
		return p, false
	}
	best := slices.MinFunc(pool, func(a, b Sensor) int {
		return cmp.Or(
			cmp.Compare(p.Load[a.TargetID], p.Load[b.TargetID]),
			// Higher rendezvous score first.
			cmp.Compare(rendezvous(src.NetworkInterfaceID, b.TargetID), rendezvous(src.NetworkInterfaceID, a.TargetID)),
			cmp.Compare(a.TargetID, b.TargetID),
		)
	})
	p.Chosen = best

	var note strings.Builder
	fmt.Fprintf(&note, "%s (%s", best.TargetID, best.resourceName())
	if best.AvailabilityZone != "" {
		fmt.Fprintf(&note, " in %s", best.AvailabilityZone)
	}
	fmt.Fprintf(&note, "): %s, ", plural(p.Load[best.TargetID], "session"))
	if len(pool) == 1 {
		fmt.Fprintf(&note, "the only %s sensor left", poolName)
	} else {
		fmt.Fprintf(&note, "the fewest of %d %s sensors", len(pool), poolName)
	}
	if p.CrossZone {
		fmt.Fprintf(&note, "; no sensor in %s was left, so the mirrored traffic crosses zones", zoneName(src.AvailabilityZone))
	}
	for _, n := range best.Notes {
		note.WriteString("; ")
		note.WriteString(n)
	}
	p.Note = note.String()
	return p, true
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func instanceTypeSuffix(t string) string {
	if t == "" {
		return ""
	}
	return " (" + t + ")"
}

// rendezvous scores the pair (source, target) for highest-random-weight
// hashing: FNV-1a, then a 64-bit finalizer so that ids differing in one
// character still land far apart.
func rendezvous(sourceENI, targetID string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	x := uint64(offset)
	for i := 0; i < len(sourceENI); i++ {
		x = (x ^ uint64(sourceENI[i])) * prime
	}
	x *= prime // a zero byte between the ids, so ("ab","c") differs from ("a","bc")
	for i := 0; i < len(targetID); i++ {
		x = (x ^ uint64(targetID[i])) * prime
	}
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
