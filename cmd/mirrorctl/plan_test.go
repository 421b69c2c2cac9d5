package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Snapshots and the ids the rule tests name.
var (
	snapshotDir   = filepath.Join("..", "..", "testdata", "snapshots")
	threeZones    = filepath.Join(snapshotDir, "three-zones.json")
	sgBlocked     = filepath.Join(snapshotDir, "sg-blocked.json")
	fullSensor    = filepath.Join(snapshotDir, "full-sensor.json")
	naclDeny      = filepath.Join(snapshotDir, "nacl-deny.json")
	localZoneOnly = filepath.Join("testdata", "plan", "local-zone-only.yaml")
)

const (
	// planNow is the fixed clock of the plan tests; its Unix time names the execution.
	planNow = int64(1795345200) // 2026-11-22T11:00:00Z

	fullSensorA      = "tmt-411c57ba336301cc8" // us-east-1a, 10 of 10 sources
	fullSensorB      = "tmt-25861ac9f309ff4b8" // us-east-1b
	fullSensorSource = "i-0389af1a105826e4f"   // us-east-1a, not yet mirrored
	eastOneCSource   = "i-0e26b3747ee8aab5c"   // us-east-1c in three-zones and local-zone-only
	stoppedInstance  = "i-d53985d70947e1fa1"   // stopped in local-zone-only
	threeZonesApp0   = "i-5202beb1625020651"   // us-east-1a
	threeZonesApp1   = "i-e45dd1e7315dfb071"   // us-east-1b, already mirrored
	threeZonesSensor = "tmt-f6de7f1f2d1b3a796" // us-east-1a, 3 sessions
	threeZonesFilter = "tmf-028da7ec9b76b272f"
)

// planEnv runs mirrorctl plan with a fixed clock and the real SDK
// configuration loader, so --live reads the environment as it would.
type planEnv struct {
	t        *testing.T
	app      *app
	out, err *bytes.Buffer
}

func newPlanEnv(t *testing.T) *planEnv {
	t.Helper()
	e := &planEnv{t: t, out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	e.app = newApp(e.out, e.err)
	e.app.now = func() time.Time { return time.Unix(planNow, 0).UTC() }
	return e
}

func (e *planEnv) run(args ...string) int {
	e.t.Helper()
	e.out.Reset()
	e.err.Reset()
	return e.app.main(context.Background(), args)
}

// plan runs plan with --output json, insists it exits 0, and decodes the results.
func (e *planEnv) plan(args ...string) []PlanResult {
	e.t.Helper()
	if code := e.run(append([]string{"plan", "--output", "json"}, args...)...); code != exitOK {
		e.t.Fatalf("plan %v: exit %d, stderr:\n%s", args, code, e.err)
	}
	var results []PlanResult
	if err := json.Unmarshal(e.out.Bytes(), &results); err != nil {
		e.t.Fatalf("decoding the plan: %v\n%s", err, e.out)
	}
	return results
}

func byInstance(t *testing.T, results []PlanResult, id string) PlanResult {
	t.Helper()
	for _, r := range results {
		if r.InstanceID == id {
			return r
		}
	}
	t.Fatalf("no result for %s in %d results", id, len(results))
	return PlanResult{}
}

func lastStep(r PlanResult) PlanStep {
	if len(r.Steps) == 0 {
		return PlanStep{}
	}
	return r.Steps[len(r.Steps)-1]
}

func stepNamed(r PlanResult, name string) (PlanStep, bool) {
	for _, s := range r.Steps {
		if s.Step == name {
			return s, true
		}
	}
	return PlanStep{}, false
}

// planSnapshots are every snapshot the repository ships plus plan's own, so
// a snapshot added to testdata/snapshots gets a golden file too.
func planSnapshots(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(snapshotDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d snapshots in %s, want at least the 4 the repository ships", len(files), snapshotDir)
	}
	return append(files, localZoneOnly)
}

func TestPlanGolden(t *testing.T) {
	for _, file := range planSnapshots(t) {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Run(name+" as JSON", func(t *testing.T) {
			e := newPlanEnv(t)
			if code := e.run("plan", "--snapshot", file, "--output", "json"); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, e.err)
			}
			golden(t, filepath.Join("plan", name+".golden.json"), e.out.Bytes())
		})
	}
	for _, file := range []string{localZoneOnly, sgBlocked} {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Run(name+" as a table", func(t *testing.T) {
			e := newPlanEnv(t)
			if code := e.run("plan", "--snapshot", file); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, e.err)
			}
			golden(t, filepath.Join("plan", name+".golden.txt"), e.out.Bytes())
			for i, l := range strings.Split(e.out.String(), "\n") {
				if len(l) > planTableWidth || strings.HasSuffix(l, " ") {
					t.Errorf("line %d is %d columns or ends in a blank, want at most %d and none: %q", i+1, len(l), planTableWidth, l)
				}
			}
		})
	}
}

// TestPlanJSONContract pins the keys of the JSON a script reads: every
// key present on every result and step, and nothing else.
func TestPlanJSONContract(t *testing.T) {
	e := newPlanEnv(t)
	e.plan("--snapshot", sgBlocked)
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(e.out.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 4 {
		t.Fatalf("got %d results, want one per instance of sg-blocked (4)", len(raw))
	}
	wantResult := []string{"instanceId", "networkInterfaceId", "outcome", "reason", "steps", "targetId"}
	wantStep := []string{"kept", "note", "rejected", "step"}
	for _, r := range raw {
		if got := slices.Sorted(maps.Keys(r)); !slices.Equal(got, wantResult) {
			t.Errorf("result keys = %v, want %v", got, wantResult)
		}
		var stepsRaw []map[string]json.RawMessage
		if err := json.Unmarshal(r["steps"], &stepsRaw); err != nil {
			t.Fatal(err)
		}
		for _, s := range stepsRaw {
			if got := slices.Sorted(maps.Keys(s)); !slices.Equal(got, wantStep) {
				t.Errorf("step keys = %v, want %v", got, wantStep)
			}
			for _, list := range []string{"kept", "rejected"} {
				if string(s[list]) == "null" {
					t.Errorf("%s is null, want a list (empty when nothing)", list)
				}
			}
		}
	}
}

// TestPlanRules reads each snapshot's plan as the rules of
// snapshot-format.md say it must come out.
func TestPlanRules(t *testing.T) {
	t.Run("in sg-blocked every placement but the sensor's fails at FilterBySecurityGroup naming the group", func(t *testing.T) {
		results := newPlanEnv(t).plan("--snapshot", sgBlocked)
		if len(results) != 4 {
			t.Fatalf("got %d results, want the 4 running instances", len(results))
		}
		for _, r := range results {
			if r.InstanceID == "i-d41375d3b4e991179" {
				continue // the sensor; see the next rule
			}
			if r.Outcome != workflow.OutcomeFailed || lastStep(r).Step != workflow.StepFilterBySG {
				t.Errorf("%s: %s at %s, want failed at %s", r.InstanceID, r.Outcome, lastStep(r).Step, workflow.StepFilterBySG)
			}
			if !strings.Contains(r.Reason, "no reachable sensor for "+r.InstanceID+": FilterBySecurityGroup rejected the last 1 candidate(s)") ||
				!strings.Contains(r.Reason, "sg-dc767b9c1b596f2f5") {
				t.Errorf("%s: reason %q does not name the step and the sensor's group sg-dc767b9c1b596f2f5", r.InstanceID, r.Reason)
			}
		}
	})

	t.Run("a sensor is never mirrored: an interface that is a target is skipped", func(t *testing.T) {
		for file, id := range map[string]string{sgBlocked: "i-d41375d3b4e991179", naclDeny: "i-470472adb96499df0", fullSensor: "i-273baadfd6e30bfe0"} {
			r := byInstance(t, newPlanEnv(t).plan("--snapshot", file, "--instance", id), id)
			if r.Outcome != workflow.OutcomeSkipped || !strings.Contains(r.Reason, "is itself traffic mirror target") {
				t.Errorf("%s in %s: %s (%s), want skipped as a sensor", id, filepath.Base(file), r.Outcome, r.Reason)
			}
		}
	})

	t.Run("in nacl-deny every placement fails at FilterByNetworkACL naming the denying rule", func(t *testing.T) {
		for _, id := range []string{"i-4995b35be89fd42f2", "i-fcfd7585eded78059"} {
			r := byInstance(t, newPlanEnv(t).plan("--snapshot", naclDeny), id)
			if r.Outcome != workflow.OutcomeFailed || lastStep(r).Step != workflow.StepFilterByNACL {
				t.Errorf("%s: %s at %s, want failed at %s", id, r.Outcome, lastStep(r).Step, workflow.StepFilterByNACL)
			}
			if !strings.Contains(r.Reason, "acl-46555c82fa31dd956") || !strings.Contains(r.Reason, "rule 90 denies UDP 4789") {
				t.Errorf("%s: reason %q does not name the ACL and its rule 90", id, r.Reason)
			}
		}
	})

	t.Run("in full-sensor the full sensor takes no new source and the rest fall back across zones", func(t *testing.T) {
		created := 0
		for _, r := range newPlanEnv(t).plan("--snapshot", fullSensor) {
			if r.Outcome != workflow.OutcomeCreated {
				continue
			}
			created++
			pick, _ := stepNamed(r, workflow.StepPickLeastLoaded)
			if r.TargetID != fullSensorB || len(pick.Rejected) != 1 || pick.Rejected[0].TargetID != fullSensorA ||
				!strings.HasPrefix(pick.Rejected[0].Reason, "full: 10 of 10 sources") {
				t.Errorf("%s: created on %s, PickLeastLoaded rejected %+v; want %s chosen and %s rejected as full",
					r.InstanceID, r.TargetID, pick.Rejected, fullSensorB, fullSensorA)
			}
		}
		if created != 2 {
			t.Errorf("created %d sessions, want 2 (the two us-east-1a sources not yet mirrored)", created)
		}
	})

	t.Run("in three-zones every instance is mirrored to a sensor in its own zone", func(t *testing.T) {
		zoneOfInstance, zoneOfTarget := zones(t, threeZones)
		results := newPlanEnv(t).plan("--snapshot", threeZones)
		if len(results) != 7 {
			t.Fatalf("got %d results, want the 7 running instances", len(results))
		}
		for _, r := range results {
			if r.Outcome != workflow.OutcomeCreated && r.Outcome != workflow.OutcomeExists {
				t.Errorf("%s: %s (%s), want created or exists", r.InstanceID, r.Outcome, r.Reason)
			}
			if zoneOfTarget[r.TargetID] != zoneOfInstance[r.InstanceID] {
				t.Errorf("%s in %s placed on %s in %s", r.InstanceID, zoneOfInstance[r.InstanceID], r.TargetID, zoneOfTarget[r.TargetID])
			}
		}
	})

	t.Run("plans are sequential: each later placement counts the sessions of the earlier ones", func(t *testing.T) {
		snap, err := snapshot.Load(threeZones)
		if err != nil {
			t.Fatal(err)
		}
		sessions := map[string]int{}
		for _, s := range snap.TrafficMirrorSessions {
			sessions[aws.ToString(s.TrafficMirrorTargetId)]++
		}
		created := 0
		for _, r := range newPlanEnv(t).plan("--snapshot", threeZones) {
			if r.Outcome != workflow.OutcomeCreated {
				continue
			}
			pick, _ := stepNamed(r, workflow.StepPickLeastLoaded)
			_, after, _ := strings.Cut(pick.Note, "): ")
			count, _, _ := strings.Cut(after, ",")
			if want := fmt.Sprintf("%d session", sessions[r.TargetID]); !strings.HasPrefix(count, want) {
				t.Errorf("%s: %s had %q when chosen, want %s(s): the seeded ones and those the plan made before", r.InstanceID, r.TargetID, count, want)
			}
			sessions[r.TargetID]++
			created++
		}
		if created < 2 {
			t.Fatalf("the plan created %d sessions; the check needs several", created)
		}
	})

	t.Run("with LocalZoneOnly in the snapshot a source with no sensor in its zone fails at FilterByAvailabilityZone", func(t *testing.T) {
		r := byInstance(t, newPlanEnv(t).plan("--snapshot", localZoneOnly), eastOneCSource)
		if r.Outcome != workflow.OutcomeFailed || lastStep(r).Step != workflow.StepFilterByZone || len(lastStep(r).Rejected) != 3 {
			t.Errorf("%s at %s rejecting %d, want failed at %s rejecting all 3 sensors", r.Outcome, lastStep(r).Step, len(lastStep(r).Rejected), workflow.StepFilterByZone)
		}
	})

	t.Run("a stopped instance is not planned unless named, and then is skipped as not running", func(t *testing.T) {
		e := newPlanEnv(t)
		for _, r := range e.plan("--snapshot", localZoneOnly) {
			if r.InstanceID == stoppedInstance {
				t.Errorf("the default plan included stopped %s", stoppedInstance)
			}
		}
		r := byInstance(t, e.plan("--snapshot", localZoneOnly, "--instance", stoppedInstance), stoppedInstance)
		if r.Outcome != workflow.OutcomeSkipped || !strings.Contains(r.Reason, "is stopped, not running") {
			t.Errorf("%s (%s), want skipped as stopped", r.Outcome, r.Reason)
		}
	})
}

// zones maps each instance and each target of a snapshot to its Availability Zone.
func zones(t *testing.T, file string) (instances, targets map[string]string) {
	t.Helper()
	snap, err := snapshot.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	instances, targets = map[string]string{}, map[string]string{}
	eniZone := map[string]string{}
	for _, n := range snap.NetworkInterfaces {
		eniZone[aws.ToString(n.NetworkInterfaceId)] = aws.ToString(n.AvailabilityZone)
	}
	for _, res := range snap.Reservations {
		for _, i := range res.Instances {
			instances[aws.ToString(i.InstanceId)] = aws.ToString(i.Placement.AvailabilityZone)
		}
	}
	for _, tg := range snap.TrafficMirrorTargets {
		targets[aws.ToString(tg.TrafficMirrorTargetId)] = eniZone[aws.ToString(tg.NetworkInterfaceId)]
	}
	return instances, targets
}

func TestPlanFlagsOverrideTheSnapshotConfig(t *testing.T) {
	t.Run("--local-zone-only turns a cross-zone fallback into a failure", func(t *testing.T) {
		e := newPlanEnv(t)
		before := byInstance(t, e.plan("--snapshot", fullSensor, "--instance", fullSensorSource), fullSensorSource)
		after := byInstance(t, e.plan("--snapshot", fullSensor, "--instance", fullSensorSource, "--local-zone-only"), fullSensorSource)
		if before.Outcome != workflow.OutcomeCreated || before.TargetID != fullSensorB {
			t.Errorf("without the flag: %s on %q, want created on the us-east-1b sensor %s", before.Outcome, before.TargetID, fullSensorB)
		}
		zone, _ := stepNamed(after, workflow.StepFilterByZone)
		if after.Outcome != workflow.OutcomeFailed || !slices.Equal(zone.Kept, []string{fullSensorA}) ||
			len(zone.Rejected) != 1 || zone.Rejected[0].TargetID != fullSensorB {
			t.Errorf("with the flag: %s, zone step kept %v rejected %+v; want failed, %s kept and %s rejected",
				after.Outcome, zone.Kept, zone.Rejected, fullSensorA, fullSensorB)
		}
	})

	t.Run("--local-zone-only=false lifts the snapshot's LocalZoneOnly", func(t *testing.T) {
		r := byInstance(t, newPlanEnv(t).plan("--snapshot", localZoneOnly, "--instance", eastOneCSource, "--local-zone-only=false"), eastOneCSource)
		if r.Outcome != workflow.OutcomeCreated || r.TargetID == "" {
			t.Errorf("%s on %q (%s), want created on a sensor in another zone", r.Outcome, r.TargetID, r.Reason)
		}
	})

	t.Run("--target-id makes only the named sensors candidates", func(t *testing.T) {
		r := byInstance(t, newPlanEnv(t).plan("--snapshot", threeZones, "--instance", threeZonesApp0, "--target-id", threeZonesSensor), threeZonesApp0)
		gather, _ := stepNamed(r, workflow.StepGatherCandidates)
		if r.TargetID != threeZonesSensor || !slices.Equal(gather.Kept, []string{threeZonesSensor}) {
			t.Errorf("placed on %q, candidates %v; want only and on %s", r.TargetID, gather.Kept, threeZonesSensor)
		}
	})

	t.Run("--sensor-tag that no target carries leaves GatherCandidates nothing", func(t *testing.T) {
		r := byInstance(t, newPlanEnv(t).plan("--snapshot", threeZones, "--instance", threeZonesApp0, "--sensor-tag", "role=ids"), threeZonesApp0)
		if r.Outcome != workflow.OutcomeFailed || lastStep(r).Step != workflow.StepGatherCandidates {
			t.Errorf("%s at %s (%s), want failed at %s", r.Outcome, lastStep(r).Step, r.Reason, workflow.StepGatherCandidates)
		}
	})
}

func TestPlanInstances(t *testing.T) {
	t.Run("--instance plans only the named instances, once each, in the order given", func(t *testing.T) {
		results := newPlanEnv(t).plan("--snapshot", threeZones, "--instance", threeZonesApp1, "--instance", threeZonesApp0, "--instance", threeZonesApp1)
		var got []string
		for _, r := range results {
			got = append(got, r.InstanceID)
		}
		if want := []string{threeZonesApp1, threeZonesApp0}; !slices.Equal(got, want) {
			t.Errorf("planned %v, want %v", got, want)
		}
	})

	t.Run("an unknown instance is skipped as gone and the plan still exits 0", func(t *testing.T) {
		const unknown = "i-0123456789abcdef0"
		results := newPlanEnv(t).plan("--snapshot", threeZones, "--instance", unknown, "--instance", threeZonesApp0)
		r := byInstance(t, results, unknown)
		if r.Outcome != workflow.OutcomeSkipped || !strings.HasPrefix(r.Reason, "instance "+unknown+" no longer exists") ||
			!strings.Contains(r.Reason, "InvalidInstanceID.NotFound") || r.NetworkInterfaceID != "" {
			t.Errorf("%s (%s) interface %q, want skipped as gone with no interface", r.Outcome, r.Reason, r.NetworkInterfaceID)
		}
		if other := byInstance(t, results, threeZonesApp0); other.Outcome != workflow.OutcomeCreated {
			t.Errorf("the known instance after it: %s, want created", other.Outcome)
		}
	})
}

// TestPlanTagsSessionsWithThePlan checks that a session made by a plan can
// be traced to it: tagged mirrorflow:execution=plan-<unix time>.
func TestPlanTagsSessionsWithThePlan(t *testing.T) {
	snap, err := snapshot.Load(threeZones)
	if err != nil {
		t.Fatal(err)
	}
	sim := ec2sim.New(snap, ec2sim.Options{Seed: simSeed})
	endpoint, err := sim.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	e := newPlanEnv(t)
	f := planFlags{instances: []string{threeZonesApp0}}
	if err := e.app.plan(t.Context(), &globals{output: "json"}, f, simulatorEC2(endpoint, ""), *snap.Config); err != nil {
		t.Fatal(err)
	}
	var tagged []string
	for _, s := range sim.Sessions() {
		for _, tag := range s.Tags {
			if aws.ToString(tag.Key) == steps.TagExecution {
				tagged = append(tagged, aws.ToString(tag.Value))
			}
		}
	}
	if want := []string{"plan-1795345200"}; !slices.Equal(tagged, want) {
		t.Errorf("execution tags of the sessions = %q, want %q (one new session)", tagged, want)
	}
}

func TestPlanRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"a JSON syntax error names the file, the field and the line",
			[]string{"--snapshot", write("syntax.json", `{"Reservations": [{"Instances": [}`)},
			[]string{"syntax.json", "Reservations[0].Instances", "line 1, column 34"}},
		{"a JSON value of the wrong type names the file and the field",
			[]string{"--snapshot", write("wrongtype.json", `{"Reservations": [{"Instances": [{"State": {"Code": "sixteen"}}]}]}`)},
			[]string{"wrongtype.json", "Reservations[0].Instances[0].State.Code: expected a number, got string"}},
		{"a YAML syntax error names the file and the line",
			[]string{"--snapshot", write("syntax.yaml", "Reservations:\n- Instances:\n  - InstanceId: [i-1\n    State: x\n")},
			[]string{"syntax.yaml", "line 3"}},
		{"a YAML value of the wrong type names the file and the field",
			[]string{"--snapshot", write("wrongtype.yaml", "Reservations:\n- Instances:\n  - State:\n      Code: sixteen\n")},
			[]string{"wrongtype.yaml", "State.Code: expected a number, got string"}},
		{"an invalid Config in the snapshot names the field",
			[]string{"--snapshot", write("badconfig.json", `{"Config": {"FilterId": "tmf-nothex"}}`)},
			[]string{"badconfig.json", "Config.FilterId"}},
		{"a missing snapshot names the path",
			[]string{"--snapshot", filepath.Join(dir, "missing.json")},
			[]string{"missing.json", "no such file"}},
		{"a snapshot without Config says which flag is missing",
			[]string{"--snapshot", write("noconfig.json", `{"Reservations": []}`)},
			[]string{"the snapshot has no Config", "--filter-id"}},
		{"a malformed --filter-id names the flag",
			[]string{"--snapshot", threeZones, "--filter-id", "filter-1"},
			[]string{`FilterId "filter-1"`, "--filter-id"}},
		{"a --session-number out of range is refused",
			[]string{"--snapshot", threeZones, "--session-number", "40000"},
			[]string{"SessionNumber 40000 is out of range 1-32766", "(set with --session-number)"}},
		{"a --sensor-tag without = is refused",
			[]string{"--snapshot", threeZones, "--sensor-tag", "mirrorflow:sensor"},
			[]string{"want KEY=VALUE"}},
		{"a malformed --instance is refused",
			[]string{"--snapshot", threeZones, "--instance", "web-1"},
			[]string{`--instance "web-1" is not an EC2 instance id`}},
		{"--snapshot and --live together are refused",
			[]string{"--snapshot", threeZones, "--live"},
			[]string{"exactly one"}},
		{"--stack means nothing to plan",
			[]string{"--snapshot", threeZones, "--stack", "Other"},
			[]string{"--stack does not apply to plan"}},
		{"an unknown key in --config is refused",
			[]string{"--live", "--config", write("config.json", `{"FilterId": "tmf-0a1b2c3d", "Sensors": []}`)},
			[]string{"config.json", `unknown field "Sensors"`}},
		{"--live without a filter says what to pass",
			[]string{"--live"},
			[]string{"--live reads no configuration from the account", "--filter-id", "--config FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newPlanEnv(t)
			if code := e.run(append([]string{"plan"}, tt.args...)...); code != exitUsage {
				t.Fatalf("exit %d, want %d (usage or input); stderr:\n%s", code, exitUsage, e.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.err.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, e.err)
				}
			}
			if e.out.Len() != 0 {
				t.Errorf("wrote a plan despite the error:\n%s", e.out)
			}
		})
	}
}

// liveEnv points --live's default SDK configuration at a simulator through
// AWS_ENDPOINT_URL_EC2, with dummy keys and no shared files or instance
// metadata, exactly as a user could.
func liveEnv(t *testing.T, file string) (*planEnv, *ec2sim.Sim) {
	t.Helper()
	snap, err := snapshot.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	sim := ec2sim.New(snap, ec2sim.Options{Seed: simSeed})
	endpoint, err := sim.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_EC2":        endpoint,
		"AWS_ACCESS_KEY_ID":           "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
		"AWS_SESSION_TOKEN":           "",
	} {
		t.Setenv(k, v)
	}
	return newPlanEnv(t), sim
}

func TestPlanLive(t *testing.T) {
	t.Run("--live sends the create with DryRun and the account keeps its sessions", func(t *testing.T) {
		e, sim := liveEnv(t, threeZones)
		before := sim.Sessions()
		results := e.plan("--live", "--filter-id", threeZonesFilter)
		if len(results) != 7 {
			t.Fatalf("got %d results, want the 7 running instances", len(results))
		}
		for _, r := range results {
			switch r.Outcome {
			case workflow.OutcomeCreated:
				if !strings.HasPrefix(r.Reason, "dry run: EC2 would create a session from "+r.NetworkInterfaceID+" to "+r.TargetID) {
					t.Errorf("%s: reason %q, want the dry run's", r.InstanceID, r.Reason)
				}
			case workflow.OutcomeExists:
			default:
				t.Errorf("%s: %s (%s), want created (dry run) or exists", r.InstanceID, r.Outcome, r.Reason)
			}
		}
		if n := sim.Calls()["CreateTrafficMirrorSession"]; n != 6 {
			t.Errorf("CreateTrafficMirrorSession called %d times, want 6 (every instance not yet mirrored)", n)
		}
		if diff := cmp.Diff(len(before), len(sim.Sessions())); diff != "" {
			t.Errorf("the simulator's session count changed (-before +after):\n%s", diff)
		}
	})

	t.Run("--live reads the Config from --config and lets flags override it", func(t *testing.T) {
		e, _ := liveEnv(t, threeZones)
		cfg := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(cfg, []byte(`{"FilterId": "`+threeZonesFilter+`", "TargetIds": ["tmt-7273e72bf6fabc352"]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		only := byInstance(t, e.plan("--live", "--config", cfg, "--instance", threeZonesApp0), threeZonesApp0)
		if only.Outcome != workflow.OutcomeCreated || only.TargetID != "tmt-7273e72bf6fabc352" {
			t.Errorf("with TargetIds from --config: %s on %q, want created on the only candidate, across zones", only.Outcome, only.TargetID)
		}
		overridden := byInstance(t, e.plan("--live", "--config", cfg, "--instance", threeZonesApp0, "--target-id", threeZonesSensor), threeZonesApp0)
		if overridden.TargetID != threeZonesSensor {
			t.Errorf("--target-id over --config: placed on %q, want %s", overridden.TargetID, threeZonesSensor)
		}
	})

	t.Run("--live without credentials exits with the AWS code and says so", func(t *testing.T) {
		e, sim := liveEnv(t, threeZones)
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		if code := e.run("plan", "--live", "--filter-id", threeZonesFilter); code != exitAWS {
			t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitAWS, e.err)
		}
		if !strings.Contains(e.err.String(), "no AWS credentials found") {
			t.Errorf("stderr does not say credentials are missing:\n%s", e.err)
		}
		if n := len(sim.Calls()); n != 0 {
			t.Errorf("made %d kinds of EC2 call without credentials, want none", n)
		}
	})
}

// TestPlanInputErrorKeepsItsCause checks that a malformed snapshot is both
// a usage error (exit 2) and still snapshot.ErrInvalid for a caller.
func TestPlanInputErrorKeepsItsCause(t *testing.T) {
	_, err := snapshot.Parse("x.json", []byte(`{"Subnets": 1}`))
	wrapped := error(&inputError{err})
	var ue *usageError
	if !errors.As(wrapped, &ue) || !errors.Is(wrapped, snapshot.ErrInvalid) {
		t.Errorf("inputError(%v): usage error %v, ErrInvalid %v; want both", err, errors.As(wrapped, &ue), errors.Is(wrapped, snapshot.ErrInvalid))
	}
}

// TestMirrorctlDoesNotImportTheCDK keeps mirrorctl a small static binary:
// the CDK's jsii runtime would embed a Node.js bundle in it.
func TestMirrorctlDoesNotImportTheCDK(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/mirrorflow/mirrorflow/shared/steps") {
		t.Fatalf("go list -deps does not list shared/steps; the check would prove nothing:\n%s", out)
	}
	for _, d := range deps {
		if strings.Contains(d, "aws-cdk") || strings.Contains(d, "jsii-runtime") || strings.Contains(d, "constructs-go") {
			t.Errorf("mirrorctl depends on %s", d)
		}
	}
}
