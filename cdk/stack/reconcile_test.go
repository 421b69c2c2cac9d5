package stack_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/cdk/stack"
	"github.com/mirrorflow/mirrorflow/internal/offline/template"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
	"github.com/mirrorflow/mirrorflow/statemachine"
)

// reconcileStates is the Reconcile's definition, resolved, every state at
// any depth by name.
func reconcileStates(t *testing.T, s synthesized) map[string]map[string]any {
	t.Helper()
	id, err := s.tmpl.StateMachineOf(template.OutputReconcile)
	if err != nil {
		t.Fatal(err)
	}
	def, err := s.tmpl.DefinitionOf(template.DefaultEnv, id)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		States map[string]map[string]any `json:"States"`
	}
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	var walk func(states map[string]map[string]any)
	walk = func(states map[string]map[string]any) {
		for name, st := range states {
			out[name] = st
			if p, ok := st["ItemProcessor"].(map[string]any); ok {
				inner := map[string]map[string]any{}
				for n, v := range p["States"].(map[string]any) {
					inner[n] = v.(map[string]any)
				}
				walk(inner)
			}
		}
	}
	walk(m.States)
	return out
}

// TestReconcileTasksRetryAndCatch walks the Reconcile's definition: every
// Task retries and catches, every catch-all leads to a dead-letter send,
// and the Map starts placements through startExecution.sync:2 at most
// MaxConcurrency at once.
func TestReconcileTasksRetryAndCatch(t *testing.T) {
	states := reconcileStates(t, tagged)
	tasks := 0
	for name, st := range states {
		if st["Type"] != "Task" {
			continue
		}
		tasks++
		if _, ok := st["Retry"]; !ok {
			t.Errorf("Task %s has no Retry", name)
		}
		catches, _ := st["Catch"].([]any)
		if len(catches) == 0 && !strings.HasPrefix(name, "Send") {
			t.Errorf("Task %s has no Catch", name)
		}
	}
	if want := len(workflow.ReconcileSteps) + 3; tasks != want {
		t.Errorf("%d Tasks, want the %d steps, StartPlacement and two dead-letter sends", tasks, want)
	}
	start := states[statemachine.StateStartPlacement]
	if start["Resource"] != "arn:aws:states:::states:startExecution.sync:2" {
		t.Errorf("StartPlacement uses %v, want startExecution.sync:2 (wait for the placement, its output as JSON)", start["Resource"])
	}
	if arn := start["Parameters"].(map[string]any)["StateMachineArn"]; !strings.Contains(str(arn), placementID(t, tagged)) {
		t.Errorf("StartPlacement starts %v, want the placement state machine", arn)
	}
	mapState := states[statemachine.StatePlaceEachInstance]
	if got := mapState["MaxConcurrency"]; got != float64(stack.DefaultReconcileConcurrency) {
		t.Errorf("the Map's MaxConcurrency is %v, want the default %d: unbounded, a backfill would start every placement at once", got, stack.DefaultReconcileConcurrency)
	}
}

// TestReconcileRunsOnItsScheduleAndAfterEachDeploy checks the schedule
// (EventBridge Scheduler, the configured rate, the Reconcile as target) and
// the backfill custom resource, which starts it on create and on update.
func TestReconcileRunsOnItsScheduleAndAfterEachDeploy(t *testing.T) {
	hasProps(t, tagged.assertions, jsii.String("AWS::Scheduler::Schedule"), &map[string]any{
		"ScheduleExpression": stack.DefaultReconcileSchedule,
		"State":              "ENABLED",
		"Target": map[string]any{
			"Arn":   map[string]any{"Ref": onlyReconcile(t, tagged)},
			"Input": `{"trigger":"schedule"}`,
		},
	})
	backfill := tagged.tmpl.LogicalIDs("Custom::AWS")
	if len(backfill) != 1 {
		t.Fatalf("custom resources %v, want the one backfill", backfill)
	}
	props := tagged.tmpl.Resources[backfill[0]].Properties
	for _, key := range []string{"Create", "Update"} {
		v, err := tagged.tmpl.Resolve(props[key], template.DefaultEnv)
		if err != nil {
			t.Fatal(err)
		}
		call := str(v)
		if !strings.Contains(call, `"action":"startExecution"`) || !strings.Contains(call, `deploy-`) {
			t.Errorf("backfill %s is %s, want a startExecution named deploy-<fingerprint>", key, call)
		}
	}
}

func onlyReconcile(t *testing.T, s synthesized) string {
	t.Helper()
	id, err := s.tmpl.StateMachineOf(template.OutputReconcile)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestReconcileFromContext(t *testing.T) {
	tests := []contextCase[stack.ReconcileOptions]{
		{name: "unset is every 6 hours, 5 at once, with a backfill", want: stack.ReconcileOptions{Schedule: "rate(6 hours)", MaxConcurrency: 5, Backfill: ptr(true)}},
		{name: "a cdk.json object", context: map[string]any{"Schedule": "rate(1 day)", "MaxConcurrency": 10, "Backfill": false},
			want: stack.ReconcileOptions{Schedule: "rate(1 day)", MaxConcurrency: 10, Backfill: ptr(false)}},
		{name: "a -c string", context: `{"Schedule":"rate(30 minutes)"}`, want: stack.ReconcileOptions{Schedule: "rate(30 minutes)", MaxConcurrency: 5, Backfill: ptr(true)}},
		{name: "a plural unit for 1 is refused, as AWS refuses it", context: map[string]any{"Schedule": "rate(1 hours)"}, wantErr: "singular unit for 1"},
		{name: "a singular unit for more is refused", context: map[string]any{"Schedule": "rate(6 hour)"}, wantErr: "singular unit for 1"},
		{name: "zero is no rate", context: map[string]any{"Schedule": "rate(0 hours)"}, wantErr: "not a rate expression"},
		{name: "seconds are not a unit AWS has", context: map[string]any{"Schedule": "rate(30 seconds)"}, wantErr: "not a rate expression"},
		{name: "a cron expression is not a rate", context: map[string]any{"Schedule": "cron(0 */6 * * ? *)"}, wantErr: "not a rate expression"},
		{name: "a concurrency beyond EC2's buckets is refused", context: map[string]any{"MaxConcurrency": 500}, wantErr: "MaxConcurrency 500"},
		{name: "a misspelt key is refused", context: map[string]any{"Schedul": "rate(6 hours)"}, wantErr: "Schedul"},
	}
	checkFromContext(t, stack.ReconcileContextKey, stack.ReconcileFromContext, tests)
}

func TestBackfillCanBeTurnedOff(t *testing.T) {
	app := awscdk.NewApp(nil)
	s, err := stack.New(app, stack.Name, stack.Props{Config: testConfig, AssetRoot: assetRoot, Reconcile: stack.ReconcileOptions{Backfill: ptr(false)}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(assertions.Template_FromStack(s.Stack, nil).ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "Custom::AWS") {
		t.Error("Backfill false still deploys the backfill custom resource")
	}
	if !strings.Contains(string(raw), "AWS::Scheduler::Schedule") {
		t.Error("Backfill false took the schedule away too")
	}
}

// TestReconcileDeletesOnlyMirrorflowsSessions: DeleteStaleSessions may
// delete a traffic mirror session only when it carries ManagedBy=mirrorflow.
func TestReconcileDeletesOnlyMirrorflowsSessions(t *testing.T) {
	found := false
	for _, st := range roleStatements(t, tagged, workflow.StepDeleteStaleSessions) {
		if !slices.Contains(st.Action, "ec2:DeleteTrafficMirrorSession") {
			continue
		}
		found = true
		if got := st.Condition["StringEquals"]["aws:ResourceTag/ManagedBy"]; got != "mirrorflow" {
			t.Errorf("DeleteTrafficMirrorSession is allowed with condition %v, want aws:ResourceTag/ManagedBy = mirrorflow", st.Condition)
		}
	}
	if !found {
		t.Error("DeleteStaleSessions' role has no DeleteTrafficMirrorSession statement")
	}
}
