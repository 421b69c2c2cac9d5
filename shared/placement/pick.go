package placement

import (
	"cmp"
	"fmt"
	"math"
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
	// Free is the number of source slots left per target id, for the
	// sensors with a limit that are not full.
	Free map[string]int `json:"free,omitempty"`
	// CrossZone is set when Chosen is in another zone than the source,
	// which happens only when no same-zone sensor was left.
	CrossZone bool `json:"crossZone"`
	// Note explains the choice, including checks that were not made.
	Note string `json:"note"`
}

// PickLeastLoaded chooses among sensors that passed every filter. It drops
// full sensors (distinct source interfaces >= MaxSources, not counting src,
// since re-placing src does not add a source) and the sensors in full, which
// CreateSession found full earlier in this placement (EC2 refused another
// source while the counts said there was room). It prefers same-zone
// sensors and falls back to others only when no same-zone sensor is left.
//
// Of the sensors left, one with the fewest sessions wins (rule 11 of the
// snapshot format), so a placement running alone always goes to a
// least-loaded sensor. Several often tie: when an Auto Scaling group starts
// hundreds of instances, their placements read the same counts at nearly
// the same time, and all taking the same one would overfill it. So the tie
// is broken by weighted rendezvous hashing of src.NetworkInterfaceID with
// each tied target id, weighted by the target's free source slots:
// deterministic for a source and the counts it read, and over many sources
// each tied sensor is chosen in proportion to its free slots, which is how
// a burst spreads over every sensor it can. A sensor that a burst fills
// regardless is caught at CreateSession as SensorFull and picked around.
// Targets without a limit (load balancers) weigh as much as the emptiest
// limited sensor tied with them, or all alike when none has a limit.
// ok is false when no sensor is left.
func PickLeastLoaded(src Source, sensors []Sensor, sessions []ec2types.TrafficMirrorSession, full []string) (p Pick, ok bool) {
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
	p.Free = map[string]int{}
	for _, s := range sensors {
		n := len(sources[s.TargetID])
		switch {
		case slices.Contains(full, s.TargetID):
			p.Rejected = append(p.Rejected, Rejection{TargetID: s.TargetID, Reason: fmt.Sprintf(
				"full: EC2 refused another source at CreateSession earlier in this placement (%d of %d sources on %s%s when counted again); add a sensor or use an instance size that accepts 100 sources",
				n, s.MaxSources, s.resourceName(), instanceTypeSuffix(s.InstanceType))})
			continue
		case s.MaxSources > 0 && n >= s.MaxSources:
			p.Rejected = append(p.Rejected, Rejection{TargetID: s.TargetID, Reason: fmt.Sprintf(
				"full: %d of %d sources on %s%s; add a sensor or use an instance size that accepts 100 sources",
				n, s.MaxSources, s.resourceName(), instanceTypeSuffix(s.InstanceType))})
			continue
		case s.MaxSources > 0:
			p.Free[s.TargetID] = s.MaxSources - n
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
	fewest := slices.MinFunc(pool, func(a, b Sensor) int { return cmp.Compare(p.Load[a.TargetID], p.Load[b.TargetID]) })
	tied := slices.DeleteFunc(slices.Clone(pool), func(s Sensor) bool { return p.Load[s.TargetID] > p.Load[fewest.TargetID] })
	weight := weights(tied, p.Free)
	best := slices.MinFunc(tied, func(a, b Sensor) int {
		return cmp.Or(
			cmp.Compare(rendezvousScore(src.NetworkInterfaceID, a.TargetID, weight[a.TargetID]),
				rendezvousScore(src.NetworkInterfaceID, b.TargetID, weight[b.TargetID])),
			cmp.Compare(a.TargetID, b.TargetID),
		)
	})
	p.Chosen = best
	p.Note = pickNote(src, p, len(pool), len(tied), poolName)
	return p, true
}

// weights gives each tied sensor its weight in the choice: its free
// source slots, or for a target without a limit the most free slots of any
// limited sensor in the pool (1 when none has a limit, so all weigh alike).
func weights(pool []Sensor, free map[string]int) map[string]float64 {
	unlimited := 1
	for _, s := range pool {
		if f, ok := free[s.TargetID]; ok && f > unlimited {
			unlimited = f
		}
	}
	w := make(map[string]float64, len(pool))
	for _, s := range pool {
		if f, ok := free[s.TargetID]; ok {
			w[s.TargetID] = float64(f)
		} else {
			w[s.TargetID] = float64(unlimited)
		}
	}
	return w
}

// pickNote says which sensor was chosen and why, for the console and the
// plan: pool sensors had room, tied of them the fewest sessions.
func pickNote(src Source, p Pick, pool, tied int, poolName string) string {
	best := p.Chosen
	var note strings.Builder
	fmt.Fprintf(&note, "%s (%s", best.TargetID, best.resourceName())
	if best.AvailabilityZone != "" {
		fmt.Fprintf(&note, " in %s", best.AvailabilityZone)
	}
	fmt.Fprintf(&note, "): %s", plural(p.Load[best.TargetID], "session"))
	if f, ok := p.Free[best.TargetID]; ok {
		fmt.Fprintf(&note, ", %d of %d source slots free", f, best.MaxSources)
	}
	switch {
	case pool == 1:
		fmt.Fprintf(&note, "; the only %s sensor left", poolName)
	case tied == 1:
		fmt.Fprintf(&note, "; the fewest sessions of %d %s sensors", pool, poolName)
	default:
		fmt.Fprintf(&note, "; the fewest sessions of %d %s sensors, tied with %d other(s): chosen among them weighted by free slots, so that placements running at once spread out",
			pool, poolName, tied-1)
	}
	if p.CrossZone {
		fmt.Fprintf(&note, "; no sensor in %s was left, so the mirrored traffic crosses zones", zoneName(src.AvailabilityZone))
	}
	for _, n := range best.Notes {
		note.WriteString("; ")
		note.WriteString(n)
	}
	return note.String()
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

// rendezvousScore is the weighted rendezvous (highest random weight) score
// of the pair (source, target): -ln(u)/weight, with u uniform in (0, 1) from
// hashing the pair. The smallest score wins, which makes each target win
// with probability weight/sum(weights) over many sources, and the winner for
// one source stable while the weights stay the same.
func rendezvousScore(sourceENI, targetID string, weight float64) float64 {
	if weight <= 0 {
		return math.Inf(1)
	}
	u := (float64(rendezvous(sourceENI, targetID)>>11) + 0.5) / (1 << 53)
	return -math.Log(u) / weight
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
