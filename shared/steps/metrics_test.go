package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/internal/testkit/emf"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// metricsLog is a metrics writer a test reads back; safe for handlers run at once.
type metricsLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *metricsLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// capture makes h write its metrics to a log the test reads with data.
func capture(h *Handlers) *metricsLog {
	l := &metricsLog{}
	h.Metrics = l
	return l
}

// data reads back what was written, failing the test on any line that is
// not a valid EMF document in mirrorflow's namespace, or that writes a
// metric outside the contract (workflow.Metrics).
func (l *metricsLog) data(t testing.TB) []emf.Datum {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	data, err := emf.Parse(l.buf.Bytes())
	if err != nil {
		t.Fatalf("the metrics written are not EMF: %v", err)
	}
	for _, d := range data {
		if d.Namespace != workflow.MetricNamespace || !slices.Contains(workflow.Metrics, d.Name) {
			t.Errorf("wrote %s/%s, which is not in the contract (namespace %s, workflow.Metrics)", d.Namespace, d.Name, workflow.MetricNamespace)
		}
		if age := time.Since(time.UnixMilli(d.Timestamp)); age < 0 || age > time.Minute {
			t.Errorf("%s has timestamp %d, not now in milliseconds", d.Name, d.Timestamp)
		}
	}
	return data
}

// placementMetrics sums a run's placement metrics by name and dimension
// value: "Placements/created": 1, "PlacementFailures/GatherCandidates": 1,
// "RePicks": 1.
func placementMetrics(data []emf.Datum) map[string]float64 {
	out := map[string]float64{}
	for _, d := range data {
		key := d.Name
		for _, dim := range []string{workflow.DimOutcome, workflow.DimStep} {
			if v, ok := d.Dimensions[dim]; ok {
				key += "/" + v
			}
		}
		out[key] += d.Value
	}
	return out
}

// TestPlacementMetrics runs placements with the handlers' metrics captured
// and checks each placement is counted once, by the step that decides its
// outcome, and a failure against the step that failed.
func TestPlacementMetrics(t *testing.T) {
	tests := []struct {
		name     string
		instance string
		setup    func(testing.TB, *ec2account.Account, *config.Config)
		want     map[string]float64
	}{
		{name: "a created placement writes Placements Outcome=created once", instance: app0,
			want: map[string]float64{"Placements/created": 1}},
		{name: "an interface already mirrored writes Placements Outcome=exists once, from CheckExistingSession", instance: app1,
			want: map[string]float64{"Placements/exists": 1}},
		{name: "an instance that is gone writes Placements Outcome=skipped once", instance: "i-0d0d0d0d0d0d0d0d0",
			want: map[string]float64{"Placements/skipped": 1}},
		{name: "no room on the source fails at CheckExistingSession", instance: app1,
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor0, sensor2, sensor3}
			},
			want: map[string]float64{"Placements/failed": 1, "PlacementFailures/CheckExistingSession": 1}},
		{name: "NoReachableSensor writes Placements Outcome=failed and PlacementFailures for GatherCandidates", instance: app0,
			setup: func(_ testing.TB, _ *ec2account.Account, c *config.Config) {
				c.SensorTag = config.Tag{Key: "team", Value: "nsm"}
			},
			want: map[string]float64{"Placements/failed": 1, "PlacementFailures/GatherCandidates": 1}},
		{name: "NoReachableSensor writes PlacementFailures for the filter that rejected the last candidate", instance: app0,
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) { f.AddSecurityGroups(denyVXLANGroup()) },
			want:  map[string]float64{"Placements/failed": 1, "PlacementFailures/FilterBySecurityGroup": 1}},
		{name: "every sensor full fails at PickLeastLoaded", instance: app0,
			setup: func(_ testing.TB, f *ec2account.Account, c *config.Config) {
				c.TargetIDs = []string{sensor3}
				f.AddTrafficMirrorSessions(sessionsFrom(sensor3, 10)...)
			},
			want: map[string]float64{"Placements/failed": 1, "PlacementFailures/PickLeastLoaded": 1}},
		{name: "a throttled step writes no failure: the state machine retries it", instance: app0,
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				f.InjectFault(ec2sim.Fault{Action: "DescribeSecurityGroups", Count: 1, Code: "RequestLimitExceeded"})
			},
			want: map[string]float64{}},
		{name: "an unavailable EC2 writes no failure either", instance: app0,
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				f.InjectFault(ec2sim.Fault{Action: "CreateTrafficMirrorSession", Count: 1, Code: "InternalError"})
			},
			want: map[string]float64{}},
		{name: "a create EC2 rejects fails at CreateSession", instance: app0,
			setup: func(_ testing.TB, f *ec2account.Account, _ *config.Config) {
				f.InjectFault(ec2sim.Fault{Action: "CreateTrafficMirrorSession", Count: 1, Code: "UnauthorizedOperation"})
			},
			want: map[string]float64{"Placements/failed": 1, "PlacementFailures/CreateSession": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acct, cfg := loadScenario(t)
			if tt.setup != nil {
				tt.setup(t, acct, &cfg)
			}
			h := New(acct.Client, acct.ELBv2, cfg)
			log := capture(h)
			_, _ = runPrimary(context.Background(), h, startFor(tt.instance))
			data := log.data(t)
			if diff := cmp.Diff(tt.want, placementMetrics(data)); diff != "" {
				t.Errorf("metrics written (-want +got):\n%s", diff)
			}
			for _, d := range data {
				if d.Properties["executionId"] != executionID || d.Properties["instanceId"] != tt.instance {
					t.Errorf("%s carries properties %v, want the execution and the instance", d.Name, d.Properties)
				}
			}
		})
	}
}

// TestARePickIsCountedAndSensorFullIsNoFailure: CreateSession's SensorFull
// writes nothing (the placement goes on), and the pass back to
// PickLeastLoaded writes RePicks once; the placement then lands.
func TestARePickIsCountedAndSensorFullIsNoFailure(t *testing.T) {
	ctx := context.Background()
	acct, cfg := loadScenario(t)
	h := New(acct.Client, acct.ELBv2, cfg)
	p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
	fill(acct, p.TargetID)
	log := capture(h)

	gotType, msg := invoke(t, h.CreateSession, p)
	if gotType != steperr.TypeName(&steperr.SensorFull{}) {
		t.Fatalf("CreateSession on a sensor filled meanwhile: %q (%s), want SensorFull", gotType, msg)
	}
	if got := placementMetrics(log.data(t)); len(got) != 0 {
		t.Errorf("SensorFull wrote %v, want nothing", got)
	}
	again, err := h.PickLeastLoaded(ctx, caught(t, p, gotType, msg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.CreateSession(ctx, again); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"RePicks": 1, "Placements/created": 1}
	if diff := cmp.Diff(want, placementMetrics(log.data(t))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestEveryStepCountsItsTerminalFailure: a payload no step can use is
// InvalidInput, terminal, and counted against the step that got it.
func TestEveryStepCountsItsTerminalFailure(t *testing.T) {
	acct, cfg := loadScenario(t)
	h := New(acct.Client, acct.ELBv2, cfg)
	log := capture(h)
	want := map[string]float64{}
	for _, s := range workflow.Steps[1:] {
		if gotType, _ := invoke(t, handlerOf(h, s.Name), workflow.Placement{InstanceID: app0}); gotType != "InvalidInput" {
			t.Fatalf("%s: errorType %q, want InvalidInput", s.Name, gotType)
		}
		want["Placements/failed"]++
		want["PlacementFailures/"+s.Name] = 1
	}
	if gotType, _ := invoke(t, h.CheckExistingSession, workflow.Start{Input: json.RawMessage(`[1]`)}); gotType != "InvalidInput" {
		t.Fatalf("CheckExistingSession: errorType %q, want InvalidInput", gotType)
	}
	want["Placements/failed"]++
	want["PlacementFailures/"+workflow.StepCheckExistingSession] = 1
	if diff := cmp.Diff(want, placementMetrics(log.data(t))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestNewWritesNoMetrics: mirrorctl builds its handlers with New, and a plan
// must print no metrics on the user's terminal.
func TestNewWritesNoMetrics(t *testing.T) {
	acct, cfg := loadScenario(t)
	h := New(acct.Client, acct.ELBv2, cfg)
	if h.Metrics != nil || h.publishing() {
		t.Fatalf("New's handlers write metrics to %v", h.Metrics)
	}
	if _, err := Run(context.Background(), h, startFor(app0)); err != nil {
		t.Fatal(err)
	}
}

// reconcileStart is a Reconcile's $$.Execution.StartTime.
var reconcileStart = time.Date(2026, 11, 30, 17, 53, 0, 123e6, time.UTC).Format(time.RFC3339Nano)

// TestTallyReconcileWritesCoverageAfterTheLastPage: the Reconcile's figures
// are written once, when the page just tallied was the last.
func TestTallyReconcileWritesCoverageAfterTheLastPage(t *testing.T) {
	page := func(next string, judged workflow.ReconcileCounts, pages int) workflow.TallyInput {
		return workflow.TallyInput{
			Page: workflow.ReconcilePage{Judged: judged, State: workflow.ReconcileState{NextToken: next, Totals: workflow.ReconcileTotals{
				Pages: pages, Judged: workflow.ReconcileCounts{Mirrored: 2, Unmirrored: 1}, Placed: 1, Failed: 1, Deleted: 2,
			}}},
			Results: []workflow.ReconcileResult{{InstanceID: "i-1", Outcome: workflow.ReconcilePlaced}},
			Deleted: workflow.DeletedSessions{Deleted: []string{"tms-1"}},
		}
	}
	tests := []struct {
		name string
		in   workflow.TallyInput
		want map[string]float64
	}{
		{name: "a page with a next page writes nothing", in: page("page-3", workflow.ReconcileCounts{Mirrored: 5}, 1), want: map[string]float64{}},
		{name: "the last page writes coverage and what the Reconcile did, from the totals",
			in:   page("", workflow.ReconcileCounts{Mirrored: 5, Unmirrored: 2, Skipped: 4}, 1),
			want: map[string]float64{"Coverage": 0.7, "ReconcilePlaced": 2, "ReconcileFailed": 1, "ReconcileDeleted": 3}},
		{name: "coverage is 1 when no interface is to be mirrored", in: workflow.TallyInput{Page: workflow.ReconcilePage{Judged: workflow.ReconcileCounts{Skipped: 3}}},
			want: map[string]float64{"Coverage": 1, "ReconcilePlaced": 0, "ReconcileFailed": 0, "ReconcileDeleted": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handlers{}
			log := capture(h)
			if _, err := h.TallyReconcile(context.Background(), tt.in); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, placementMetrics(log.data(t))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// sensorMetrics are the sensor metrics written, by zone and name.
func sensorMetrics(data []emf.Datum) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, d := range data {
		z, ok := d.Dimensions[workflow.DimZone]
		if !ok {
			continue
		}
		if out[z] == nil {
			out[z] = map[string]float64{}
		}
		out[z][d.Name] += d.Value
	}
	return out
}

// TestListReconcileWorkWritesSensorLoadOnTheFirstPage reads the example
// account's sensors (sensor0 and sensor3 in us-east-1a, sensor1 in
// us-east-1b, sensor2 in us-east-1c, each a 10-source interface target) once
// per Reconcile, on its first page. A tagged Network Load Balancer in
// us-east-1a and us-east-1b, which has no limit, adds nothing.
func TestListReconcileWorkWritesSensorLoadOnTheFirstPage(t *testing.T) {
	acct, cfg := loadScenario(t)
	acct.Put(taggedNLB(cfg))
	h := New(acct.Client, acct.ELBv2, cfg)
	log := capture(h)
	ctx := context.Background()
	if _, err := h.ListReconcileWork(ctx, workflow.ReconcileInput{StartTime: reconcileStart}); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{
		"us-east-1a": {"SensorSources": 3, "SensorCapacity": 20, "SensorHeadroom": 17},
		"us-east-1b": {"SensorSources": 1, "SensorCapacity": 10, "SensorHeadroom": 9},
		"us-east-1c": {"SensorSources": 0, "SensorCapacity": 10, "SensorHeadroom": 10},
	}
	if diff := cmp.Diff(want, sensorMetrics(log.data(t))); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}

	later := capture(h)
	next := workflow.ReconcileState{NextToken: "", Totals: workflow.ReconcileTotals{Pages: 1}}
	if _, err := h.ListReconcileWork(ctx, workflow.ReconcileInput{State: next, StartTime: reconcileStart}); err != nil {
		t.Fatal(err)
	}
	if got := later.data(t); len(got) != 0 {
		t.Errorf("a page after the first wrote %d metrics, want none: the load is read once per Reconcile", len(got))
	}
}

// taggedNLB is nlb's Network Load Balancer sensor, tagged as a candidate
// of cfg's sensor tag.
func taggedNLB(cfg config.Config) *snapshot.Snapshot {
	snap := nlb(elbv2types.ProtocolEnumTcpUdp)
	snap.TrafficMirrorTargets[0].Tags = []ec2types.Tag{{Key: aws.String(cfg.SensorTag.Key), Value: aws.String(cfg.SensorTag.Value)}}
	return snap
}

// TestZoneLoads is the per-zone sum the sensor metrics are written from.
func TestZoneLoads(t *testing.T) {
	tests := []struct {
		name    string
		sensors []workflow.SensorLoad
		want    []ZoneLoad
	}{
		{name: "sensors of a zone add up, zones sorted",
			sensors: []workflow.SensorLoad{
				{TargetID: "tmt-b", Zone: "us-east-1b", Sources: 4, Limit: 10},
				{TargetID: "tmt-a1", Zone: "us-east-1a", Sources: 10, Limit: 100},
				{TargetID: "tmt-a2", Zone: "us-east-1a", Sources: 1, Limit: 10},
			},
			want: []ZoneLoad{{Zone: "us-east-1a", Sources: 11, Capacity: 110, Headroom: 99}, {Zone: "us-east-1b", Sources: 4, Capacity: 10, Headroom: 6}}},
		{name: "a sensor over its limit has no headroom and takes none from another",
			sensors: []workflow.SensorLoad{
				{TargetID: "tmt-1", Zone: "us-east-1a", Sources: 12, Limit: 10},
				{TargetID: "tmt-2", Zone: "us-east-1a", Sources: 3, Limit: 10},
			},
			want: []ZoneLoad{{Zone: "us-east-1a", Sources: 15, Capacity: 20, Headroom: 7}}},
		{name: "load balancers have no limit: no capacity, no headroom, and a zone of load balancers alone writes nothing",
			sensors: []workflow.SensorLoad{
				{TargetID: "tmt-nlb", Zone: "us-east-1a,us-east-1b", Sources: 40},
				{TargetID: "tmt-gwlbe", Zone: "us-east-1c", Sources: 7},
				{TargetID: "tmt-eni", Zone: "us-east-1a", Sources: 2, Limit: 10},
			},
			want: []ZoneLoad{{Zone: "us-east-1a", Sources: 2, Capacity: 10, Headroom: 8}}},
		{name: "a draining sensor takes no new source: its slots are no headroom",
			sensors: []workflow.SensorLoad{
				{TargetID: "tmt-1", Zone: "us-east-1a", Sources: 3, Limit: 10, Draining: true},
				{TargetID: "tmt-2", Zone: "us-east-1a", Sources: 1, Limit: 10},
			},
			want: []ZoneLoad{{Zone: "us-east-1a", Sources: 1, Capacity: 10, Headroom: 9}}},
		{name: "no sensor, no zone", want: []ZoneLoad{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ZoneLoads(tt.sensors)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestEveryMetricIsWritten runs one scenario through every path that
// writes a metric (a placement created, one failed, a re-pick, a
// Reconcile's first and last page) and checks each name in
// workflow.Metrics was written: the dashboard and alarms chart only names
// the code writes.
func TestEveryMetricIsWritten(t *testing.T) {
	ctx := context.Background()
	acct, cfg := loadScenario(t)
	h := New(acct.Client, acct.ELBv2, cfg)
	log := capture(h)

	if _, err := runPrimary(ctx, h, startFor(app2)); err != nil {
		t.Fatalf("placing %s: %v", app2, err)
	}
	p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
	fill(acct, p.TargetID)
	if gotType, msg := invoke(t, h.CreateSession, p); gotType != steperr.TypeName(&steperr.SensorFull{}) {
		t.Fatalf("CreateSession: %q (%s), want SensorFull", gotType, msg)
	}
	if _, err := h.PickLeastLoaded(ctx, caught(t, p, "SensorFull", "full")); err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.SensorTag = config.Tag{Key: "team", Value: "nsm"}
	failing := New(acct.Client, acct.ELBv2, bad)
	failing.Metrics = log
	if _, err := runPrimary(ctx, failing, startFor(app0)); err == nil {
		t.Fatal("a placement with no sensor succeeded")
	}
	page, err := h.ListReconcileWork(ctx, workflow.ReconcileInput{StartTime: reconcileStart})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.TallyReconcile(ctx, workflow.TallyInput{Page: page}); err != nil {
		t.Fatal(err)
	}
	if page.State.NextToken != "" {
		t.Fatalf("the example account lists in more than one page; the tally above was not the last")
	}

	written := map[string]bool{}
	for _, d := range log.data(t) {
		written[d.Name] = true
	}
	for _, name := range workflow.Metrics {
		if !written[name] {
			t.Errorf("%s is in workflow.Metrics but no step wrote it", name)
		}
	}
}
