package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/artifacts"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

const root = "../.."

var built artifacts.Artifacts

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mirrorlocal-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built, err = artifacts.Build(root, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building what mirrorlocal runs:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir) // best effort: a leftover temp folder fails no test
	os.Exit(code)
}

func demo(snapshotName, output string) options {
	return options{
		snapshot: filepath.Join(root, "testdata", "snapshots", snapshotName), template: built.Template,
		bootstraps: built.Bootstraps, nodeDir: built.NodeDir, output: output, retryInterval: 10,
	}
}

func TestDemoReport(t *testing.T) {
	tests := []struct {
		name     string
		snapshot string
		// want are lines (or parts of lines) the report must show, in order,
		// with the columns' padding written as one blank (see squeeze).
		want []string
	}{
		{
			name:     "the example account: six placed in zone, one already mirrored, a created placement traced",
			snapshot: "three-zones.json",
			want: []string{
				"mirrorflow, offline: 7 placement(s) on",
				"INSTANCE", "OUTCOME", "SENSOR", "REASON",
				"i-e45dd1e7315dfb071 exists tmt-7273e72bf6fabc352 already mirrored by session tms-65b553f9b3af33c63",
				"Trace of i-0e26b3747ee8aab5c (the first created placement):",
				"CreateSession SUCCEEDED",
				"Dead-letter queue: 0 message(s)",
				"EC2 calls: CreateTrafficMirrorSession 6, DescribeInstances 8,",
				"Burst summary: 6 placed, 0 failed (1 exists, 0 skipped) of 7 placement(s)",
				"most placements running at once: 1",
				"the create-rate bound is 0 s for 6 sessions",
			},
		},
		{
			name:     "an account whose sensor admits no VXLAN: failures traced and dead-lettered, the sensor skipped",
			snapshot: "sg-blocked.json",
			want: []string{
				"i-83b95c956243709a9 failed - FilterBySecurityGroup: tmt-d12c7bff6ceaa9591: sg-dc767b9c1b596f2f5: no inbound rule admits UDP 4789 from 10.20.1.13",
				"i-d41375d3b4e991179 skipped - i-d41375d3b4e991179 is a sensor (one of its interfaces is traffic mirror target tmt-d12c7bff6ceaa9591); a sensor is never mirrored",
				"Trace of i-83b95c956243709a9 (the first failed placement):",
				"Status FAILED at FilterBySecurityGroup for eni-bf1cb05891e1724a4: NoReachableSensor",
				"FilterBySecurityGroup FAILED",
				"SendInterfaceToDeadLetterQueue SUCCEEDED",
				"Dead-letter queue: 3 message(s)",
				"  i-83b95c956243709a9 eni-bf1cb05891e1724a4 at FilterBySecurityGroup: NoReachableSensor:",
			},
		},
		{
			// scoped.json: Interfaces all and three rules (pci, dmz, main-vpc);
			// see testdata/snapshots/README.md for each instance's story.
			name:     "an account with rules and every interface a source: one row per interface, failed interfaces dead-lettered by name",
			snapshot: "scoped.json",
			want: []string{
				"mirrorflow, offline: 14 placement(s) on",
				// app-b0: its stale session to the draining sensor-b2 gives way to one on sensor-b.
				"i-001bd768a6f0a6707 created tmt-4849a52c8f21fcab5 new session",
				"i-08c692c5da488916d failed - CheckExistingSession: NoRoomOnSource: eni-beba9a0ba2c643b1a already has 3 sessions, EC2's limit per source interface",
				// pay-a, rule pci: on the NLB that listens on UDP 4789.
				"i-107d09a03c7fe1e8c created tmt-1c89847105b02b87e new session",
				// proxy-a: three interfaces, three outcomes, a row each, in device order.
				"i-49872431bac19848e failed - 3 source interfaces: 1 failed, 1 created, 1 skipped",
				"  eni-413553f2d9d66807e created tmt-",
				"  eni-f6b84f677929f54ad skipped - network interface eni-f6b84f677929f54ad is in subnet subnet-d554e854b043602fc, which is IPv6-only",
				"  eni-3d01ba8f8bbe876f2 failed - CheckExistingSession: NoRoomOnSource: session number 2 is held on eni-3d01ba8f8bbe876f2 by tms-81541a07fc05ed66a (number 2)",
				"i-4a4f3b88f37c10840 skipped - i-4a4f3b88f37c10840 is a sensor (one of its interfaces is traffic mirror target tmt-3ecc03b068959de17)",
				"i-66f39a980a84dfc4b skipped - eni-8d3da2f2c0964ec35 is out of scope: no rule matches it",
				"i-6c24fd33af3268339 skipped - instance i-6c24fd33af3268339 cannot be a traffic mirror source: t2 is not built on the Nitro System",
				"i-a92ca7bb4bb53b011 exists tmt-9b909a35fdc184d8d already mirrored by session tms-ae71eddd4b7c6e713",
				// app-c0: its stale session to the retired old-sensor-c gives way to one on sensor-c.
				"i-b1106892edc550f2f created tmt-6b0d222b0f54e1d53 new session",
				// bastion-a, rule dmz: on the DMZ sensor of its zone.
				"i-db90f66b7733a47b9 created tmt-24c4620224c4f8ca8 new session",
				"i-de67bdd2de97515c5 skipped - eni-b9a09d6dfbe2418b3 is out of scope: no rule matches it",
				"i-fb8da24161d3072c9 skipped - i-fb8da24161d3072c9 is opted out: it carries mirrorflow:exclude=true",
				// pay-c, rule pci: on the Gateway Load Balancer endpoint of us-east-1c.
				"i-fdb84f80ec023c6e9 created tmt-1e496004c13d6c458 new session",
				"Trace of i-08c692c5da488916d (the first failed placement):",
				// Read from InterfaceFailed's output, as the history records it: no step failed.
				"Status FAILED at CheckExistingSession for eni-beba9a0ba2c643b1a: NoRoomOnSource",
				"CheckExistingSession SUCCEEDED",
				"SendInterfaceToDeadLetterQueue SUCCEEDED",
				"Dead-letter queue: 2 message(s)",
				"  i-08c692c5da488916d eni-beba9a0ba2c643b1a at CheckExistingSession: NoRoomOnSource: eni-beba9a0ba2c643b1a already has 3 sessions",
				"  i-49872431bac19848e eni-3d01ba8f8bbe876f2 at CheckExistingSession: NoRoomOnSource: session number 2 is held on eni-3d01ba8f8bbe876f2",
				"EC2 calls: CreateTrafficMirrorSession 7, DeleteTrafficMirrorSession 2,",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), demo(tt.snapshot, "table"), &out); err != nil {
				t.Fatal(err)
			}
			report := out.String()
			rest := squeeze(report)
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("the report lacks %q (in order); report:\n%s", w, report)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(report, "console.aws.amazon.com") {
				t.Errorf("an offline trace links to the AWS console:\n%s", report)
			}
		})
	}
}

// squeeze writes each run of blanks inside a line as one blank, keeping
// indentation, so that a report's lines can be matched whatever width the
// tables give their columns (the widest id or step name in the run sets it).
func squeeze(report string) string {
	return regexp.MustCompile(`(\S) {2,}`).ReplaceAllString(report, "$1 ")
}

func TestDemoJSONHasOneResultPerRunningInstance(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), demo("full-sensor.json", "json"), &out); err != nil {
		t.Fatal(err)
	}
	var results []offline.Result
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("decoding %s: %v", out.String(), err)
	}
	got := map[workflow.Outcome]int{}
	for _, r := range results {
		got[r.Outcome]++
	}
	// full-sensor: api0-api9 are already mirrored to the full sensor-a;
	// api10 and api11 fall back to sensor-b across zones; the sensors are skipped.
	want := map[workflow.Outcome]int{workflow.OutcomeExists: 10, workflow.OutcomeCreated: 2, workflow.OutcomeSkipped: 2}
	for o, n := range want {
		if got[o] != n {
			t.Errorf("%d %s placements, want %d (all: %v)", got[o], o, n, got)
		}
	}
}

func TestDemoRejectsAMalformedSnapshot(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"Reservations": [{"Instances": [{"State": {"Code": "sixteen"}}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	o := demo("", "table")
	o.snapshot = bad
	err := run(context.Background(), o, &bytes.Buffer{})
	if !errors.Is(err, snapshot.ErrInvalid) || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "State.Code") {
		t.Fatalf("err = %v, want a snapshot error naming the file and the field", err)
	}
}

// jsonPlacement is one placement as --output json prints it.
type jsonPlacement struct {
	InstanceID         string           `json:"instanceId"`
	NetworkInterfaceID string           `json:"networkInterfaceId"`
	Outcome            workflow.Outcome `json:"outcome"`
	TargetID           string           `json:"targetId"`
	SessionID          string           `json:"sessionId"`
	StartedAt          string           `json:"startedAt"`
	EndedAt            string           `json:"endedAt"`
}

// runJSON runs mirrorlocal with o and --output json and decodes what it prints.
func runJSON(t *testing.T, o options) []jsonPlacement {
	t.Helper()
	o.output = "json"
	var out bytes.Buffer
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	var ps []jsonPlacement
	if err := json.Unmarshal(out.Bytes(), &ps); err != nil {
		t.Fatalf("decoding %s: %v", out.String(), err)
	}
	return ps
}

// intervals reads when each placement ran, failing the test unless both
// times are RFC 3339 in UTC with fractional seconds and the end is not
// before the start.
func intervals(t *testing.T, ps []jsonPlacement) []offline.Interval {
	t.Helper()
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$`)
	var out []offline.Interval
	for _, p := range ps {
		if !stamp.MatchString(p.StartedAt) || !stamp.MatchString(p.EndedAt) {
			t.Fatalf("%s: startedAt %q, endedAt %q: want RFC 3339 UTC times with fractional seconds", p.InstanceID, p.StartedAt, p.EndedAt)
		}
		start, err1 := time.Parse(time.RFC3339Nano, p.StartedAt)
		end, err2 := time.Parse(time.RFC3339Nano, p.EndedAt)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("%s: %v", p.InstanceID, err)
		}
		if end.Before(start) {
			t.Fatalf("%s ended at %s, before it started at %s", p.InstanceID, p.EndedAt, p.StartedAt)
		}
		out = append(out, offline.Interval{Start: start, End: end})
	}
	return out
}

func outcomes(ps []jsonPlacement) map[string]workflow.Outcome {
	out := map[string]workflow.Outcome{}
	for _, p := range ps {
		out[p.InstanceID] = p.Outcome
	}
	return out
}

// TestBurstPlacesAsTheSequentialRunDoes runs the example account both ways:
// every instance gets the same outcome, the burst's placements run
// together and the sequential ones one at a time.
func TestBurstPlacesAsTheSequentialRunDoes(t *testing.T) {
	sequential := runJSON(t, demo("three-zones.json", "json"))
	o := demo("three-zones.json", "json")
	o.burst = true
	burst := runJSON(t, o)

	if diff := cmp.Diff(outcomes(sequential), outcomes(burst)); diff != "" {
		t.Errorf("outcomes (-sequential +burst):\n%s", diff)
	}
	if len(burst) != 7 {
		t.Errorf("the burst placed %d instances, want the example's 7", len(burst))
	}
	if n := offline.MostAtOnce(intervals(t, sequential)); n != 1 {
		t.Errorf("the sequential run had %d placements running at once, want 1", n)
	}
	if n := offline.MostAtOnce(intervals(t, burst)); n < 2 {
		t.Errorf("the burst had %d placement(s) running at once, want them together", n)
	}
}

// TestBurstReportEndsWithItsSummary reads the table output of a burst: the
// counts of the example account and more than one placement running at once.
func TestBurstReportEndsWithItsSummary(t *testing.T) {
	o := demo("three-zones.json", "table")
	o.burst = true
	var out bytes.Buffer
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	m := regexp.MustCompile(`(?m)\nBurst summary: 6 placed, 0 failed \(1 exists, 0 skipped\) of 7 placement\(s\)\n` +
		`  sessions per sensor: (\d+)–(\d+) over (\d+) candidate sensor\(s\) [^\n]*\n` +
		`  most placements running at once: (\d+)\n` +
		`  wall \d+\.\d s; the create-rate bound is 0 s for 6 sessions [^\n]*\n$`).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("the report does not end with the burst summary of the example account:\n%s", report)
	}
	lo, _ := strconv.Atoi(m[1])
	hi, _ := strconv.Atoi(m[2])
	sensors, _ := strconv.Atoi(m[3])
	atOnce, _ := strconv.Atoi(m[4])
	if lo > hi || sensors < 1 {
		t.Errorf("sessions per sensor %d–%d over %d sensors is no range", lo, hi, sensors)
	}
	if atOnce < 2 {
		t.Errorf("most placements running at once = %d, want the burst's placements together", atOnce)
	}
}

// TestSaveSnapshotRoundTrip saves the account a burst leaves and runs again
// from it: the file loads with the run's Config and the created sessions,
// and the second run finds every placed instance already mirrored.
func TestSaveSnapshotRoundTrip(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "after.json")
	o := demo("three-zones.json", "json")
	o.burst = true
	o.saveSnapshot = saved
	first := runJSON(t, o)

	orig, err := snapshot.Load(o.snapshot)
	if err != nil {
		t.Fatal(err)
	}
	after, err := snapshot.Load(saved)
	if err != nil {
		t.Fatalf("loading the saved snapshot: %v", err)
	}
	if diff := cmp.Diff(orig.Config, after.Config); diff != "" {
		t.Errorf("the saved Config differs from the run's (-run +saved):\n%s", diff)
	}
	sessions := map[string]string{} // session id -> source interface
	for _, s := range after.TrafficMirrorSessions {
		sessions[*s.TrafficMirrorSessionId] = *s.NetworkInterfaceId
	}
	created := 0
	for _, p := range first {
		if p.Outcome != workflow.OutcomeCreated {
			continue
		}
		created++
		if sessions[p.SessionID] != p.NetworkInterfaceID {
			t.Errorf("the saved account lacks %s's session %s from %s", p.InstanceID, p.SessionID, p.NetworkInterfaceID)
		}
	}
	if created == 0 {
		t.Fatal("the first run created no session, so the round trip shows nothing")
	}
	if want := len(orig.TrafficMirrorSessions) + created; len(after.TrafficMirrorSessions) != want {
		t.Errorf("the saved account has %d sessions, want the %d seeded and the %d created", len(after.TrafficMirrorSessions), len(orig.TrafficMirrorSessions), created)
	}

	again := demo("", "json")
	again.snapshot = saved
	second := map[string]jsonPlacement{}
	for _, p := range runJSON(t, again) {
		second[p.InstanceID] = p
	}
	for _, p := range first {
		got, ok := second[p.InstanceID]
		switch {
		case !ok:
			t.Errorf("the second run did not place %s", p.InstanceID)
		case p.Outcome == workflow.OutcomeCreated || p.Outcome == workflow.OutcomeExists:
			if got.Outcome != workflow.OutcomeExists || got.SessionID != p.SessionID || got.TargetID != p.TargetID {
				t.Errorf("%s: second run %s by %s on %s, want exists by the first run's %s on %s",
					p.InstanceID, got.Outcome, got.SessionID, got.TargetID, p.SessionID, p.TargetID)
			}
		case got.Outcome != p.Outcome:
			t.Errorf("%s: second run %s, want %s as the first", p.InstanceID, got.Outcome, p.Outcome)
		}
	}
	if len(second) != len(first) {
		t.Errorf("the second run placed %d instances, the first %d", len(second), len(first))
	}
}
