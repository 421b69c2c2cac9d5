package offline

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// BurstSummary is what a run comes to when read as a burst: what happened
// to the placements, how evenly they loaded the sensors, how many ran
// together, and how their wall time compares with the least that EC2's
// request rate allows. A sequential run is a burst of one at a time, so
// every run has one.
type BurstSummary struct {
	// Placements counts the executions, one per instance; Interfaces the
	// source interfaces they placed, and the outcomes count interfaces.
	Placements, Interfaces           int
	Created, Exists, Skipped, Failed int
	// Sensors is the number of candidate sensors in the final account, and
	// MinSessions and MaxSessions the fewest and most sessions one holds.
	Sensors, MinSessions, MaxSessions int
	MostAtOnce                        int
	// Wall runs from the first placement's start to the last one's end.
	Wall time.Duration
	// Bound is the least time EC2 allows for the created sessions' creates.
	Bound time.Duration
}

// Interval is when one placement ran.
type Interval struct{ Start, End time.Time }

// SummarizeBurst reads the summary from the placements, the account they
// left (final) and the deployment's configuration; bucket is EC2's token
// bucket for CreateTrafficMirrorSession.
func SummarizeBurst(ps []Placement, final *snapshot.Snapshot, cfg config.Config, bucket ec2sim.Bucket) BurstSummary {
	s := BurstSummary{Placements: len(ps)}
	spans := make([]Interval, 0, len(ps))
	for _, p := range ps {
		each := p.Interfaces
		if len(each) == 0 {
			each = []Result{p.Result}
		}
		for _, r := range each {
			s.Interfaces++
			switch r.Outcome {
			case workflow.OutcomeCreated:
				s.Created++
			case workflow.OutcomeExists:
				s.Exists++
			case workflow.OutcomeSkipped:
				s.Skipped++
			case workflow.OutcomeFailed:
				s.Failed++
			}
		}
		spans = append(spans, Interval{p.StartedAt, p.EndedAt})
	}
	s.Sensors, s.MinSessions, s.MaxSessions = sessionsPerSensor(final, cfg)
	s.MostAtOnce = MostAtOnce(spans)
	s.Wall = span(spans)
	s.Bound = CreateRateBound(s.Created, bucket)
	return s
}

// sessionsPerSensor counts the sessions (seeded and created) each candidate
// sensor of the final account holds and returns how many candidates there
// are, and the fewest and most sessions one holds. The candidates are picked
// as GatherCandidates picks them for any rule (placement.IsCandidate, for
// each of cfg.Scopes): the targets the scope lists, or, when it lists none,
// those carrying its SensorTag; a draining target, or one that is no
// candidate, is no sensor to fill, however many sessions it has.
func sessionsPerSensor(final *snapshot.Snapshot, cfg config.Config) (sensors, lo, hi int) {
	count := map[string]int{}
	scopes := cfg.Scopes()
	for _, t := range final.TrafficMirrorTargets {
		candidate := slices.ContainsFunc(scopes, func(sc config.Scope) bool { return placement.IsCandidate(t, sc.TargetIDs, sc.SensorTag) })
		if candidate && !placement.Draining(t) {
			count[aws.ToString(t.TrafficMirrorTargetId)] = 0
		}
	}
	for _, ms := range final.TrafficMirrorSessions {
		if n, ok := count[aws.ToString(ms.TrafficMirrorTargetId)]; ok {
			count[aws.ToString(ms.TrafficMirrorTargetId)] = n + 1
		}
	}
	if len(count) == 0 {
		return 0, 0, 0
	}
	first := true
	for _, n := range count {
		if first || n < lo {
			lo = n
		}
		if first || n > hi {
			hi = n
		}
		first = false
	}
	return len(count), lo, hi
}

// MostAtOnce is the most intervals that cover one instant. An Interval
// holds its start but not its end, so a placement that starts as another
// ends does not overlap it (a sequential run stays at one); one that ran
// for less than the clock's tick (start equals end) still ran at its start.
func MostAtOnce(spans []Interval) int {
	// At one instant, the ends of intervals that ran come first, then the
	// starts, then the ends of intervals that start and end there.
	const (
		endOfRun = iota
		start
		endOfInstant
	)
	type edge struct {
		at   time.Time
		kind int
	}
	edges := make([]edge, 0, 2*len(spans))
	for _, s := range spans {
		end := edge{s.End, endOfRun}
		if !s.End.After(s.Start) {
			end = edge{s.Start, endOfInstant}
		}
		edges = append(edges, edge{s.Start, start}, end)
	}
	sort.Slice(edges, func(i, j int) bool {
		if !edges[i].at.Equal(edges[j].at) {
			return edges[i].at.Before(edges[j].at)
		}
		return edges[i].kind < edges[j].kind
	})
	most, now := 0, 0
	for _, e := range edges {
		if e.kind == start {
			now++
		} else {
			now--
		}
		most = max(most, now)
	}
	return most
}

// span runs from the earliest start to the latest end; zero for none.
func span(spans []Interval) time.Duration {
	if len(spans) == 0 {
		return 0
	}
	first, last := spans[0].Start, spans[0].End
	for _, s := range spans[1:] {
		if s.Start.Before(first) {
			first = s.Start
		}
		if s.End.After(last) {
			last = s.End
		}
	}
	return last.Sub(first)
}

// CreateRateBound is the least time EC2 lets creates calls of one mutating
// action take: the bucket's Size go at once, each further one waits for a
// token refilled at RefillPerSecond. For CreateTrafficMirrorSession (50
// tokens at 5/s, "Request throttling for the Amazon EC2 API") M creates need
// (M−50)/5 s when M > 50.
func CreateRateBound(creates int, b ec2sim.Bucket) time.Duration {
	extra := float64(creates) - b.Size
	if extra <= 0 || b.RefillPerSecond <= 0 {
		return 0
	}
	return time.Duration(extra / b.RefillPerSecond * float64(time.Second))
}

// Lines is the summary as mirrorlocal's table output ends with it.
func (s BurstSummary) Lines() []string {
	of := fmt.Sprintf("%d placement(s)", s.Placements)
	if s.Interfaces != s.Placements {
		of = fmt.Sprintf("%d source interface(s) of %d placement(s)", s.Interfaces, s.Placements)
	}
	out := []string{fmt.Sprintf("Burst summary: %d placed, %d failed (%d exists, %d skipped) of %s", s.Created, s.Failed, s.Exists, s.Skipped, of)}
	if s.Sensors == 0 {
		out = append(out, "  sessions per sensor: no candidate sensor in the final account")
	} else {
		out = append(out, fmt.Sprintf("  sessions per sensor: %d–%d over %d candidate sensor(s) at the end (each rule's TargetIds, else the targets carrying its SensorTag; not draining)",
			s.MinSessions, s.MaxSessions, s.Sensors))
	}
	out = append(out, fmt.Sprintf("  most placements running at once: %d", s.MostAtOnce))
	wall := fmt.Sprintf("  wall %.1f s", s.Wall.Seconds())
	if s.Bound > 0 {
		out = append(out, fmt.Sprintf("%s = %.2f × the create-rate bound (%.1f s for %d sessions)",
			wall, s.Wall.Seconds()/s.Bound.Seconds(), s.Bound.Seconds(), s.Created))
	} else {
		out = append(out, fmt.Sprintf("%s; the create-rate bound is 0 s for %d sessions (EC2's bucket for them starts full)", wall, s.Created))
	}
	return out
}
