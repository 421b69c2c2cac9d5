package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// TestCoverageGolden pins the report of every example account, as JSON and,
// for the accounts with the most to say, as the table.
func TestCoverageGolden(t *testing.T) {
	snapshotGoldens(t, "coverage", threeZones, sgBlocked, scoped)
}

// TestCoverageJSONContract checks the keys of the snapshot format's example,
// and nothing else, on every element.
func TestCoverageJSONContract(t *testing.T) {
	e := newPlanEnv(t)
	if code := e.run("coverage", "--snapshot", scoped, "--output", "json"); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(e.out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"interfaces": {"instanceId", "networkInterfaceId", "reason", "rule", "sessionId", "status", "targetId"},
		"stale":      {"networkInterfaceId", "reason", "sessionId", "targetId"},
		"sensors":    {"draining", "limit", "sources", "targetId", "zone"},
	}
	if got := slices.Sorted(mapsKeys(doc)); !reflect.DeepEqual(got, []string{"coverage", "interfaces", "sensors", "stale"}) {
		t.Fatalf("top-level keys %v", got)
	}
	for key, keys := range want {
		var elems []map[string]any
		if err := json.Unmarshal(doc[key], &elems); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if len(elems) == 0 {
			t.Fatalf("%s is empty in %s; the contract needs one of each", key, scoped)
		}
		for _, el := range elems {
			if got := slices.Sorted(mapsKeys(el)); !reflect.DeepEqual(got, keys) {
				t.Errorf("%s element keys %v, want %v", key, got, keys)
			}
		}
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCoverageAgreesWithPlan runs plan and coverage on every example
// account: every interface plan places is listed by coverage with the
// status its outcome means.
func TestCoverageAgreesWithPlan(t *testing.T) {
	status := map[workflow.Outcome]string{
		workflow.OutcomeExists: workflow.CoverageMirrored, workflow.OutcomeSkipped: workflow.CoverageSkipped,
		workflow.OutcomeCreated: workflow.CoverageUnmirrored, workflow.OutcomeFailed: workflow.CoverageUnmirrored,
	}
	for _, file := range planSnapshots(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			e := newPlanEnv(t)
			if code := e.run("coverage", "--snapshot", file, "--output", "json"); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, e.err)
			}
			var report operate.CoverageReport
			if err := json.Unmarshal(e.out.Bytes(), &report); err != nil {
				t.Fatal(err)
			}
			for _, r := range e.plan("--snapshot", file) {
				for _, c := range report.Interfaces {
					if c.InstanceID == r.InstanceID && (r.NetworkInterfaceID == "" || c.NetworkInterfaceID == r.NetworkInterfaceID) && c.Status != status[r.Outcome] {
						t.Errorf("plan: %s %s %s; coverage: %s (%s)", r.InstanceID, r.NetworkInterfaceID, r.Outcome, c.Status, c.Reason)
					}
				}
			}
		})
	}
}

func TestCoverageFailUnder(t *testing.T) {
	// scoped.json's coverage is 1 mirrored of 10.
	tests := []struct {
		flag string
		want int
	}{
		{"0.1", exitOK},
		{"0", exitOK},
		{"0.11", exitNotSucceeded},
		{"1", exitNotSucceeded},
		{"1.5", exitUsage},
		{"95%", exitUsage},
		{"NaN", exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			e := newPlanEnv(t)
			if code := e.run("coverage", "--snapshot", scoped, "--fail-under", tt.flag); code != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.want, e.err)
			}
			if tt.want == exitUsage && e.out.Len() > 0 {
				t.Errorf("a usage error wrote a report:\n%s", e.out)
			}
		})
	}
}

func TestCoverageRejectsBadInput(t *testing.T) {
	malformed := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(malformed, []byte(`{"Reservations": [{"Instances": 7}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		words string
	}{
		{"a malformed snapshot", []string{"--snapshot", malformed}, "Reservations"},
		{"a snapshot that is not there", []string{"--snapshot", filepath.Join(t.TempDir(), "none.json")}, "none.json"},
		{"neither --snapshot nor --live", nil, "--snapshot FILE or --live"},
		{"an argument", []string{"--snapshot", scoped, "extra"}, `unexpected argument "extra"`},
		{"a bad session number", []string{"--snapshot", scoped, "--session-number", "40000"}, "--session-number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newPlanEnv(t)
			if code := e.run(append([]string{"coverage"}, tt.args...)...); code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, e.err)
			}
			if !strings.Contains(e.err.String(), tt.words) {
				t.Errorf("stderr %q does not name %q", e.err, tt.words)
			}
			if e.out.Len() > 0 {
				t.Errorf("wrote a report:\n%s", e.out)
			}
		})
	}
}

// TestREADMEQuotesCoverage keeps the README's coverage example the real
// output: the three-zones table golden, as it is.
func TestREADMEQuotesCoverage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile(filepath.Join("testdata", "coverage", "three-zones.golden.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "$ mirrorctl coverage --snapshot testdata/snapshots/three-zones.json\n"+string(table)) {
		t.Error(`README.md no longer quotes testdata/coverage/three-zones.golden.txt as it is; copy it into "mirrorctl coverage"`)
	}
}

// TestCoverageLiveReadsTheDeployedConfiguration: coverage --live on an
// account whose stack says how it is configured needs no flag.
func TestCoverageLiveReadsTheDeployedConfiguration(t *testing.T) {
	snap, err := snapshot.Load(threeZones)
	if err != nil {
		t.Fatal(err)
	}
	e, sim := liveEnvDeployed(t, threeZones, deployedWith(snap.Config))
	before := len(sim.Sessions())
	if code := e.run("coverage", "--live", "--output", "json"); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	var report operate.CoverageReport
	if err := json.Unmarshal(e.out.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	if report.Coverage != 0.1429 || len(report.Interfaces) != 7 {
		t.Errorf("coverage %v over %d interfaces, want 0.1429 (1 of 7) as with --snapshot", report.Coverage, len(report.Interfaces))
	}
	if after := len(sim.Sessions()); after != before {
		t.Errorf("coverage --live changed the sessions from %d to %d", before, after)
	}
}
