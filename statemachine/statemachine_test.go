package statemachine_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/template"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
	"github.com/mirrorflow/mirrorflow/statemachine"
)

// The workflow is synthesized once per test binary: a synth costs seconds.
var (
	// definition is the resolved ASL, as deployed.
	definition json.RawMessage
	// asl is definition decoded, with every state, the Map's iterator's
	// included, in asl.States.
	asl stateMachine
	// top are the definition's own states, outside the Map.
	top map[string]state
	// functionARNs maps each step to the ARN of the function built for it.
	functionARNs = map[string]string{}
)

// stateMachine and state hold the parts of the Amazon States Language the
// tests read.
type stateMachine struct {
	StartAt        string           `json:"StartAt"`
	TimeoutSeconds int              `json:"TimeoutSeconds"`
	States         map[string]state `json:"States"`
}

type state struct {
	Type string `json:"Type"`
	// Map states: the iterator and how the Map reads and writes.
	ItemProcessor  *stateMachine   `json:"ItemProcessor"`
	ItemsPath      string          `json:"ItemsPath"`
	MaxConcurrency int             `json:"MaxConcurrency"`
	ResultSelector map[string]any  `json:"ResultSelector"`
	Resource       string          `json:"Resource"`
	Parameters     map[string]any  `json:"Parameters"`
	InputPath      string          `json:"InputPath"`
	OutputPath     *string         `json:"OutputPath"`
	ResultPath     json.RawMessage `json:"ResultPath"`
	Next           string          `json:"Next"`
	End            bool            `json:"End"`
	Retry          []retrier       `json:"Retry"`
	Catch          []catcher       `json:"Catch"`
	Choices        []any           `json:"Choices"`
	Default        string          `json:"Default"`
	ErrorPath      string          `json:"ErrorPath"`
	CausePath      string          `json:"CausePath"`
}

type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	BackoffRate     float64  `json:"BackoffRate"`
	MaxAttempts     int      `json:"MaxAttempts"`
	MaxDelaySeconds int      `json:"MaxDelaySeconds"`
	JitterStrategy  string   `json:"JitterStrategy"`
}

type catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	ResultPath  string   `json:"ResultPath"`
	Next        string   `json:"Next"`
}

func TestMain(m *testing.M) {
	code, err := synthesize(m)
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

// synthesize builds the state machine over real functions (with empty
// bootstrap assets in a temp dir) in a bare stack, then resolves its
// definition the way the offline runner does, through internal/offline/template.
func synthesize(m *testing.M) (int, error) {
	assets, err := os.MkdirTemp("", "statemachine-assets-")
	if err != nil {
		return 0, fmt.Errorf("creating asset dir: %w", err)
	}
	defer func() { _ = os.RemoveAll(assets) }() // best effort: a leftover temp folder fails no test

	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("StateMachineTest"), nil)
	fns := map[string]awslambda.IFunction{}
	for _, step := range workflow.Steps {
		dir := filepath.Join(assets, step.Dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, fmt.Errorf("creating asset for %s: %w", step.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), nil, 0o755); err != nil {
			return 0, fmt.Errorf("creating asset for %s: %w", step.Name, err)
		}
		fns[step.Name] = awslambda.NewFunction(stack, jsii.String(step.Name), &awslambda.FunctionProps{
			Runtime:     awslambda.Runtime_PROVIDED_AL2023(),
			Handler:     jsii.String("bootstrap"),
			Code:        awslambda.Code_FromAsset(jsii.String(dir), nil),
			Environment: &map[string]*string{workflow.StepEnvVar: jsii.String(step.Name)},
		})
	}
	if _, err := statemachine.New(stack, "Placement", statemachine.Props{
		Functions:       fns,
		DeadLetterQueue: awssqs.NewQueue(stack, jsii.String("DeadLetters"), nil),
		LogGroup:        awslogs.NewLogGroup(stack, jsii.String("Logs"), nil),
	}); err != nil {
		return 0, err
	}

	raw, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
	if err != nil {
		return 0, fmt.Errorf("encoding template: %w", err)
	}
	tmpl, err := template.Parse(raw)
	if err != nil {
		return 0, err
	}
	if definition, err = tmpl.Definition(template.DefaultEnv); err != nil {
		return 0, err
	}
	if err := json.Unmarshal(definition, &asl); err != nil {
		return 0, fmt.Errorf("decoding definition: %w", err)
	}
	top = asl.States
	// State names are unique across a definition, the Map's iterator
	// included, so the tests read every state by name from one map.
	flat := map[string]state{}
	var collect func(states map[string]state) error
	collect = func(states map[string]state) error {
		for name, st := range states {
			if _, dup := flat[name]; dup {
				return fmt.Errorf("state name %s is used twice", name)
			}
			flat[name] = st
			if st.ItemProcessor != nil {
				if err := collect(st.ItemProcessor.States); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := collect(asl.States); err != nil {
		return 0, err
	}
	asl.States = flat
	steps, err := tmpl.StepFunctions(template.DefaultEnv)
	if err != nil {
		return 0, err
	}
	for name, fn := range steps {
		functionARNs[name] = fn.ARN
	}
	return m.Run(), nil
}

func TestEveryStepIsALambdaTaskNamedForTheStep(t *testing.T) {
	var tasks []string
	for name, s := range asl.States {
		if s.Type == "Task" && s.Resource == "arn:aws:states:::lambda:invoke" {
			tasks = append(tasks, name)
		}
	}
	sort.Strings(tasks)
	var want []string
	for _, step := range workflow.Steps {
		want = append(want, step.Name)
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, tasks); diff != "" {
		t.Errorf("Lambda Task states (-want +got):\n%s", diff)
	}
	if asl.StartAt != workflow.StepCheckExistingSession {
		t.Errorf("StartAt = %q, want %q", asl.StartAt, workflow.StepCheckExistingSession)
	}
}

func TestEachTaskInvokesItsOwnStepsFunction(t *testing.T) {
	for _, step := range workflow.Steps {
		t.Run(step.Name, func(t *testing.T) {
			s := asl.States[step.Name]
			if got, want := s.Parameters["FunctionName"], functionARNs[step.Name]; got != want {
				t.Errorf("FunctionName = %v, want %s (the function whose %s is %s)", got, want, workflow.StepEnvVar, step.Name)
			}
			if s.OutputPath == nil || *s.OutputPath != "$.Payload" {
				t.Errorf("OutputPath = %v, want $.Payload: the next step receives the function's result, not the invocation's", s.OutputPath)
			}
		})
	}
}

func TestFirstStepReceivesTheExecutionInputAndID(t *testing.T) {
	// workflow.Start: {"input": <execution input>, "executionId": <$$.Execution.Id>}.
	want := map[string]any{"input.$": "$", "executionId.$": "$$.Execution.Id"}
	if diff := cmp.Diff(want, asl.States[workflow.StepCheckExistingSession].Parameters["Payload"]); diff != "" {
		t.Errorf("CheckExistingSession Payload (-want +got):\n%s", diff)
	}
	for _, step := range workflow.Steps[1:] {
		if got := asl.States[step.Name].Parameters["Payload.$"]; got != "$" {
			t.Errorf("%s Payload.$ = %v, want $ (the workflow.Placement as the previous step returned it)", step.Name, got)
		}
	}
}

// presentAnd is the Choice rule outcomeIs writes: presence first, since a
// rule on a missing $.outcome would fail the execution with States.Runtime
// instead of falling through.
func presentAnd(outcome, next string) any {
	return map[string]any{"And": []any{
		map[string]any{"Variable": "$.outcome", "IsPresent": true},
		map[string]any{"Variable": "$.outcome", "StringEquals": outcome},
	}, "Next": next}
}

func TestAnInstanceWithNothingToMirrorEndsBeforeTheMap(t *testing.T) {
	check := top[workflow.StepCheckExistingSession]
	choice := top[check.Next]
	if check.Next != statemachine.StateInstanceOutcome || choice.Type != "Choice" {
		t.Fatalf("CheckExistingSession goes to %q (%s), want the Choice %q", check.Next, choice.Type, statemachine.StateInstanceOutcome)
	}
	if diff := cmp.Diff([]any{presentAnd("skipped", statemachine.StateNothingToMirror)}, choice.Choices); diff != "" {
		t.Errorf("Choices (-want +got):\n%s", diff)
	}
	if choice.Default != statemachine.StatePlaceEachInterface || top[choice.Default].Type != "Map" {
		t.Errorf("Default = %q (%s), want the Map %s", choice.Default, top[choice.Default].Type, statemachine.StatePlaceEachInterface)
	}
}

func TestEachSourceInterfaceIsPlacedOnItsOwnPathOneAtATime(t *testing.T) {
	m := top[statemachine.StatePlaceEachInterface]
	if m.ItemsPath != statemachine.InterfacesPath || m.MaxConcurrency != 1 {
		t.Errorf("Map ItemsPath %q MaxConcurrency %d, want %s and 1", m.ItemsPath, m.MaxConcurrency, statemachine.InterfacesPath)
	}
	field, _ := reflect.TypeOf(workflow.Instance{}).FieldByName("Interfaces")
	if "$."+strings.Split(field.Tag.Get("json"), ",")[0] != statemachine.InterfacesPath {
		t.Errorf("workflow.Instance.Interfaces is not at %s", statemachine.InterfacesPath)
	}
	if m.ItemProcessor == nil || m.ItemProcessor.StartAt != statemachine.StateOutcome {
		t.Fatalf("the Map's iterator starts at %v, want %s", m.ItemProcessor, statemachine.StateOutcome)
	}
	for _, step := range workflow.Steps[1:] {
		if _, ok := m.ItemProcessor.States[step.Name]; !ok {
			t.Errorf("%s is not in the Map's iterator", step.Name)
		}
	}
	choice := asl.States[statemachine.StateOutcome]
	want := []any{
		presentAnd("exists", statemachine.StateAlreadyMirrored),
		presentAnd("skipped", statemachine.StateInterfaceSkipped),
		presentAnd("failed", statemachine.StateInterfaceRejected),
	}
	if diff := cmp.Diff(want, choice.Choices); diff != "" {
		t.Errorf("%s Choices (-want +got):\n%s", statemachine.StateOutcome, diff)
	}
	if choice.Default != workflow.StepGatherCandidates {
		t.Errorf("%s Default = %q, want %s", statemachine.StateOutcome, choice.Default, workflow.StepGatherCandidates)
	}
	for _, name := range []string{statemachine.StateAlreadyMirrored, statemachine.StateInterfaceSkipped} {
		if asl.States[name].Type != "Succeed" {
			t.Errorf("%s is a %s state, want Succeed", name, asl.States[name].Type)
		}
	}
}

func TestAFailedInterfaceFailsTheExecutionAfterTheOthersArePlaced(t *testing.T) {
	m := top[statemachine.StatePlaceEachInterface]
	summarize := top[m.Next]
	if m.Next != statemachine.StateSummarize || summarize.Type != "Pass" {
		t.Fatalf("the Map goes to %q (%s), want the Pass %s", m.Next, summarize.Type, statemachine.StateSummarize)
	}
	if got := summarize.Parameters["anyFailed.$"]; got != "States.ArrayContains($.placed.outcomes, 'failed')" {
		t.Errorf("%s anyFailed.$ = %v, want States.ArrayContains over the Map's outcomes", statemachine.StateSummarize, got)
	}
	if got := m.ResultSelector["outcomes.$"]; got != "$[*].outcome" {
		t.Errorf("the Map's ResultSelector outcomes.$ = %v, want $[*].outcome", got)
	}
	choice := top[summarize.Next]
	if summarize.Next != statemachine.StatePlacementOutcome || choice.Type != "Choice" {
		t.Fatalf("%s goes to %q, want the Choice %s", statemachine.StateSummarize, summarize.Next, statemachine.StatePlacementOutcome)
	}
	want := []any{
		map[string]any{"Variable": "$.anyFailed", "BooleanEquals": true, "Next": statemachine.StateDescribeFailedInterfaces},
		map[string]any{"Or": []any{
			map[string]any{"Variable": "$.anyCreated", "BooleanEquals": true},
			map[string]any{"Variable": "$.anyExists", "BooleanEquals": true},
		}, "Next": statemachine.StatePlaced},
	}
	if diff := cmp.Diff(want, choice.Choices); diff != "" {
		t.Errorf("%s Choices (-want +got):\n%s", statemachine.StatePlacementOutcome, diff)
	}
	if top[statemachine.StatePlaced].Type != "Succeed" {
		t.Errorf("%s is a %s state, want Succeed", statemachine.StatePlaced, top[statemachine.StatePlaced].Type)
	}
	// An instance whose interfaces all had nothing to do (out of scope, or
	// gone while placed) placed nothing, and says so.
	if choice.Default != statemachine.StateNothingToMirror {
		t.Errorf("%s Default = %q, want %s", statemachine.StatePlacementOutcome, choice.Default, statemachine.StateNothingToMirror)
	}
	describe := top[statemachine.StateDescribeFailedInterfaces]
	if describe.Type != "Pass" || describe.InputPath != statemachine.FailedInterfacesPath || describe.Next != statemachine.StatePlacementFailed ||
		describe.Parameters["error"] != statemachine.InterfaceErrorName || describe.Parameters["cause.$"] == nil {
		t.Errorf("%s = %+v, want a Pass from %s giving %s the error %s and a cause", statemachine.StateDescribeFailedInterfaces, describe,
			statemachine.FailedInterfacesPath, statemachine.StatePlacementFailed, statemachine.InterfaceErrorName)
	}
	// A failed interface ends its iteration as failed instead of failing the Map,
	// which would stop the interfaces after it.
	for name, st := range m.ItemProcessor.States {
		if st.Type == "Fail" {
			t.Errorf("iterator state %s is a Fail state: it would stop the instance's other interfaces", name)
		}
	}
	ended := asl.States[statemachine.StateInterfaceFailed]
	if ended.Type != "Pass" || !ended.End || ended.Parameters["outcome"] != "failed" {
		t.Errorf("%s = %+v, want a Pass ending the iteration with outcome failed", statemachine.StateInterfaceFailed, ended)
	}
	if got := ended.Parameters["summary.$"]; got != "States.Format('{} at {}: {}', $.networkInterfaceId, $.step, $.error)" {
		t.Errorf("%s summary.$ = %v, want the interface, its step and its error for %s", statemachine.StateInterfaceFailed, got, statemachine.StateDescribeFailedInterfaces)
	}
}

func TestStepsRunInWorkflowOrderAndEndInMirrored(t *testing.T) {
	for i, step := range workflow.Steps[1 : len(workflow.Steps)-1] {
		next := workflow.Steps[i+2].Name
		if got := asl.States[step.Name].Next; got != next {
			t.Errorf("%s.Next = %q, want %q", step.Name, got, next)
		}
	}
	last := asl.States[workflow.StepCreateSession]
	choice := asl.States[last.Next]
	if last.Next != statemachine.StateSessionOutcome || choice.Type != "Choice" {
		t.Fatalf("CreateSession.Next = %q (%s), want the Choice %s", last.Next, choice.Type, statemachine.StateSessionOutcome)
	}
	if choice.Default != statemachine.StateMirrored || asl.States[choice.Default].Type != "Succeed" {
		t.Errorf("%s Default = %q, want the Succeed state %s", statemachine.StateSessionOutcome, choice.Default, statemachine.StateMirrored)
	}
	// An instance terminated while it was placed ends as nothing to do, not as mirrored.
	if diff := cmp.Diff([]any{presentAnd("skipped", statemachine.StateInstanceGone)}, choice.Choices); diff != "" {
		t.Errorf("%s Choices (-want +got):\n%s", statemachine.StateSessionOutcome, diff)
	}
}

func TestAFullSensorLoopsBackToPickAnother(t *testing.T) {
	catch := asl.States[workflow.StepCreateSession].Catch
	if len(catch) == 0 {
		t.Fatal("CreateSession has no Catch")
	}
	// Catchers are tried in order: SensorFull must come before the catch-all.
	want := catcher{ErrorEquals: steperr.RePick(), ResultPath: statemachine.SensorFullResultPath, Next: workflow.StepPickLeastLoaded}
	if diff := cmp.Diff(want, catch[0]); diff != "" {
		t.Errorf("CreateSession's first Catch (-want +got):\n%s", diff)
	}
	// PickLeastLoaded reads the caught error where the Catch puts it.
	field, ok := reflect.TypeOf(workflow.Placement{}).FieldByName("SensorFull")
	if !ok || "$."+strings.Split(field.Tag.Get("json"), ",")[0] != statemachine.SensorFullResultPath {
		t.Errorf("workflow.Placement.SensorFull is not at %s (tag %q)", statemachine.SensorFullResultPath, field.Tag.Get("json"))
	}
	for _, step := range workflow.Steps {
		for _, r := range asl.States[step.Name].Retry {
			if slices.ContainsFunc(r.ErrorEquals, func(e string) bool { return slices.Contains(steperr.RePick(), e) }) {
				t.Errorf("%s retries %v: a full sensor stays full, it must be picked around", step.Name, r.ErrorEquals)
			}
		}
	}
}

func TestTransientErrorsAreRetriedWithBackoffAndFullJitter(t *testing.T) {
	retried := append(append(steperr.Transient(), steperr.LambdaThrottling()...), steperr.LambdaServiceErrors()...)
	for _, step := range workflow.Steps {
		t.Run(step.Name, func(t *testing.T) {
			retry := asl.States[step.Name].Retry
			var seen []string
			for _, r := range retry {
				for _, name := range r.ErrorEquals {
					if slices.Contains(steperr.Terminal(), name) {
						t.Errorf("terminal error %s is retried: the same input fails the same way", name)
					}
					if !slices.Contains(retried, name) {
						t.Errorf("retried error %s is neither transient (steperr.Transient) nor a Lambda service or throttling error", name)
					}
					seen = append(seen, name)
				}
				if r.JitterStrategy != "FULL" {
					t.Errorf("retrier %v has JitterStrategy %q, want FULL", r.ErrorEquals, r.JitterStrategy)
				}
				if r.BackoffRate <= 1 || r.IntervalSeconds < 1 || r.MaxAttempts < 2 {
					t.Errorf("retrier %v backs off too little: %+v", r.ErrorEquals, r)
				}
			}
			for _, name := range retried {
				if !slices.Contains(seen, name) {
					t.Errorf("%s is not retried", name)
				}
			}
		})
	}
	want := retrier{
		ErrorEquals: steperr.Transient(), IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 15, MaxDelaySeconds: 20, JitterStrategy: "FULL",
	}
	if diff := cmp.Diff(want, asl.States[workflow.StepGatherCandidates].Retry[0]); diff != "" {
		t.Errorf("transient retrier (-want +got):\n%s", diff)
	}
}

// TestRetriesRideOutABurst checks the retry budgets against the burst they
// are sized for: 1,000 placements draining through CreateTrafficMirrorSession's
// bucket (50 tokens, 5 a second) take (1000-50)/5 = 190 s, and an execution
// may wait all of it refused by Lambda or throttled by EC2.
func TestRetriesRideOutABurst(t *testing.T) {
	const drain = (1000 - 50) / 5.0
	for _, tc := range []struct {
		name   string
		errors []string
	}{
		{"Lambda throttling is retried through a whole burst", steperr.LambdaThrottling()},
		{"EC2 throttling is retried through a whole burst", steperr.Transient()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range workflow.Steps {
				i := slices.IndexFunc(asl.States[step.Name].Retry, func(r retrier) bool { return slices.Equal(r.ErrorEquals, tc.errors) })
				if i < 0 {
					t.Fatalf("%s has no retrier for %v", step.Name, tc.errors)
				}
				r := asl.States[step.Name].Retry[i]
				if r.MaxAttempts < 6 || r.JitterStrategy != "FULL" {
					t.Errorf("%s retries %v %d times with jitter %q; a burst needs at least 6, jittered", step.Name, tc.errors, r.MaxAttempts, r.JitterStrategy)
				}
				// The waits before each retry, capped by MaxDelaySeconds; FULL jitter draws each from [0, cap].
				total, wait := 0.0, float64(r.IntervalSeconds)
				for range r.MaxAttempts {
					capped := wait
					if r.MaxDelaySeconds > 0 {
						capped = min(capped, float64(r.MaxDelaySeconds))
					}
					total += capped
					wait *= r.BackoffRate
				}
				if total < 1.2*drain {
					t.Errorf("%s can wait at most %.0f s for %v, not enough to outlast a %.0f s burst", step.Name, total, tc.errors, drain)
				}
			}
		})
	}
}

func TestAStuckExecutionTimesOutAfterAnHour(t *testing.T) {
	if asl.TimeoutSeconds != int(statemachine.ExecutionTimeout.Seconds()) || asl.TimeoutSeconds != 3600 {
		t.Errorf("TimeoutSeconds = %d, want 3600: without it a stuck placement runs for a year", asl.TimeoutSeconds)
	}
}

func TestEveryFailureReachesTheDeadLetterQueueThenFails(t *testing.T) {
	for i, step := range workflow.Steps {
		t.Run(step.Name, func(t *testing.T) {
			want := catcher{
				ErrorEquals: []string{"States.ALL"},
				ResultPath:  statemachine.FailureResultPath,
				Next:        statemachine.FailedState(step.Name),
			}
			catch := asl.States[step.Name].Catch
			if len(catch) == 0 {
				t.Fatal("no Catch")
			}
			// The catch-all is last: any catcher before it routes a named error elsewhere on purpose.
			if diff := cmp.Diff(want, catch[len(catch)-1]); diff != "" {
				t.Fatalf("last Catch (-want +got):\n%s", diff)
			}
			// The instance's step sends the execution's message; an interface's
			// step, inside the Map, its own.
			send := statemachine.StateSendInterfaceToDeadLetterQueue
			if i == 0 {
				send = statemachine.StateSendToDeadLetterQueue
			}
			failed := asl.States[statemachine.FailedState(step.Name)]
			if failed.Type != "Pass" || failed.Next != send {
				t.Errorf("%s is a %s going to %q, want a Pass going to %s", statemachine.FailedState(step.Name), failed.Type, failed.Next, send)
			}

			// The Pass state builds exactly a workflow.DeadLetter.
			msg := map[string]any{
				"step":                 step.Name,
				"instanceId.$":         "$.instanceId",
				"networkInterfaceId.$": "$.source.networkInterfaceId",
				"executionId.$":        "$$.Execution.Id",
				"input.$":              "$$.Execution.Input",
				"error.$":              "$.failure.Error",
				"cause.$":              "$.failure.Cause",
				"startTime.$":          "$$.Execution.StartTime",
			}
			if i == 0 {
				// The first step's input is the raw event: no instanceId or interface to copy.
				delete(msg, "instanceId.$")
				delete(msg, "networkInterfaceId.$")
			}
			if diff := cmp.Diff(msg, failed.Parameters); diff != "" {
				t.Errorf("dead-letter message (-want +got):\n%s", diff)
			}
			checkDeadLetterFields(t, failed.Parameters)
		})
	}
	t.Run("an interface CheckExistingSession failed has its own message", func(t *testing.T) {
		rejected := asl.States[statemachine.StateInterfaceRejected]
		if rejected.Type != "Pass" || rejected.Next != statemachine.StateSendInterfaceToDeadLetterQueue {
			t.Errorf("%s = %+v, want a Pass going to %s", statemachine.StateInterfaceRejected, rejected, statemachine.StateSendInterfaceToDeadLetterQueue)
		}
		if rejected.Parameters["error.$"] != "$.error" || rejected.Parameters["step"] != workflow.StepCheckExistingSession {
			t.Errorf("%s Parameters = %v, want the payload's error from %s", statemachine.StateInterfaceRejected, rejected.Parameters, workflow.StepCheckExistingSession)
		}
		checkDeadLetterFields(t, rejected.Parameters)
	})

	for _, tc := range []struct{ send, next, catchPath string }{
		{statemachine.StateSendToDeadLetterQueue, statemachine.StatePlacementFailed, statemachine.DeadLetterFailureResultPath},
		{statemachine.StateSendInterfaceToDeadLetterQueue, statemachine.StateInterfaceFailed, statemachine.DeadLetterFailureResultPath},
	} {
		send := asl.States[tc.send]
		if send.Resource != "arn:aws:states:::sqs:sendMessage" {
			t.Errorf("%s Resource = %q, want the SQS SendMessage integration", tc.send, send.Resource)
		}
		queueURL := fmt.Sprint(send.Parameters["QueueUrl"])
		if send.Parameters["MessageBody.$"] != "$" || !strings.HasPrefix(queueURL, template.QueueURL(template.DefaultEnv, "DeadLetters")) {
			t.Errorf("%s Parameters = %v, want the whole message ($) as the body, to the DeadLetters queue", tc.send, send.Parameters)
		}
		if string(send.ResultPath) != "null" {
			t.Errorf("%s ResultPath = %s, want null so the next state still sees the message", tc.send, send.ResultPath)
		}
		if len(send.Retry) == 0 {
			t.Errorf("%s has no Retry: one SQS hiccup would lose the message", tc.send)
		}
		wantCatch := []catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: tc.catchPath, Next: tc.next}}
		if diff := cmp.Diff(wantCatch, send.Catch); diff != "" {
			t.Errorf("%s Catch (-want +got):\n%s", tc.send, diff)
		}
		if send.Next != tc.next {
			t.Errorf("%s.Next = %q, want %s", tc.send, send.Next, tc.next)
		}
	}

	fail := asl.States[statemachine.StatePlacementFailed]
	if fail.Type != "Fail" || fail.ErrorPath != "$.error" || fail.CausePath != "$.cause" {
		t.Errorf("%s = %+v, want a Fail state with ErrorPath $.error and CausePath $.cause", statemachine.StatePlacementFailed, fail)
	}
}

// checkDeadLetterFields fails the test for a message key that is no field
// of workflow.DeadLetter.
func checkDeadLetterFields(t *testing.T, params map[string]any) {
	t.Helper()
	for key := range params {
		if !slices.Contains(deadLetterFields(), strings.TrimSuffix(key, ".$")) {
			t.Errorf("dead-letter message key %q is not a field of workflow.DeadLetter", key)
		}
	}
}

// deadLetterFields are the JSON names of workflow.DeadLetter's fields.
func deadLetterFields() []string {
	var names []string
	typ := reflect.TypeOf(workflow.DeadLetter{})
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

func TestEveryErrorNameIsOneWeDefineOrAWSDefines(t *testing.T) {
	known := slices.Concat(steperr.Transient(), steperr.Terminal(), steperr.RePick(), steperr.LambdaThrottling(), steperr.LambdaServiceErrors())
	for name, s := range asl.States {
		var names []string
		for _, r := range s.Retry {
			names = append(names, r.ErrorEquals...)
		}
		for _, c := range s.Catch {
			names = append(names, c.ErrorEquals...)
		}
		for _, e := range names {
			if !slices.Contains(known, e) && !strings.HasPrefix(e, "States.") {
				t.Errorf("state %s matches error %q, which no step returns and Step Functions does not define", name, e)
			}
		}
	}
}

func TestDefinitionPassesASLValidator(t *testing.T) {
	if err := validateASL(t, definition); err != nil {
		t.Fatalf("asl-validator rejected the synthesized definition: %v", err)
	}
}

func TestASLValidatorRejectsABrokenDefinition(t *testing.T) {
	var broken map[string]any
	if err := json.Unmarshal(definition, &broken); err != nil {
		t.Fatal(err)
	}
	// A Catch that leads nowhere must not pass, or the test above proves nothing.
	states := broken["States"].(map[string]any)
	states[statemachine.FailedState(workflow.StepCheckExistingSession)].(map[string]any)["Next"] = "NoSuchState"
	b, err := json.Marshal(broken)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateASL(t, b); err == nil {
		t.Fatal("asl-validator accepted a definition whose Pass state goes to a missing state")
	}
}

// validateASL runs the pinned asl-validator on def.
func validateASL(t *testing.T, def []byte) error {
	t.Helper()
	bin, err := filepath.Abs("../_node/node_modules/.bin/asl-validator")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("asl-validator is not installed (run make node): %v", err)
	}
	path := filepath.Join(t.TempDir(), "definition.asl.json")
	if err := os.WriteFile(path, def, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--json-path", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func TestNewRefusesAWorkflowWithAMissingStep(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Incomplete"), nil)
	fns := map[string]awslambda.IFunction{}
	for _, step := range workflow.Steps[:len(workflow.Steps)-1] {
		fns[step.Name] = awslambda.Function_FromFunctionArn(stack, jsii.String(step.Name),
			jsii.String("arn:aws:lambda:us-east-1:123456789012:function:"+step.Dir))
	}
	_, err := statemachine.New(stack, "Placement", statemachine.Props{
		Functions:       fns,
		DeadLetterQueue: awssqs.NewQueue(stack, jsii.String("DeadLetters"), nil),
		LogGroup:        awslogs.NewLogGroup(stack, jsii.String("Logs"), nil),
	})
	if err == nil || !strings.Contains(err.Error(), "no function for step CreateSession") {
		t.Errorf("New() error = %v, want one naming the missing CreateSession", err)
	}
}
