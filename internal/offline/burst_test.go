package offline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/sfnlocal"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// t0 is the instant the pure tests' placements are timed from.
var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestMostAtOnce(t *testing.T) {
	tests := []struct {
		name  string
		spans []Interval
		want  int
	}{
		{name: "no placements run none at once", want: 0},
		{name: "one placement runs alone", spans: []Interval{{at(0), at(10)}}, want: 1},
		{name: "a placement that starts as another ends does not overlap it",
			spans: []Interval{{at(0), at(10)}, {at(10), at(20)}, {at(20), at(30)}}, want: 1},
		{name: "placements started together all run at once",
			spans: []Interval{{at(0), at(30)}, {at(0), at(10)}, {at(0), at(20)}}, want: 3},
		{name: "the count is at the busiest instant, not over the whole run",
			spans: []Interval{{at(0), at(100)}, {at(10), at(30)}, {at(50), at(80)}}, want: 2},
		{name: "the order the placements are given in does not matter",
			spans: []Interval{{at(50), at(80)}, {at(10), at(60)}, {at(0), at(100)}}, want: 3},
		{name: "a placement shorter than the clock's tick still ran",
			spans: []Interval{{at(5), at(5)}}, want: 1},
		{name: "a placement shorter than the clock's tick runs with one around it",
			spans: []Interval{{at(0), at(10)}, {at(5), at(5)}}, want: 2},
		{name: "a placement shorter than the clock's tick does not overlap one ending as it runs",
			spans: []Interval{{at(0), at(5)}, {at(5), at(5)}}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MostAtOnce(tt.spans); got != tt.want {
				t.Errorf("mostAtOnce = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCreateRateBound(t *testing.T) {
	ec2 := ec2sim.AWSThrottling().Mutating
	tests := []struct {
		name    string
		creates int
		bucket  ec2sim.Bucket
		want    time.Duration
	}{
		{name: "no creates need no time", creates: 0, bucket: ec2, want: 0},
		{name: "creates within the bucket's 50 tokens need no wait", creates: 50, bucket: ec2, want: 0},
		{name: "each create past the 50th waits a fifth of a second", creates: 51, bucket: ec2, want: 200 * time.Millisecond},
		{name: "1000 creates need 190 s", creates: 1000, bucket: ec2, want: 190 * time.Second},
		{name: "a bucket that never refills gives no finite bound, reported as none", creates: 60,
			bucket: ec2sim.Bucket{Size: 50}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CreateRateBound(tt.creates, tt.bucket); got != tt.want {
				t.Errorf("CreateRateBound(%d) = %v, want %v", tt.creates, got, tt.want)
			}
		})
	}
}

func TestSummarizeBurst(t *testing.T) {
	sensorTag := config.Tag{Key: "mirrorflow:sensor", Value: "true"}
	target := func(id string, tagged bool) ec2types.TrafficMirrorTarget {
		tt := ec2types.TrafficMirrorTarget{TrafficMirrorTargetId: aws.String(id)}
		if tagged {
			tt.Tags = []ec2types.Tag{{Key: aws.String(sensorTag.Key), Value: aws.String(sensorTag.Value)}}
		}
		return tt
	}
	sessions := func(targetID string, n int) []ec2types.TrafficMirrorSession {
		var out []ec2types.TrafficMirrorSession
		for range n {
			out = append(out, ec2types.TrafficMirrorSession{TrafficMirrorTargetId: aws.String(targetID)})
		}
		return out
	}
	account := func(targets []ec2types.TrafficMirrorTarget, sessions ...[]ec2types.TrafficMirrorSession) *snapshot.Snapshot {
		s := &snapshot.Snapshot{TrafficMirrorTargets: targets}
		for _, ss := range sessions {
			s.TrafficMirrorSessions = append(s.TrafficMirrorSessions, ss...)
		}
		return s
	}
	done := func(outcome workflow.Outcome, start, end int) Placement {
		return Placement{Result: Result{Outcome: outcome}, StartedAt: at(start), EndedAt: at(end)}
	}
	byTag := config.Config{SensorTag: sensorTag}
	tests := []struct {
		name       string
		placements []Placement
		final      *snapshot.Snapshot
		cfg        config.Config
		want       BurstSummary
	}{
		{name: "each outcome is counted once",
			placements: []Placement{
				done(workflow.OutcomeCreated, 0, 10), done(workflow.OutcomeCreated, 0, 10), done(workflow.OutcomeExists, 0, 10),
				done(workflow.OutcomeSkipped, 0, 10), done(workflow.OutcomeFailed, 0, 10), done(workflow.OutcomeFailed, 0, 10),
			},
			final: account(nil), cfg: byTag,
			want: BurstSummary{Placements: 6, Interfaces: 6, Created: 2, Exists: 1, Skipped: 1, Failed: 2, MostAtOnce: 6, Wall: 10 * time.Millisecond}},
		{name: "with no list, the candidates are the targets carrying the sensor tag",
			final: account([]ec2types.TrafficMirrorTarget{target("tmt-a", true), target("tmt-b", true), target("tmt-other", false)},
				sessions("tmt-a", 3), sessions("tmt-b", 5), sessions("tmt-other", 9)),
			cfg:  byTag,
			want: BurstSummary{Sensors: 2, MinSessions: 3, MaxSessions: 5}},
		{name: "an instance of several interfaces counts each interface",
			placements: []Placement{
				{Result: Result{Outcome: workflow.OutcomeFailed, Interfaces: []Result{{Outcome: workflow.OutcomeCreated}, {Outcome: workflow.OutcomeFailed}, {Outcome: workflow.OutcomeSkipped}}},
					StartedAt: at(0), EndedAt: at(10)},
				done(workflow.OutcomeCreated, 0, 10),
			},
			final: account(nil), cfg: byTag,
			want: BurstSummary{Placements: 2, Interfaces: 4, Created: 2, Skipped: 1, Failed: 1, MostAtOnce: 2, Wall: 10 * time.Millisecond}},
		{name: "every rule's candidates count, and a draining target does not",
			final: func() *snapshot.Snapshot {
				draining := target("tmt-drain", true)
				draining.Tags = append(draining.Tags, ec2types.Tag{Key: aws.String("mirrorflow:draining"), Value: aws.String("true")})
				return account([]ec2types.TrafficMirrorTarget{target("tmt-a", true), target("tmt-pci", false), draining, target("tmt-other", false)},
					sessions("tmt-a", 2), sessions("tmt-pci", 6), sessions("tmt-drain", 9))
			}(),
			cfg: config.Config{SensorTag: sensorTag, Rules: []config.Rule{
				{Name: "pci", Match: config.Match{Tags: []config.Tag{{Key: "data", Value: "pci"}}}, TargetIDs: []string{"tmt-pci"}},
				{Name: "rest"},
			}},
			want: BurstSummary{Sensors: 2, MinSessions: 2, MaxSessions: 6}},
		{name: "a list of targets decides, whatever their tags",
			final: account([]ec2types.TrafficMirrorTarget{target("tmt-a", true), target("tmt-b", false), target("tmt-c", false)},
				sessions("tmt-a", 9), sessions("tmt-b", 2), sessions("tmt-c", 4)),
			cfg:  config.Config{TargetIDs: []string{"tmt-b", "tmt-c"}, SensorTag: sensorTag},
			want: BurstSummary{Sensors: 2, MinSessions: 2, MaxSessions: 4}},
		{name: "a candidate without sessions makes the fewest zero",
			final: account([]ec2types.TrafficMirrorTarget{target("tmt-a", true), target("tmt-b", true)}, sessions("tmt-a", 4)),
			cfg:   byTag,
			want:  BurstSummary{Sensors: 2, MinSessions: 0, MaxSessions: 4}},
		{name: "a listed target the account lacks is no sensor",
			final: account([]ec2types.TrafficMirrorTarget{target("tmt-a", false)}, sessions("tmt-a", 1), sessions("tmt-gone", 3)),
			cfg:   config.Config{TargetIDs: []string{"tmt-a", "tmt-gone"}},
			want:  BurstSummary{Sensors: 1, MinSessions: 1, MaxSessions: 1}},
		{name: "wall runs from the first start to the last end, and one after another is one at once",
			placements: []Placement{done(workflow.OutcomeExists, 100, 250), done(workflow.OutcomeExists, 20, 100), done(workflow.OutcomeExists, 250, 400)},
			final:      account(nil), cfg: byTag,
			want: BurstSummary{Placements: 3, Interfaces: 3, Exists: 3, MostAtOnce: 1, Wall: 380 * time.Millisecond}},
		{name: "the create-rate bound counts the created sessions only",
			placements: func() []Placement {
				var out []Placement
				for range 60 {
					out = append(out, done(workflow.OutcomeCreated, 0, 3000))
				}
				for range 40 {
					out = append(out, done(workflow.OutcomeFailed, 0, 3000))
				}
				return out
			}(),
			final: account(nil), cfg: byTag,
			want: BurstSummary{Placements: 100, Interfaces: 100, Created: 60, Failed: 40, MostAtOnce: 100, Wall: 3 * time.Second, Bound: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SummarizeBurst(tt.placements, tt.final, tt.cfg, ec2sim.AWSThrottling().Mutating)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBurstSummaryLines(t *testing.T) {
	tests := []struct {
		name    string
		summary BurstSummary
		want    []string
	}{
		{name: "a run past the bucket compares its wall time with the bound",
			summary: BurstSummary{Placements: 1003, Interfaces: 1003, Created: 1000, Exists: 2, Failed: 1, Sensors: 100, MinSessions: 9, MaxSessions: 11,
				MostAtOnce: 1003, Wall: 212400 * time.Millisecond, Bound: 190 * time.Second},
			want: []string{
				"Burst summary: 1000 placed, 1 failed (2 exists, 0 skipped) of 1003 placement(s)",
				"  sessions per sensor: 9–11 over 100 candidate sensor(s) at the end (each rule's TargetIds, else the targets carrying its SensorTag; not draining)",
				"  most placements running at once: 1003",
				"  wall 212.4 s = 1.12 × the create-rate bound (190.0 s for 1000 sessions)",
			}},
		{name: "a run within the bucket has a zero bound and says why, with no ratio",
			summary: BurstSummary{Placements: 7, Interfaces: 7, Created: 6, Exists: 1, Sensors: 3, MinSessions: 2, MaxSessions: 4, MostAtOnce: 7, Wall: 1234 * time.Millisecond},
			want: []string{
				"Burst summary: 6 placed, 0 failed (1 exists, 0 skipped) of 7 placement(s)",
				"  sessions per sensor: 2–4 over 3 candidate sensor(s) at the end (each rule's TargetIds, else the targets carrying its SensorTag; not draining)",
				"  most placements running at once: 7",
				"  wall 1.2 s; the create-rate bound is 0 s for 6 sessions (EC2's bucket for them starts full)",
			}},
		{name: "instances of several interfaces count interfaces, and say of how many placements",
			summary: BurstSummary{Placements: 14, Interfaces: 19, Created: 7, Exists: 1, Skipped: 9, Failed: 2, Sensors: 9, MinSessions: 0, MaxSessions: 3,
				MostAtOnce: 1, Wall: 4 * time.Second},
			want: []string{
				"Burst summary: 7 placed, 2 failed (1 exists, 9 skipped) of 19 source interface(s) of 14 placement(s)",
				"  sessions per sensor: 0–3 over 9 candidate sensor(s) at the end (each rule's TargetIds, else the targets carrying its SensorTag; not draining)",
				"  most placements running at once: 1",
				"  wall 4.0 s; the create-rate bound is 0 s for 7 sessions (EC2's bucket for them starts full)",
			}},
		{name: "an account without candidate sensors says so instead of a range",
			summary: BurstSummary{Placements: 2, Interfaces: 2, Failed: 2, MostAtOnce: 2, Wall: 300 * time.Millisecond},
			want: []string{
				"Burst summary: 0 placed, 2 failed (0 exists, 0 skipped) of 2 placement(s)",
				"  sessions per sensor: no candidate sensor in the final account",
				"  most placements running at once: 2",
				"  wall 0.3 s; the create-rate bound is 0 s for 0 sessions (EC2's bucket for them starts full)",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.summary.Lines()); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRanAt(t *testing.T) {
	events := func(stamps ...string) []sfnlocal.Event {
		var out []sfnlocal.Event
		for _, s := range stamps {
			out = append(out, sfnlocal.Event{Type: "StateEntered", Timestamp: s})
		}
		return out
	}
	tests := []struct {
		name         string
		x            sfnlocal.Execution
		start, end   time.Time
		errSubstring string
	}{
		{name: "the start is the execution's StartTime and the end its last event's timestamp",
			x:     sfnlocal.Execution{Name: "demo-i-1", StartTime: "2025-06-01T09:00:00.120Z", Events: events("2025-06-01T09:00:00.121Z", "2025-06-01T09:00:02.345Z")},
			start: at(120), end: at(2345)},
		{name: "an execution the engine reported without events is an error naming it",
			x:            sfnlocal.Execution{Name: "demo-i-1", StartTime: "2025-06-01T09:00:00.120Z"},
			errSubstring: "when demo-i-1 ran: the engine reported no events"},
		{name: "a StartTime that is no RFC 3339 time is an error naming the execution",
			x:            sfnlocal.Execution{Name: "demo-i-2", StartTime: "yesterday", Events: events("2025-06-01T09:00:00.121Z")},
			errSubstring: "reading the start time of demo-i-2"},
		{name: "a last timestamp that is no RFC 3339 time is an error naming the execution",
			x:            sfnlocal.Execution{Name: "demo-i-3", StartTime: "2025-06-01T09:00:00.120Z", Events: events("2025-06-01T09:00:00.121Z", "")},
			errSubstring: "last event of demo-i-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, err := ranAt(tt.x)
			if tt.errSubstring != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSubstring) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("ranAt = %v – %v, want %v – %v", start, end, tt.start, tt.end)
			}
		})
	}
}

func TestTimedResultJSON(t *testing.T) {
	paris := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		name               string
		started, ended     time.Time
		wantStart, wantEnd string
	}{
		{name: "times carry their milliseconds",
			started: at(120), ended: at(2345),
			wantStart: "2025-06-01T09:00:00.120Z", wantEnd: "2025-06-01T09:00:02.345Z"},
		{name: "a time on a whole second still has a fraction",
			started: at(0), ended: at(1000),
			wantStart: "2025-06-01T09:00:00.000Z", wantEnd: "2025-06-01T09:00:01.000Z"},
		{name: "a time in another zone is printed in UTC",
			started: at(5).In(paris), ended: at(6).In(paris),
			wantStart: "2025-06-01T09:00:00.005Z", wantEnd: "2025-06-01T09:00:00.006Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Placement{
				Result:    Result{InstanceID: "i-1", Outcome: workflow.OutcomeCreated, TargetID: "tmt-a", SessionID: "tms-1"},
				StartedAt: tt.started, EndedAt: tt.ended,
			}
			raw, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"instanceId": "i-1", "outcome": "created", "targetId": "tmt-a", "sessionId": "tms-1",
				"startedAt": tt.wantStart, "endedAt": tt.wantEnd,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecutionBound(t *testing.T) {
	// templateWith writes a template whose state machine has def as its definition.
	templateWith := func(t *testing.T, def string) string {
		t.Helper()
		tmpl, _ := json.Marshal(map[string]any{"Resources": map[string]any{
			"Machine": map[string]any{"Type": "AWS::StepFunctions::StateMachine", "Properties": map[string]any{"DefinitionString": def}},
		}})
		path := filepath.Join(t.TempDir(), "template.json")
		if err := os.WriteFile(path, tmpl, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const states = `"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}`
	tests := []struct {
		name     string
		flag     time.Duration
		template func(t *testing.T) string
		want     time.Duration
	}{
		{name: "a --timeout given is the bound, whatever the definition says", flag: 90 * time.Minute,
			template: func(t *testing.T) string { return templateWith(t, `{"TimeoutSeconds": 60, `+states+`}`) },
			want:     90 * time.Minute},
		{name: "without --timeout, the definition's TimeoutSeconds plus the grace is the bound",
			template: func(t *testing.T) string { return templateWith(t, `{"TimeoutSeconds": 60, `+states+`}`) },
			want:     time.Minute + timeoutGrace},
		{name: "the synthesized state machine gives a placement an hour and the grace",
			template: func(*testing.T) string { return built.Template },
			want:     time.Hour + timeoutGrace},
		{name: "a definition without TimeoutSeconds has no bound, as AWS's year is none",
			template: func(t *testing.T) string { return templateWith(t, `{`+states+`}`) },
			want:     0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExecutionBound(tt.flag, tt.template(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ExecutionBound = %v, want %v", got, tt.want)
			}
		})
	}
}
