package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		// want are lines (or parts of lines) the report must show, in order.
		want []string
	}{
		{
			name:     "the example account: six placed in zone, one already mirrored, a created placement traced",
			snapshot: "three-zones.json",
			want: []string{
				"mirrorflow, offline: 7 placement(s) on",
				"INSTANCE", "OUTCOME", "SENSOR", "REASON",
				"i-e45dd1e7315dfb071  exists   tmt-7273e72bf6fabc352  already mirrored by session tms-65b553f9b3af33c63",
				"Trace of i-0e26b3747ee8aab5c (the first created placement):",
				"CreateSession             SUCCEEDED",
				"Dead-letter queue: 0 message(s)",
				"EC2 calls: CreateTrafficMirrorSession 6, DescribeInstances 8,",
			},
		},
		{
			name:     "an account whose sensor admits no VXLAN: failures traced and dead-lettered, the sensor skipped",
			snapshot: "sg-blocked.json",
			want: []string{
				"i-83b95c956243709a9  failed   -       FilterBySecurityGroup: tmt-d12c7bff6ceaa9591: sg-dc767b9c1b596f2f5: no inbound rule admits UDP 4789 from 10.20.1.13",
				"i-d41375d3b4e991179  skipped  -       i-d41375d3b4e991179 (eni-2c734982813ddb57f) is itself traffic mirror target",
				"Trace of i-83b95c956243709a9 (the first failed placement):",
				"Status     FAILED at FilterBySecurityGroup: NoReachableSensor",
				"FilterBySecurityGroup     FAILED",
				"SendToDeadLetterQueue     SUCCEEDED",
				"Dead-letter queue: 3 message(s)",
				"  i-83b95c956243709a9 at FilterBySecurityGroup: NoReachableSensor:",
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
			rest := report
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
