package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/placement"
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
	scoped        = filepath.Join(snapshotDir, "scoped.json")
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

// The instances, interfaces and targets of scoped.json, by their Name tags
// (see testdata/snapshots/README.md). Rules: pci (Tags env=prod AND
// data=pci, its own filter and TargetIds), dmz (the DMZ subnet, SensorTag
// mirrorflow:sensor=dmz, session number 2), main-vpc (the main VPC,
// inheriting the top-level filter and tag mirrorflow:sensor=true).
const (
	scopedSensorA      = "i-4a4f3b88f37c10840" // c5n.xlarge, its capture interface is target sensor-a
	scopedAppA0        = "i-f91df02795a7627ad"
	scopedAppA1        = "i-a92ca7bb4bb53b011" // already mirrored to sensor-a2
	scopedProxyA       = "i-49872431bac19848e" // m5.xlarge, env=prod, three interfaces
	scopedProxyApp     = "eni-413553f2d9d66807e"
	scopedProxyV6      = "eni-f6b84f677929f54ad" // in the IPv6-only subnet v6-a
	scopedProxyDMZ     = "eni-3d01ba8f8bbe876f2" // its session number 2 is taken by a hand-made session
	scopedBastionA     = "i-db90f66b7733a47b9"   // in the DMZ subnet
	scopedPayA         = "i-107d09a03c7fe1e8c"   // env=prod, data=pci, us-east-1a
	scopedPayC         = "i-fdb84f80ec023c6e9"   // env=prod, data=pci, us-east-1c
	scopedPayBLegacy   = "i-fb8da24161d3072c9"   // env=prod, data=pci, mirrorflow:exclude=true
	scopedJumpB        = "i-6c24fd33af3268339"   // t2.micro
	scopedAppB0        = "i-001bd768a6f0a6707"   // its mirrorflow session goes to the draining sensor-b2
	scopedBatchB       = "i-08c692c5da488916d"   // holds 3 sessions made by hand
	scopedAppC0        = "i-b1106892edc550f2f"   // its mirrorflow session goes to the retired old-sensor-c
	scopedLab0         = "i-66f39a980a84dfc4b"   // lab VPC, env=prod
	scopedLab1         = "i-de67bdd2de97515c5"   // lab VPC, env=dev, data=pci
	scopedTSensorA     = "tmt-3ecc03b068959de17" // us-east-1a
	scopedTSensorA2    = "tmt-9b909a35fdc184d8d" // us-east-1a
	scopedTSensorB     = "tmt-4849a52c8f21fcab5" // us-east-1b
	scopedTSensorB2    = "tmt-71bb87e1010f153c3" // us-east-1b, draining
	scopedTSensorC     = "tmt-6b0d222b0f54e1d53" // us-east-1c, admits VXLAN from app-c only
	scopedTOldSensorC  = "tmt-4745dcec7a5701f4e" // retired: mirrorflow:sensor=retired
	scopedTDMZSensorA  = "tmt-24c4620224c4f8ca8" // us-east-1a
	scopedTDMZSensorB  = "tmt-b05fcf537d81e2074" // us-east-1b, behind the DMZ's ACL
	scopedTNLBUDP      = "tmt-1c89847105b02b87e" // NLB in us-east-1a and 1b, UDP 4789 listener
	scopedTNLBTCP      = "tmt-82fe7a7f7db44066f" // NLB with only a TCP 443 listener
	scopedTGWLBE       = "tmt-1e496004c13d6c458" // Gateway Load Balancer endpoint in sensors-c, us-east-1c
	scopedFilter       = "tmf-3cd81c6b1dc7421fe"
	scopedPCIFilter    = "tmf-69b4e35d33a744d4a"
	scopedDMZACL       = "acl-393fbcf2ef5dc499a"
	scopedSensorCGroup = "sg-5327699c1aa75dec3"
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

// byInterface finds the result of one source interface.
func byInterface(t *testing.T, results []PlanResult, eni string) PlanResult {
	t.Helper()
	for _, r := range results {
		if r.NetworkInterfaceID == eni {
			return r
		}
	}
	t.Fatalf("no result for interface %s in %d results", eni, len(results))
	return PlanResult{}
}

// hasRejection reports whether step rejected target with a reason containing words.
func hasRejection(step PlanStep, target, words string) bool {
	return slices.ContainsFunc(step.Rejected, func(r placement.Rejection) bool {
		return r.TargetID == target && strings.Contains(r.Reason, words)
	})
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
	snapshotGoldens(t, "plan", localZoneOnly, sgBlocked, scoped)
}

// snapshotGoldens runs command --snapshot on every snapshot as JSON, and on
// tables as a table, each against its golden file under testdata/<command>;
// a table stays within planTableWidth with no line ending in a blank.
func snapshotGoldens(t *testing.T, command string, tables ...string) {
	t.Helper()
	run := func(t *testing.T, file, suffix string, args ...string) *planEnv {
		e := newPlanEnv(t)
		if code := e.run(append([]string{command, "--snapshot", file}, args...)...); code != exitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, e.err)
		}
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		golden(t, filepath.Join(command, name+suffix), e.out.Bytes())
		return e
	}
	for _, file := range planSnapshots(t) {
		t.Run(filepath.Base(file)+" as JSON", func(t *testing.T) { run(t, file, ".golden.json", "--output", "json") })
	}
	for _, file := range tables {
		t.Run(filepath.Base(file)+" as a table", func(t *testing.T) {
			e := run(t, file, ".golden.txt")
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
	wantResult := []string{"instanceId", "networkInterfaceId", "outcome", "reason", "rule", "steps", "targetId"}
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

	t.Run("a sensor is never mirrored: an instance one of whose interfaces is a target is skipped", func(t *testing.T) {
		for file, id := range map[string]string{sgBlocked: "i-d41375d3b4e991179", naclDeny: "i-470472adb96499df0", fullSensor: "i-273baadfd6e30bfe0"} {
			r := byInstance(t, newPlanEnv(t).plan("--snapshot", file, "--instance", id), id)
			if r.Outcome != workflow.OutcomeSkipped || !strings.Contains(r.Reason, id+" is a sensor (one of its interfaces is traffic mirror target tmt-") {
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

	// scoped.json exercises every rule of snapshot-format.md at once; one
	// plan of it is read by each subtest below.
	sc := newPlanEnv(t).plan("--snapshot", scoped)

	t.Run("in scoped every source interface gets the outcome and deciding rule the document's rules give", func(t *testing.T) {
		const (
			created, exists = workflow.OutcomeCreated, workflow.OutcomeExists
			skipped, failed = workflow.OutcomeSkipped, workflow.OutcomeFailed
		)
		tests := []struct {
			name, instance, eni, rule string
			outcome                   workflow.Outcome
			target                    string
			reason                    []string
		}{
			{"rule 1: the sensor instance, of whose two interfaces one is a target", scopedSensorA, "", "", skipped, "",
				[]string{scopedSensorA + " is a sensor", scopedTSensorA, "a sensor is never mirrored"}},
			{"rule 2: an opted-out instance, though rule pci matches its tags", scopedPayBLegacy, "", "", skipped, "",
				[]string{"opted out: it carries mirrorflow:exclude=true"}},
			{"rule 3: out of scope in the lab VPC, env=prod without data=pci", scopedLab0, "eni-8d3da2f2c0964ec35", "", skipped, "",
				[]string{"out of scope: no rule matches it"}},
			{"rule 3: out of scope in the lab VPC, data=pci without env=prod", scopedLab1, "eni-b9a09d6dfbe2418b3", "", skipped, "",
				[]string{"out of scope: no rule matches it"}},
			{"rule 4: a t2.micro in the main VPC", scopedJumpB, "eni-8c64e1eef2483f63d", "main-vpc", skipped, "",
				[]string{"t2.micro cannot be a mirror source"}},
			{"rule 4: proxy-a's interface in the IPv6-only subnet, decided by main-vpc", scopedProxyA, scopedProxyV6, "main-vpc", skipped, "",
				[]string{scopedProxyV6, "subnet-d554e854b043602fc", "IPv6-only"}},
			{"rule 5: app-a1, mirrored to a candidate of main-vpc", scopedAppA1, "eni-6844b40f6643bc768", "main-vpc", exists, scopedTSensorA2,
				[]string{"already mirrored to sensor " + scopedTSensorA2 + " by session tms-ae71eddd4b7c6e713"}},
			{"rule 6: batch-b, holding 3 sessions made by hand", scopedBatchB, "eni-beba9a0ba2c643b1a", "main-vpc", failed, "",
				[]string{"already has 3 sessions, EC2's limit per source interface", "tms-f92bc776942ac5805", "tms-b3a12c3d1d3670b7a", "tms-3804c4c432a72e4e8"}},
			{"rule 6: proxy-a's DMZ interface, whose rule's session number 2 is taken", scopedProxyA, scopedProxyDMZ, "dmz", failed, "",
				[]string{"session number 2 is held on " + scopedProxyDMZ + " by tms-81541a07fc05ed66a (number 2) → " + scopedTSensorB}},
			{"rule 6: app-b0, whose mirrorflow session to the draining sensor-b2 is deleted first", scopedAppB0, "eni-8444a5d1dbb056e68", "main-vpc", created, scopedTSensorB,
				[]string{"session number 1, filter " + scopedFilter, "deleted stale session(s) tms-1c1b50892e3a9df6b first"}},
			{"rule 6: app-c0, whose mirrorflow session to the retired old-sensor-c is deleted first", scopedAppC0, "eni-7ebdf684aa9ae3408", "main-vpc", created, scopedTSensorC,
				[]string{"session number 1, filter " + scopedFilter, "deleted stale session(s) tms-39dfb241e812c774f first"}},
			{"rules 7 and 10: pay-a on the NLB with a UDP 4789 listener, in its zone, with pci's filter", scopedPayA, "eni-d03af7a6b945edd0f", "pci", created, scopedTNLBUDP,
				[]string{"session number 1, filter " + scopedPCIFilter}},
			{"rule 7: pay-c on the Gateway Load Balancer endpoint of its zone, with pci's filter", scopedPayC, "eni-8f8942afe82c5a8d8", "pci", created, scopedTGWLBE,
				[]string{"session number 1, filter " + scopedPCIFilter}},
			{"rule 9: bastion-a on the DMZ sensor of its zone, with dmz's session number", scopedBastionA, "eni-5124ec74b0b18925e", "dmz", created, scopedTDMZSensorA,
				[]string{"session number 2, filter " + scopedFilter}},
			{"rule 11: proxy-a's primary interface on the least-loaded sensor of us-east-1a", scopedProxyA, scopedProxyApp, "main-vpc", created, scopedTSensorA,
				[]string{"session number 1, filter " + scopedFilter}},
			{"rule 11: app-a0 on the least-loaded sensor of us-east-1a", scopedAppA0, "eni-b42d39b2a3fc6b895", "main-vpc", created, scopedTSensorA,
				[]string{"session number 1, filter " + scopedFilter}},
		}
		if len(sc) != len(tests) {
			t.Errorf("the plan has %d results, want %d: one per source interface of each instance, one for each instance skipped whole", len(sc), len(tests))
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var r PlanResult
				found := 0
				for _, got := range sc {
					if got.InstanceID == tt.instance && got.NetworkInterfaceID == tt.eni {
						r = got
						found++
					}
				}
				if found != 1 {
					t.Fatalf("%d results for %s interface %q, want 1", found, tt.instance, tt.eni)
				}
				if r.Outcome != tt.outcome {
					t.Errorf("outcome %s, want %s (%s)", r.Outcome, tt.outcome, r.Reason)
				}
				for _, w := range tt.reason {
					if !strings.Contains(r.Reason, w) {
						t.Errorf("reason %q lacks %q", r.Reason, w)
					}
				}
				if r.Rule != tt.rule || r.TargetID != tt.target {
					t.Errorf("rule %q on %q, want %q on %q", r.Rule, r.TargetID, tt.rule, tt.target)
				}
			})
		}
	})

	t.Run("rule 1 in scoped: no interface of the sensor instance is placed, the capture one being a target or not", func(t *testing.T) {
		for _, r := range sc {
			if r.NetworkInterfaceID == "eni-3e61eef7b39b0bfba" || r.NetworkInterfaceID == "eni-41bbb23710e630081" {
				t.Errorf("sensor-a's interface %s was placed: %s (%s)", r.NetworkInterfaceID, r.Outcome, r.Reason)
			}
		}
		if r := byInstance(t, sc, scopedSensorA); len(r.Steps) != 1 || r.Steps[0].Step != workflow.StepCheckExistingSession {
			t.Errorf("steps %+v, want CheckExistingSession alone", r.Steps)
		}
	})

	t.Run("rule 3 in scoped: the first matching rule decides and Tags need every pair", func(t *testing.T) {
		rules := map[string]string{}
		for _, r := range sc {
			rules[r.NetworkInterfaceID] = r.Rule
		}
		// proxy-a carries env=prod but not data=pci, so pci does not match;
		// its DMZ interface matches dmz and main-vpc, and dmz comes first.
		if rules[scopedProxyApp] != "main-vpc" || rules[scopedProxyDMZ] != "dmz" {
			t.Errorf("proxy-a's interfaces decided by %q (app) and %q (DMZ), want main-vpc and dmz", rules[scopedProxyApp], rules[scopedProxyDMZ])
		}
		// pay-a carries both pairs and is in the main VPC: pci comes first.
		if got := byInstance(t, sc, scopedPayA).Rule; got != "pci" {
			t.Errorf("pay-a decided by %q, want pci", got)
		}
	})

	t.Run("rule 4 in scoped: an ineligible interface is skipped while its instance's others are placed", func(t *testing.T) {
		outcomes := map[string]workflow.Outcome{}
		for _, r := range sc {
			if r.InstanceID == scopedProxyA {
				outcomes[r.NetworkInterfaceID] = r.Outcome
			}
		}
		want := map[string]workflow.Outcome{scopedProxyApp: workflow.OutcomeCreated, scopedProxyV6: workflow.OutcomeSkipped, scopedProxyDMZ: workflow.OutcomeFailed}
		if diff := cmp.Diff(want, outcomes); diff != "" {
			t.Errorf("proxy-a's interfaces (-want +got):\n%s", diff)
		}
	})

	t.Run("rule 5 in scoped: a session to another rule's candidate does not make an interface mirrored", func(t *testing.T) {
		// proxy-a's DMZ interface has a session to sensor-b, a candidate of
		// main-vpc but not of dmz, which decides it.
		r := byInterface(t, sc, scopedProxyDMZ)
		if r.Outcome == workflow.OutcomeExists || r.TargetID == scopedTSensorB {
			t.Errorf("%s on %s, want it not mirrored by its session to %s", r.Outcome, r.TargetID, scopedTSensorB)
		}
		if a1 := byInstance(t, sc, scopedAppA1); len(a1.Steps) != 1 {
			t.Errorf("the mirrored app-a1 went through %d steps, want CheckExistingSession alone", len(a1.Steps))
		}
	})

	t.Run("rule 6 in scoped: no room on the source fails before any candidate work", func(t *testing.T) {
		for _, eni := range []string{"eni-beba9a0ba2c643b1a", scopedProxyDMZ} {
			r := byInterface(t, sc, eni)
			if r.Outcome != workflow.OutcomeFailed || len(r.Steps) != 1 || r.Steps[0].Step != workflow.StepCheckExistingSession {
				t.Errorf("%s: %s after %d step(s), want failed at CheckExistingSession alone", eni, r.Outcome, len(r.Steps))
			}
		}
	})

	t.Run("rule 6 in scoped: a stale mirrorflow session is announced by CheckExistingSession and its number reused", func(t *testing.T) {
		for eni, stale := range map[string]string{"eni-8444a5d1dbb056e68": "tms-1c1b50892e3a9df6b to " + scopedTSensorB2, "eni-7ebdf684aa9ae3408": "tms-39dfb241e812c774f to " + scopedTOldSensorC} {
			r := byInterface(t, sc, eni)
			check, _ := stepNamed(r, workflow.StepCheckExistingSession)
			if !strings.Contains(check.Note, "stale mirrorflow session(s) "+stale+" are deleted before the new one is created") {
				t.Errorf("%s: CheckExistingSession says %q, want the stale session %s announced", eni, check.Note, stale)
			}
			if !strings.Contains(r.Reason, "(session number 1,") {
				t.Errorf("%s: %q, want the new session to take number 1, which the stale one held", eni, r.Reason)
			}
		}
	})

	t.Run("a draining target in scoped is no candidate of any placement, and says why", func(t *testing.T) {
		gathered := 0
		for _, r := range sc {
			if r.TargetID == scopedTSensorB2 {
				t.Errorf("%s %s placed on the draining %s", r.InstanceID, r.NetworkInterfaceID, scopedTSensorB2)
			}
			gather, ok := stepNamed(r, workflow.StepGatherCandidates)
			if !ok || r.Rule != "main-vpc" {
				continue
			}
			gathered++
			if !hasRejection(gather, scopedTSensorB2, "draining: tagged mirrorflow:draining=true") {
				t.Errorf("%s: GatherCandidates rejected %+v, want %s as draining", r.NetworkInterfaceID, gather.Rejected, scopedTSensorB2)
			}
		}
		if gathered == 0 {
			t.Fatal("no main-vpc placement reached GatherCandidates")
		}
	})

	t.Run("rule 7 in scoped: an NLB is in its AvailabilityZones and a GWLB endpoint in its subnet's zone", func(t *testing.T) {
		for id, zone := range map[string]string{scopedPayA: "1 of 2 sensor(s) in us-east-1a", scopedPayC: "1 of 2 sensor(s) in us-east-1c"} {
			r := byInstance(t, sc, id)
			gather, _ := stepNamed(r, workflow.StepGatherCandidates)
			z, _ := stepNamed(r, workflow.StepFilterByZone)
			if !strings.Contains(gather.Note, scopedTNLBUDP+" (us-east-1a,us-east-1b, no source limit)") ||
				!strings.Contains(gather.Note, scopedTGWLBE+" (us-east-1c, no source limit)") || !strings.HasPrefix(z.Note, zone) {
				t.Errorf("%s: candidates %q, zone note %q; want the NLB in us-east-1a,us-east-1b, the endpoint in us-east-1c, and %q", id, gather.Note, z.Note, zone)
			}
		}
	})

	t.Run("rule 8 in scoped: a sensor whose group admits only its own zone's subnet is rejected for the others' sources", func(t *testing.T) {
		for _, eni := range []string{"eni-8444a5d1dbb056e68", scopedProxyApp, "eni-b42d39b2a3fc6b895"} {
			r := byInterface(t, sc, eni)
			sg, _ := stepNamed(r, workflow.StepFilterBySG)
			if !hasRejection(sg, scopedTSensorC, scopedSensorCGroup+": no inbound rule admits UDP 4789 from 10.0.") {
				t.Errorf("%s: FilterBySecurityGroup rejected %+v, want %s for its group %s", eni, sg.Rejected, scopedTSensorC, scopedSensorCGroup)
			}
		}
		sg, _ := stepNamed(byInstance(t, sc, scopedAppC0), workflow.StepFilterBySG)
		if !slices.Contains(sg.Kept, scopedTSensorC) {
			t.Errorf("app-c0: FilterBySecurityGroup kept %v, want %s, whose group admits app-c", sg.Kept, scopedTSensorC)
		}
	})

	t.Run("rule 9 in scoped: the source subnet's ACL denying the packet outbound rejects the sensor", func(t *testing.T) {
		acl, _ := stepNamed(byInstance(t, sc, scopedBastionA), workflow.StepFilterByNACL)
		if !hasRejection(acl, scopedTDMZSensorB, scopedDMZACL+" (subnet-f38c2c1a3c865876d outbound): rule 90 denies UDP 4789 to 10.0.101.30") ||
			!slices.Equal(acl.Kept, []string{scopedTDMZSensorA}) {
			t.Errorf("FilterByNetworkACL kept %v, rejected %+v; want %s kept and %s denied by rule 90 of %s", acl.Kept, acl.Rejected, scopedTDMZSensorA, scopedTDMZSensorB, scopedDMZACL)
		}
	})

	t.Run("rule 10 in scoped: an NLB without a UDP 4789 listener is rejected, saying what listener to add", func(t *testing.T) {
		for _, id := range []string{scopedPayA, scopedPayC} {
			gather, _ := stepNamed(byInstance(t, sc, id), workflow.StepGatherCandidates)
			if !hasRejection(gather, scopedTNLBTCP, "has no UDP or TCP_UDP listener on port 4789") ||
				!hasRejection(gather, scopedTNLBTCP, "add a UDP listener on port 4789 to it") || !slices.Contains(gather.Kept, scopedTNLBUDP) {
				t.Errorf("%s: GatherCandidates kept %v, rejected %+v; want %s kept and %s rejected for want of a UDP 4789 listener", id, gather.Kept, gather.Rejected, scopedTNLBUDP, scopedTNLBTCP)
			}
		}
	})

	t.Run("rule 11 in scoped: same-zone sensors first, interface targets limited to 10 sources, load balancers unlimited", func(t *testing.T) {
		zoneOfInstance, zoneOfTarget := zones(t, scoped)
		zoneOfTarget[scopedTNLBUDP], zoneOfTarget[scopedTGWLBE] = "us-east-1a", "us-east-1c" // the NLB is in 1b too
		for _, r := range sc {
			if r.Outcome != workflow.OutcomeCreated {
				continue
			}
			if zoneOfTarget[r.TargetID] != zoneOfInstance[r.InstanceID] {
				t.Errorf("%s %s in %s placed on %s in %s, though its zone has a sensor that passes", r.InstanceID, r.NetworkInterfaceID, zoneOfInstance[r.InstanceID], r.TargetID, zoneOfTarget[r.TargetID])
			}
			gather, _ := stepNamed(r, workflow.StepGatherCandidates)
			for _, id := range gather.Kept {
				limit := ", up to 10 sources)"
				if id == scopedTNLBUDP || id == scopedTGWLBE {
					limit = ", no source limit)"
				}
				if !regexp.MustCompile(regexp.QuoteMeta(id) + ` \([^)]*` + regexp.QuoteMeta(limit)).MatchString(gather.Note) {
					t.Errorf("%s: candidates %q, want %s with %q", r.NetworkInterfaceID, gather.Note, id, limit)
				}
			}
		}
	})

	t.Run("rule 12 in scoped: each new session takes the FilterId and SessionNumber of the rule that decides it", func(t *testing.T) {
		want := map[string]string{
			"pci":      "(session number 1, filter " + scopedPCIFilter + ",",
			"dmz":      "(session number 2, filter " + scopedFilter + ",",
			"main-vpc": "(session number 1, filter " + scopedFilter + ",",
		}
		seen := map[string]bool{}
		for _, r := range sc {
			if r.Outcome != workflow.OutcomeCreated {
				continue
			}
			seen[r.Rule] = true
			if !strings.Contains(r.Reason, want[r.Rule]) {
				t.Errorf("%s under rule %q: %q, want %q", r.NetworkInterfaceID, r.Rule, r.Reason, want[r.Rule])
			}
		}
		if len(seen) != len(want) {
			t.Errorf("sessions were created under rules %v, want one at least under each of %d", seen, len(want))
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
	api, lb := simulatorClients(endpoint, "")
	if err := e.app.plan(t.Context(), &globals{output: "json"}, f, api, lb, *snap.Config); err != nil {
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
		{"--stack means nothing to a snapshot, which has its own configuration",
			[]string{"--snapshot", threeZones, "--stack", "Other"},
			[]string{"--stack applies to --live only"}},
		{"--stack and --config together are ambiguous",
			[]string{"--live", "--stack", "Other", "--config", "x.json"},
			[]string{"give --stack or --config, not both"}},
		{"an unknown key in --config is refused",
			[]string{"--live", "--config", write("config.json", `{"FilterId": "tmf-0a1b2c3d", "Sensors": []}`)},
			[]string{"config.json", `unknown field "Sensors"`}},
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
	return liveEnvDeployed(t, file, nil)
}

// liveEnvDeployed is liveEnv with a fake CloudFormation holding stacks (by
// name, each its outputs; none when nil), through
// AWS_ENDPOINT_URL_CLOUDFORMATION, where --live reads the configuration.
func liveEnvDeployed(t *testing.T, file string, stacks map[string]map[string]string) (*planEnv, *ec2sim.Sim) {
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
	cfn := httptest.NewServer(&fakeCFN{t: t, stacks: stacks})
	t.Cleanup(cfn.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_EC2":            endpoint,
		"AWS_ENDPOINT_URL_CLOUDFORMATION": cfn.URL,
		"AWS_ACCESS_KEY_ID":               "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_REGION":                      "us-east-1",
		"AWS_CONFIG_FILE":                 filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE":     filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED":       "true",
		"AWS_PROFILE":                     "",
		"AWS_SESSION_TOKEN":               "",
	} {
		t.Setenv(k, v)
	}
	return newPlanEnv(t), sim
}

func TestPlanLive(t *testing.T) {
	t.Run("--live reads the configuration from the stack's Configuration output", func(t *testing.T) {
		snap, err := snapshot.Load(threeZones)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := liveEnvDeployed(t, threeZones, deployedWith(snap.Config))
		results := e.plan("--live")
		if len(results) != 7 {
			t.Fatalf("got %d results, want the 7 running instances", len(results))
		}
		created := 0
		for _, r := range results {
			if r.Outcome == workflow.OutcomeCreated {
				created++
			}
		}
		if created != 6 {
			t.Errorf("%d created (DryRun), want 6: the stack's configuration names the sensors", created)
		}
	})
	t.Run("--live without a stack, --config or a filter says what to pass", func(t *testing.T) {
		e, _ := liveEnvDeployed(t, threeZones, nil)
		if code := e.run("plan", "--live"); code != exitUsage {
			t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, e.err)
		}
		for _, words := range []string{"stack Mirrorflow does not exist", "--filter-id", "--config FILE"} {
			if !strings.Contains(e.err.String(), words) {
				t.Errorf("stderr lacks %q:\n%s", words, e.err)
			}
		}
	})
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
