package stack_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mirrorflow/mirrorflow/cdk/stack"
	"github.com/mirrorflow/mirrorflow/internal/offline/template"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// testConfig is cdk.json's example: candidates found by the sensor tag.
var testConfig = config.Config{
	FilterID:      "tmf-028da7ec9b76b272f",
	SensorTag:     config.Tag{Key: "mirrorflow:sensor", Value: "true"},
	SessionNumber: 1,
}.WithDefaults()

// targetsConfig names its candidate targets instead.
var targetsConfig = config.Config{
	FilterID:      "tmf-028da7ec9b76b272f",
	TargetIDs:     []string{"tmt-0123456789abcdef0", "tmt-0fedcba9876543210"},
	LocalZoneOnly: true,
	SessionNumber: 7,
	// Given but not enabled: no GuardDuty rule is deployed.
	GuardDuty: &config.GuardDuty{MinSeverity: 7},
}.WithDefaults()

// rulesConfig has rules with filters and candidates of their own, rules
// that share a sensor tag key, repeat a target or inherit the top level's;
// every interface is a source, and GuardDuty findings place under pci.
var rulesConfig = config.Config{
	FilterID:      "tmf-028da7ec9b76b272f",
	SensorTag:     config.Tag{Key: "mirrorflow:sensor", Value: "true"},
	SessionNumber: 1,
	Interfaces:    config.InterfacesAll,
	Rules: []config.Rule{
		{
			Name: "pci", Match: config.Match{SubnetIDs: []string{"subnet-0123456789abcdef0"}},
			FilterID: "tmf-0aaaaaaaaaaaaaaa1", TargetIDs: []string{"tmt-0123456789abcdef0", "tmt-0fedcba9876543210"},
			LocalZoneOnly: ptr(true),
		},
		{
			Name: "prod", Match: config.Match{Tags: []config.Tag{{Key: "env", Value: "prod"}}},
			FilterID: "tmf-0bbbbbbbbbbbbbbb2", SensorTag: &config.Tag{Key: "ids", Value: "prod"}, SessionNumber: 2,
		},
		{Name: "staging", Match: config.Match{Tags: []config.Tag{{Key: "env", Value: "staging"}}}, SensorTag: &config.Tag{Key: "ids", Value: "staging"}},
		{Name: "lab", Match: config.Match{VPCIDs: []string{"vpc-0a1b2c3d"}}, TargetIDs: []string{"tmt-0fedcba9876543210"}},
		{Name: "rest"},
	},
	GuardDuty: &config.GuardDuty{Enabled: true, MinSeverity: 7.5, Rule: "pci"},
}.WithDefaults()

// ownConfig's rules all give their own filter and candidates, so nothing of
// its top level is used.
var ownConfig = config.Config{
	FilterID:      "tmf-028da7ec9b76b272f",
	SensorTag:     config.Tag{Key: "mirrorflow:sensor", Value: "true"},
	SessionNumber: 1,
	Rules: []config.Rule{
		{Name: "pci", Match: config.Match{SubnetIDs: []string{"subnet-0123456789abcdef0"}}, FilterID: "tmf-0aaaaaaaaaaaaaaa1", TargetIDs: []string{"tmt-0123456789abcdef0"}},
		{Name: "rest", FilterID: "tmf-0bbbbbbbbbbbbbbb2", TargetIDs: []string{"tmt-0fedcba9876543210"}},
	},
}.WithDefaults()

func ptr[T any](v T) *T { return &v }

// Each stack is synthesized once per test binary: a synth costs seconds.
var (
	assetRoot string
	// tagged is the stack built from testConfig, with AwsSolutionsChecks applied.
	tagged synthesized
	// targeted is the stack built from targetsConfig.
	targeted synthesized
	// ruled is the stack built from rulesConfig, with AwsSolutionsChecks applied.
	ruled synthesized
	// owned is the stack built from ownConfig.
	owned synthesized
	// notified is built from testConfig with an existing alarm topic and
	// thresholds of its own (notifiedOptions).
	notified synthesized
)

type synthesized struct {
	stack       *stack.Stack
	assertions  assertions.Template
	annotations assertions.Annotations
	tmpl        *template.Template
}

func TestMain(m *testing.M) {
	code, err := setUp(m)
	jsii.Close()
	if assetRoot != "" {
		_ = os.RemoveAll(assetRoot) // best effort: a leftover temp folder fails no test
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setUp(m *testing.M) (int, error) {
	var err error
	if assetRoot, err = emptyAssets(); err != nil {
		return 0, err
	}
	if tagged, err = synth(testConfig, true); err != nil {
		return 0, err
	}
	if targeted, err = synth(targetsConfig, false); err != nil {
		return 0, err
	}
	if ruled, err = synth(rulesConfig, true, func(p *stack.Props) {
		p.Notifications.Emails = []string{"oncall@example.com"}
	}); err != nil {
		return 0, err
	}
	if owned, err = synth(ownConfig, false); err != nil {
		return 0, err
	}
	if notified, err = synth(testConfig, false, func(p *stack.Props) {
		p.Notifications, p.Alarms = notifiedOptions.notifications, notifiedOptions.alarms
	}); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// emptyAssets makes the bin/lambda layout with empty bootstrap files, so the
// tests need neither `make build` nor the tasks/ sources.
func emptyAssets() (string, error) {
	root, err := os.MkdirTemp("", "mirrorflow-assets-")
	if err != nil {
		return "", fmt.Errorf("creating asset root: %w", err)
	}
	for _, step := range workflow.Functions() {
		dir := filepath.Join(root, step.Dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return root, fmt.Errorf("creating asset dir for %s: %w", step.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, stack.BootstrapFile), nil, 0o755); err != nil {
			return root, fmt.Errorf("creating bootstrap for %s: %w", step.Name, err)
		}
	}
	return root, nil
}

// synth builds the stack from cfg, with AwsSolutionsChecks when nag, and
// with each of with applied to its props.
func synth(cfg config.Config, nag bool, with ...func(*stack.Props)) (synthesized, error) {
	app := awscdk.NewApp(nil)
	if nag {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	props := stack.Props{Config: cfg, AssetRoot: assetRoot}
	for _, w := range with {
		w(&props)
	}
	s, err := stack.New(app, stack.Name, props)
	if err != nil {
		return synthesized{}, err
	}
	a := assertions.Template_FromStack(s.Stack, nil)
	raw, err := json.Marshal(a.ToJSON())
	if err != nil {
		return synthesized{}, fmt.Errorf("encoding template: %w", err)
	}
	tmpl, err := template.Parse(raw)
	if err != nil {
		return synthesized{}, err
	}
	return synthesized{stack: s, assertions: a, annotations: assertions.Annotations_FromStack(s.Stack), tmpl: tmpl}, nil
}

func TestStackHasOneOfEachPieceAndAFunctionPerStep(t *testing.T) {
	for typ, n := range map[string]int{
		// The steps' functions, and the backfill's custom resource provider.
		"AWS::Lambda::Function":            len(workflow.Functions()) + 1,
		"AWS::StepFunctions::StateMachine": 2,
		"AWS::Scheduler::Schedule":         1,
		"AWS::Events::Rule":                1,
		"AWS::SQS::Queue":                  1,
		// Queue, executions, Reconcile, coverage, headroom; two for the rule.
		"AWS::CloudWatch::Alarm":     7,
		"AWS::SNS::Topic":            1,
		"AWS::KMS::Key":              2, // the log groups' and the alarm topic's
		"AWS::CloudWatch::Dashboard": 1,
	} {
		countIs(t, tagged.assertions, jsii.String(typ), jsii.Number(n))
	}
	arm := tagged.assertions.FindResources(jsii.String("AWS::Lambda::Function"), &map[string]any{
		"Properties": map[string]any{
			"Runtime":       "provided.al2023",
			"Architectures": []string{"arm64"},
			"Handler":       "bootstrap",
			"TracingConfig": map[string]any{"Mode": "Active"},
			"Timeout":       stack.FunctionTimeout,
			"LoggingConfig": map[string]any{"LogGroup": assertions.Match_AnyValue()},
		},
	})
	if len(*arm) != len(workflow.Functions()) {
		t.Errorf("%d functions run bootstrap on provided.al2023/arm64 with active tracing and their own log group, want %d", len(*arm), len(workflow.Functions()))
	}
}

func TestFunctionsAreTheBuiltAssetsDescribedByTheirStep(t *testing.T) {
	for _, step := range workflow.Functions() {
		t.Run(step.Name, func(t *testing.T) {
			props := tagged.tmpl.Resources[functionID(t, tagged, step.Name)].Properties
			if props["Description"] != step.Doc {
				t.Errorf("Description = %v, want the step's Doc %q", props["Description"], step.Doc)
			}
		})
	}
}

func TestEveryStepReservesItsConcurrency(t *testing.T) {
	for _, step := range workflow.Functions() {
		props := tagged.tmpl.Resources[functionID(t, tagged, step.Name)].Properties
		if got := props["ReservedConcurrentExecutions"]; got != float64(stack.DefaultReservedConcurrency) {
			t.Errorf("%s ReservedConcurrentExecutions = %v, want %d: a burst must neither starve the account's other functions nor call EC2 from unbounded environments",
				step.Name, got, stack.DefaultReservedConcurrency)
		}
	}
}

// contextCase is one case of a table test of a cdk.json context reader:
// the value under its key (the key unset when nil), and the words its error
// must contain; without wantErr, the reader must return want.
type contextCase[T any] struct {
	name    string
	context any
	want    T
	wantErr string
}

// checkFromContext runs read on an app whose context holds each case's
// value under key: an error must name key and contain the case's words,
// and a success return what the case wants.
func checkFromContext[T any](t *testing.T, key string, read func(constructs.Node) (T, error), tests []contextCase[T]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := map[string]any{}
			if tt.context != nil {
				ctx[key] = tt.context
			}
			got, err := read(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}).Node())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), key) {
					t.Errorf("error = %v, want one naming %s and containing %q", err, key, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReservedConcurrencyFromContext(t *testing.T) {
	tests := []contextCase[int]{
		{name: "unset is the default", want: stack.DefaultReservedConcurrency},
		{name: "a cdk.json number", context: float64(30), want: 30},
		{name: "a -c command-line string", context: "12", want: 12},
		{name: "zero reserves nothing and would throttle every placement", context: float64(0), wantErr: "of at least 1"},
		{name: "a fraction is no number of environments", context: float64(2.5), wantErr: "2.5 is not a whole number"},
		{name: "a word is no number", context: "twenty", wantErr: `"twenty" is not a number`},
		{name: "an object is refused", context: map[string]any{"CreateSession": 5}, wantErr: "want a whole number"},
	}
	checkFromContext(t, stack.ReservedConcurrencyContextKey, stack.ReservedConcurrencyFromContext, tests)
}

func TestConfigurationReachesEveryFunction(t *testing.T) {
	for name, s := range map[string]synthesized{"sensor tag": tagged, "target ids": targeted, "rules": ruled} {
		t.Run(name, func(t *testing.T) {
			fns, err := s.tmpl.StepFunctions(template.DefaultEnv)
			if err != nil {
				t.Fatal(err)
			}
			if len(fns) != len(workflow.Functions()) {
				t.Fatalf("%d functions carry %s, want one per step (%d)", len(fns), workflow.StepEnvVar, len(workflow.Functions()))
			}
			cfg := s.stack.Config()
			for _, step := range workflow.Functions() {
				want := cfg.Env()
				want[workflow.StepEnvVar] = step.Name
				if diff := cmp.Diff(want, fns[step.Name].Environment); diff != "" {
					t.Errorf("%s environment (-want +got):\n%s", step.Name, diff)
				}
				got, err := config.FromEnv(func(k string) string { return fns[step.Name].Environment[k] })
				if err != nil {
					t.Errorf("%s cannot read its configuration back: %v", step.Name, err)
				}
				if diff := cmp.Diff(cfg, got); diff != "" {
					t.Errorf("%s reads a different configuration (-deployed +read):\n%s", step.Name, diff)
				}
			}
		})
	}
}

func TestRuleStartsAPlacementForEveryInstanceEnteringRunning(t *testing.T) {
	sm := placementID(t, tagged)
	hasProps(t, tagged.assertions, jsii.String("AWS::Events::Rule"), &map[string]any{
		"State": "ENABLED",
		"EventPattern": map[string]any{
			"source":      []string{"aws.ec2"},
			"detail-type": []string{"EC2 Instance State-change Notification"},
			"detail":      map[string]any{"state": []string{"running"}},
		},
		// The event itself is the execution input: no Input, InputPath or InputTransformer.
		"Targets": []any{assertions.Match_ObjectEquals(&map[string]any{
			"Arn":              map[string]any{"Ref": sm},
			"Id":               assertions.Match_AnyValue(),
			"RoleArn":          assertions.Match_AnyValue(),
			"DeadLetterConfig": assertions.Match_AnyValue(),
			"RetryPolicy":      assertions.Match_AnyValue(),
		})},
	})
}

func TestAnEventTheRuleCannotDeliverGoesToTheStateMachinesDeadLetterQueue(t *testing.T) {
	queue := onlyID(t, tagged, "AWS::SQS::Queue")
	hasProps(t, tagged.assertions, jsii.String("AWS::Events::Rule"), &map[string]any{
		"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
			"DeadLetterConfig": map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}},
			"RetryPolicy": map[string]any{
				"MaximumRetryAttempts":     stack.TriggerRetryAttempts,
				"MaximumEventAgeInSeconds": stack.TriggerMaxEventAgeMinutes * 60,
			},
		})},
	})
}

// TestOnlyTheRulesMaySendToTheDeadLetterQueue reads every queue policy on
// the dead-letter queue: each Allow is sqs:SendMessage for EventBridge, on
// this queue, from one of this stack's rules (aws:SourceArn), one per rule,
// so no other rule of the account can fill the queue. The state machine
// sends through its role.
func TestOnlyTheRulesMaySendToTheDeadLetterQueue(t *testing.T) {
	for name, s := range map[string]synthesized{"one rule": tagged, "three rules": ruled} {
		t.Run(name, func(t *testing.T) {
			queue := onlyID(t, s, "AWS::SQS::Queue")
			var allows []any
			for _, id := range s.tmpl.LogicalIDs("AWS::SQS::QueuePolicy") {
				props := s.tmpl.Resources[id].Properties
				if !slices.ContainsFunc(props["Queues"].([]any), func(q any) bool { return cmp.Equal(q, map[string]any{"Ref": queue}) }) {
					continue
				}
				for _, raw := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					st := maps.Clone(raw.(map[string]any)) // the template is shared by every test
					if st["Effect"] == "Allow" {
						delete(st, "Sid")
						allows = append(allows, st)
					}
				}
			}
			var want []any
			for _, rule := range s.tmpl.LogicalIDs("AWS::Events::Rule") {
				want = append(want, map[string]any{
					"Effect":    "Allow",
					"Principal": map[string]any{"Service": "events.amazonaws.com"},
					"Action":    "sqs:SendMessage",
					"Resource":  map[string]any{"Fn::GetAtt": []any{queue, "Arn"}},
					"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": map[string]any{"Fn::GetAtt": []any{rule, "Arn"}}}},
				})
			}
			sortByJSON := cmpopts.SortSlices(func(a, b any) bool { return fmt.Sprint(a) < fmt.Sprint(b) })
			if diff := cmp.Diff(want, allows, sortByJSON); diff != "" {
				t.Errorf("Allow statements of the dead-letter queue's policy (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEachEventThatChangesCoverageStartsAPlacement reads every EventBridge
// rule of each stack: the state change to running always; CloudTrail's
// successful AttachNetworkInterface only with Interfaces all (with primary,
// an attached interface is never a source); GuardDuty findings about an
// instance, from MinSeverity up, only when GuardDuty is enabled. Each starts
// the placement state machine with the event as its input, with the same
// dead-letter queue and retry policy.
func TestEachEventThatChangesCoverageStartsAPlacement(t *testing.T) {
	running := map[string]any{
		"source":      []any{"aws.ec2"},
		"detail-type": []any{"EC2 Instance State-change Notification"},
		"detail":      map[string]any{"state": []any{"running"}},
	}
	attached := map[string]any{
		"source":      []any{"aws.ec2"},
		"detail-type": []any{"AWS API Call via CloudTrail"},
		"detail": map[string]any{
			"eventSource": []any{"ec2.amazonaws.com"},
			"eventName":   []any{"AttachNetworkInterface"},
			"errorCode":   []any{map[string]any{"exists": false}},
		},
	}
	finding := map[string]any{
		"source":      []any{"aws.guardduty"},
		"detail-type": []any{"GuardDuty Finding"},
		"detail": map[string]any{
			"severity": []any{map[string]any{"numeric": []any{">=", 7.5}}},
			"resource": map[string]any{"resourceType": []any{"Instance"}},
		},
	}
	tests := []struct {
		name string
		s    synthesized
		want []any
	}{
		{name: "Interfaces primary, no GuardDuty: the state change only", s: tagged, want: []any{running}},
		{name: "Interfaces primary, GuardDuty given but not enabled: the state change only", s: targeted, want: []any{running}},
		{name: "Interfaces all, GuardDuty enabled: the state change, the attach and the findings", s: ruled, want: []any{running, attached, finding}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			queue := onlyID(t, tt.s, "AWS::SQS::Queue")
			sm := placementID(t, tt.s)
			var got []any
			for _, id := range tt.s.tmpl.LogicalIDs("AWS::Events::Rule") {
				props := tt.s.tmpl.Resources[id].Properties
				got = append(got, props["EventPattern"])
				want := []any{map[string]any{
					"Arn":              map[string]any{"Ref": sm},
					"Id":               "Target0",
					"RoleArn":          props["Targets"].([]any)[0].(map[string]any)["RoleArn"],
					"DeadLetterConfig": map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}},
					"RetryPolicy": map[string]any{
						"MaximumRetryAttempts":     float64(stack.TriggerRetryAttempts),
						"MaximumEventAgeInSeconds": float64(stack.TriggerMaxEventAgeMinutes * 60),
					},
				}}
				if diff := cmp.Diff(want, props["Targets"]); diff != "" {
					t.Errorf("rule %s's targets (-want +got):\n%s", id, diff)
				}
				if props["State"] != "ENABLED" {
					t.Errorf("rule %s is %v, want ENABLED", id, props["State"])
				}
			}
			sortByJSON := cmpopts.SortSlices(func(a, b any) bool { return fmt.Sprint(a) < fmt.Sprint(b) })
			if diff := cmp.Diff(tt.want, got, sortByJSON); diff != "" {
				t.Errorf("event patterns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeadLetterQueueIsEncryptedTLSOnlyAndKeepsMessagesFourteenDays(t *testing.T) {
	hasProps(t, tagged.assertions, jsii.String("AWS::SQS::Queue"), &map[string]any{
		"SqsManagedSseEnabled":   true,
		"MessageRetentionPeriod": 14 * 24 * 60 * 60,
	})
	queue := onlyID(t, tagged, "AWS::SQS::Queue")
	hasProps(t, tagged.assertions, jsii.String("AWS::SQS::QueuePolicy"), &map[string]any{
		"Queues": []any{map[string]any{"Ref": queue}},
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Effect":    "Deny",
			"Action":    "sqs:*",
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		})})},
	})
}

func TestStateMachineLogsAllWithExecutionDataAndTraces(t *testing.T) {
	hasProps(t, tagged.assertions, jsii.String("AWS::StepFunctions::StateMachine"), &map[string]any{
		"LoggingConfiguration": map[string]any{
			"Level":                "ALL",
			"IncludeExecutionData": true,
		},
		"TracingConfiguration": map[string]any{"Enabled": true},
	})
}

func TestAlarmsFireOnAnyFailedPlacement(t *testing.T) {
	queue := onlyID(t, tagged, "AWS::SQS::Queue")
	sm := placementID(t, tagged)
	for name, want := range map[string]map[string]any{
		"a message on the dead-letter queue": {
			"Namespace":  "AWS/SQS",
			"MetricName": "ApproximateNumberOfMessagesVisible",
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{queue, "QueueName"}}}},
		},
		"a failed execution": {
			"Namespace":  "AWS/States",
			"MetricName": "ExecutionsFailed",
			"Dimensions": []any{map[string]any{"Name": "StateMachineArn", "Value": map[string]any{"Ref": sm}}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			want["ComparisonOperator"] = "GreaterThanThreshold"
			want["Threshold"] = 0
			want["TreatMissingData"] = "notBreaching"
			hasProps(t, tagged.assertions, jsii.String("AWS::CloudWatch::Alarm"), &want)
		})
	}
}

func TestOutputsAreWhereMirrorctlLooks(t *testing.T) {
	for _, key := range []string{stack.OutputStateMachineARN, stack.OutputDeadLetterQueueURL, stack.OutputDeadLetterQueueARN} {
		if _, ok := tagged.tmpl.Outputs[key]; !ok {
			t.Errorf("no output %s", key)
		}
	}
	queue := onlyID(t, tagged, "AWS::SQS::Queue")
	want := map[string]string{
		stack.OutputStateMachineARN:    "arn:aws:states:us-east-1:123456789012:stateMachine:" + placementID(t, tagged),
		stack.OutputDeadLetterQueueURL: template.QueueURL(template.DefaultEnv, queue),
		stack.OutputDeadLetterQueueARN: template.QueueARN(template.DefaultEnv, queue),
	}
	for key, v := range want {
		got, err := tagged.tmpl.Resolve(tagged.tmpl.Outputs[key].Value, template.DefaultEnv)
		if err != nil || got != v {
			t.Errorf("output %s = %v (%v), want %s", key, got, err, v)
		}
	}
}

// TestConfigurationOutputHoldsTheConfig reads the Configuration output
// back as the Lambdas read their environment: it must be the configuration
// the stack was built with, rules and all.
func TestConfigurationOutputHoldsTheConfig(t *testing.T) {
	for name, s := range map[string]struct {
		synthesized
		cfg config.Config
	}{"tag": {tagged, testConfig}, "targets": {targeted, targetsConfig}, "rules": {ruled, rulesConfig}} {
		t.Run(name, func(t *testing.T) {
			out, ok := s.tmpl.Outputs[stack.OutputConfiguration]
			if !ok {
				t.Fatalf("no output %s", stack.OutputConfiguration)
			}
			v, err := s.tmpl.Resolve(out.Value, template.DefaultEnv)
			if err != nil {
				t.Fatal(err)
			}
			raw, ok := v.(string)
			if !ok {
				t.Fatalf("output %s is %T, want the JSON as a string", stack.OutputConfiguration, v)
			}
			got, err := config.FromEnv(func(string) string { return raw })
			if err != nil {
				t.Fatalf("the output does not parse as the Lambdas parse their configuration: %v", err)
			}
			if diff := cmp.Diff(s.cfg, got); diff != "" {
				t.Errorf("output %s differs from the stack's configuration (-built with +output):\n%s", stack.OutputConfiguration, diff)
			}
		})
	}
}

// TestEachRoleHoldsExactlyItsStepsEC2Actions reads each function's role and
// every policy attached to it: the EC2 and Elastic Load Balancing actions
// must be exactly those workflow.Functions() declares, and the rest only logging
// and tracing.
func TestEachRoleHoldsExactlyItsStepsEC2Actions(t *testing.T) {
	allowedOther := []string{"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
	for _, step := range workflow.Functions() {
		t.Run(step.Name, func(t *testing.T) {
			var ec2, elbv2, other []string
			for _, st := range roleStatements(t, tagged, step.Name) {
				if st.Effect != "Allow" {
					t.Errorf("statement %s has Effect %s", st.Sid, st.Effect)
				}
				for _, a := range st.Action {
					switch service, action, _ := strings.Cut(a, ":"); service {
					case "ec2":
						ec2 = append(ec2, action)
					case "elasticloadbalancing":
						elbv2 = append(elbv2, action)
					default:
						other = append(other, a)
					}
				}
			}
			for _, c := range []struct {
				service    string
				want, role []string
			}{{"EC2", step.EC2Actions, ec2}, {"Elastic Load Balancing", step.ELBv2Actions, elbv2}} {
				want := slices.Clone(c.want)
				slices.Sort(want)
				got := slices.Compact(slices.Sorted(slices.Values(c.role)))
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s actions of %s's role (-workflow.Functions() +role):\n%s", c.service, step.Name, diff)
				}
			}
			for _, a := range other {
				if !slices.Contains(allowedOther, a) {
					t.Errorf("%s's role may %s, which no step needs", step.Name, a)
				}
			}
		})
	}
}

func TestLoadBalancerReadsHaveEveryResourceAndNothingElse(t *testing.T) {
	for _, step := range workflow.Functions() {
		if len(step.ELBv2Actions) == 0 {
			continue
		}
		t.Run(step.Name, func(t *testing.T) {
			var want []string
			for _, a := range step.ELBv2Actions {
				want = append(want, "elasticloadbalancing:"+a)
			}
			var got []statement
			for _, st := range roleStatements(t, tagged, step.Name) {
				if slices.ContainsFunc(st.Action, func(a string) bool { return strings.HasPrefix(a, "elasticloadbalancing:") }) {
					got = append(got, st)
				}
			}
			wantSts := []statement{{Sid: "ReadELBv2", Effect: "Allow", Action: want, Resource: []string{"*"}}}
			if diff := cmp.Diff(wantSts, got); diff != "" {
				t.Errorf("%s's Elastic Load Balancing statements (-want +got):\n%s", step.Name, diff)
			}
		})
	}
}

func TestCreateSessionIsScopedToTheFilterTheTargetsAndTaggedSessions(t *testing.T) {
	const arn = "arn:aws:ec2:us-east-1:123456789012:"
	// common are the statements every configuration gives CreateSession: its
	// own sessions to create, tag and delete, from any source interface.
	common := []statement{
		{Sid: "TagSessionOnCreate", Action: []string{"ec2:CreateTags"}, Resource: []string{arn + "traffic-mirror-session/*"},
			Condition: map[string]map[string]any{"StringEquals": {"ec2:CreateAction": "CreateTrafficMirrorSession"}}},
		{Sid: "CreateTaggedSession", Action: []string{"ec2:CreateTrafficMirrorSession"}, Resource: []string{arn + "traffic-mirror-session/*"},
			Condition: map[string]map[string]any{"StringEquals": {"aws:RequestTag/ManagedBy": "mirrorflow"}}},
		{Sid: "DeleteOwnSessions", Action: []string{"ec2:DeleteTrafficMirrorSession"}, Resource: []string{arn + "traffic-mirror-session/*"},
			Condition: map[string]map[string]any{"StringEquals": {"aws:ResourceTag/ManagedBy": "mirrorflow"}}},
		{Sid: "MirrorAnySourceInterface", Action: []string{"ec2:CreateTrafficMirrorSession"}, Resource: []string{arn + "network-interface/*"}},
	}
	create := []string{"ec2:CreateTrafficMirrorSession"}
	tests := []struct {
		name string
		s    synthesized
		want []statement
	}{
		{
			name: "candidates by sensor tag: any target carrying the tag",
			s:    tagged,
			want: []statement{
				{Sid: "UseConfiguredFilters", Action: create, Resource: []string{arn + "traffic-mirror-filter/tmf-028da7ec9b76b272f"}},
				{Sid: "UseSensorTaggedTargets", Action: create, Resource: []string{arn + "traffic-mirror-target/*"},
					Condition: map[string]map[string]any{"StringEquals": {"aws:ResourceTag/mirrorflow:sensor": "true"}}},
			},
		},
		{
			name: "candidates by id: those targets exactly",
			s:    targeted,
			want: []statement{
				{Sid: "UseConfiguredFilters", Action: create, Resource: []string{arn + "traffic-mirror-filter/tmf-028da7ec9b76b272f"}},
				{Sid: "UseConfiguredTargets", Action: create, Resource: []string{
					arn + "traffic-mirror-target/tmt-0123456789abcdef0", arn + "traffic-mirror-target/tmt-0fedcba9876543210"}},
			},
		},
		{
			name: "rules: every rule's filter and candidates, the top level's for the rules that inherit them, each once",
			s:    ruled,
			want: []statement{
				{Sid: "UseConfiguredFilters", Action: create, Resource: []string{
					arn + "traffic-mirror-filter/tmf-0aaaaaaaaaaaaaaa1", arn + "traffic-mirror-filter/tmf-0bbbbbbbbbbbbbbb2",
					arn + "traffic-mirror-filter/tmf-028da7ec9b76b272f"}},
				{Sid: "UseConfiguredTargets", Action: create, Resource: []string{
					arn + "traffic-mirror-target/tmt-0123456789abcdef0", arn + "traffic-mirror-target/tmt-0fedcba9876543210"}},
				{Sid: "UseSensorTaggedTargets", Action: create, Resource: []string{arn + "traffic-mirror-target/*"},
					Condition: map[string]map[string]any{"StringEquals": {"aws:ResourceTag/ids": []any{"prod", "staging"}}}},
				{Sid: "UseSensorTaggedTargets2", Action: create, Resource: []string{arn + "traffic-mirror-target/*"},
					Condition: map[string]map[string]any{"StringEquals": {"aws:ResourceTag/mirrorflow:sensor": "true"}}},
			},
		},
		{
			name: "rules with filters and targets of their own: nothing of the unused top level",
			s:    owned,
			want: []statement{
				{Sid: "UseConfiguredFilters", Action: create, Resource: []string{
					arn + "traffic-mirror-filter/tmf-0aaaaaaaaaaaaaaa1", arn + "traffic-mirror-filter/tmf-0bbbbbbbbbbbbbbb2"}},
				{Sid: "UseConfiguredTargets", Action: create, Resource: []string{
					arn + "traffic-mirror-target/tmt-0123456789abcdef0", arn + "traffic-mirror-target/tmt-0fedcba9876543210"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []statement
			for _, st := range roleStatements(t, tt.s, workflow.StepCreateSession) {
				if slices.ContainsFunc(st.Action, func(a string) bool { return !strings.HasPrefix(a, "ec2:Describe") && strings.HasPrefix(a, "ec2:") }) {
					got = append(got, st)
				}
			}
			want := slices.Concat(common, tt.want)
			sort.Slice(got, func(i, j int) bool { return got[i].Sid > got[j].Sid })
			sort.Slice(want, func(i, j int) bool { return want[i].Sid > want[j].Sid })
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(statement{}, "Effect")); diff != "" {
				t.Errorf("CreateSession's create, tag and delete statements (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOnlyDescribeActionsHaveEveryResource(t *testing.T) {
	for _, step := range workflow.Functions() {
		for _, st := range slices.Concat(roleStatements(t, tagged, step.Name), roleStatements(t, ruled, step.Name)) {
			if !slices.Contains(st.Resource, "*") {
				continue
			}
			for _, a := range st.Action {
				if !strings.HasPrefix(a, "ec2:Describe") && a != "ec2:GetManagedPrefixListEntries" &&
					!strings.HasPrefix(a, "elasticloadbalancing:Describe") && !strings.HasPrefix(a, "xray:") {
					t.Errorf("%s's role may %s on every resource", step.Name, a)
				}
			}
		}
	}
}

// aslMachine is the part of a state machine definition the tests read: its
// states, and those of the Map states' iterators within.
type aslMachine struct {
	States map[string]struct {
		Type          string         `json:"Type"`
		Resource      string         `json:"Resource"`
		Parameters    map[string]any `json:"Parameters"`
		ItemProcessor *aslMachine    `json:"ItemProcessor"`
		Iterator      *aslMachine    `json:"Iterator"`
	} `json:"States"`
}

// lambdaTasks are the states of m and of its iterators, at any depth, that
// invoke a Lambda function, by state name, with the function they name.
func (m *aslMachine) lambdaTasks(into map[string]any) map[string]any {
	if into == nil {
		into = map[string]any{}
	}
	if m == nil {
		return into
	}
	for name, s := range m.States {
		if s.Resource == "arn:aws:states:::lambda:invoke" {
			into[name] = s.Parameters["FunctionName"]
		}
		s.ItemProcessor.lambdaTasks(into)
		s.Iterator.lambdaTasks(into)
	}
	return into
}

func TestDefinitionInvokesEachStepsOwnFunction(t *testing.T) {
	def, err := tagged.tmpl.Definition(template.DefaultEnv)
	if err != nil {
		t.Fatal(err)
	}
	var asl aslMachine
	if err := json.Unmarshal(def, &asl); err != nil {
		t.Fatal(err)
	}
	fns, err := tagged.tmpl.StepFunctions(template.DefaultEnv)
	if err != nil {
		t.Fatal(err)
	}
	tasks := asl.lambdaTasks(nil)
	for name, got := range tasks {
		if want := fns[name].ARN; got != want {
			t.Errorf("state %s invokes %v, want %s (the function whose %s is %s)", name, got, want, workflow.StepEnvVar, name)
		}
	}
	if len(tasks) != len(workflow.Steps) {
		t.Errorf("%d Lambda Task states, want %d", len(tasks), len(workflow.Steps))
	}
}

// nagged are the stacks synthesized with AwsSolutionsChecks applied.
func nagged() map[string]synthesized {
	return map[string]synthesized{"sensor tag": tagged, "rules": ruled}
}

func TestAwsSolutionsFindsNothingUnsuppressed(t *testing.T) {
	rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for name, s := range nagged() {
		t.Run(name, func(t *testing.T) {
			for _, m := range *s.annotations.FindError(jsii.String("*"), rule) {
				t.Errorf("cdk-nag error at %s: %v", *m.Id, m.Entry.Data) //nolint:staticcheck // SA1019: Annotations.Find* return only cxapi.SynthesisMessage; its replacement in @aws-cdk/cloud-assembly-api has no Go binding in awscdk v2.270.0.
			}
			for _, m := range *s.annotations.FindWarning(jsii.String("*"), rule) {
				t.Errorf("cdk-nag warning at %s: %v", *m.Id, m.Entry.Data) //nolint:staticcheck // SA1019: Annotations.Find* return only cxapi.SynthesisMessage; its replacement in @aws-cdk/cloud-assembly-api has no Go binding in awscdk v2.270.0.
			}
		})
	}
}

func TestEverySuppressionSaysWhy(t *testing.T) {
	for name, s := range nagged() {
		t.Run(name, func(t *testing.T) { everySuppressionSaysWhy(t, s) })
	}
}

func everySuppressionSaysWhy(t *testing.T, s synthesized) {
	n := 0
	for id, r := range s.tmpl.Resources {
		nag, _ := r.Metadata["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, raw := range rules {
			n++
			rule, _ := raw.(map[string]any)
			reason, _ := rule["reason"].(string)
			if len(strings.Fields(reason)) < 8 {
				t.Errorf("%s suppresses %v with too thin a reason: %q", id, rule["id"], reason)
			}
		}
	}
	if n == 0 {
		t.Error("no cdk_nag suppressions found: the metadata moved, or this test checks nothing")
	}
}

func TestBadConfigurationStopsTheSynth(t *testing.T) {
	tests := []struct {
		name    string
		context any // the value of the "mirrorflow" context key; nil leaves it unset
		wantErr string
	}{
		{"no mirrorflow context at all", nil, `context "mirrorflow": not set`},
		{"FilterId is required", map[string]any{"SensorTag": map[string]any{"Key": "k", "Value": "v"}}, "FilterId is required"},
		{"FilterId must be a tmf- id", map[string]any{"FilterId": "tmt-028da7ec9b76b272f"}, `FilterId "tmt-028da7ec9b76b272f" is not a traffic mirror filter id`},
		{"FilterId must have 8 or 17 hex digits", map[string]any{"FilterId": "tmf-028da7"}, `FilterId "tmf-028da7" is not a traffic mirror filter id`},
		{"FilterId is hex", `{"FilterId": "tmf-0zzzzzzz"}`, `FilterId "tmf-0zzzzzzz" is not`},
		{"a command-line value must be JSON", `FilterId=tmf-028da7ec9b76b272f`, "decoding"},
		{"unknown keys are typos", map[string]any{"FilterId": "tmf-028da7ec9b76b272f", "SensorTags": map[string]any{"Key": "k"}}, `unknown field "SensorTags"`},
		{"TargetIds must be tmt- ids", map[string]any{"FilterId": "tmf-028da7ec9b76b272f", "TargetIds": []string{"eni-0123456789abcdef0"}}, "TargetIds[0]"},
		{"Interfaces is primary or all", map[string]any{"FilterId": "tmf-028da7ec9b76b272f", "Interfaces": "some"}, `Interfaces "some" is not primary or all`},
		{"a rule needs a Name", rules(map[string]any{"Name": "pci"}, map[string]any{"Name": "prod"}, map[string]any{"Match": map[string]any{}}), "Rules[2]: Name is required"},
		{"rule Names are unique", rules(map[string]any{"Name": "pci"}, map[string]any{"Name": "a"}, map[string]any{"Name": "b"}, map[string]any{"Name": "pci"}),
			`Rules[3] ("pci"): Name is given twice (also Rules[0])`},
		{"a rule's FilterId is named with the rule", rules(map[string]any{"Name": "pci"}, map[string]any{"Name": "prod", "FilterId": "x"}),
			`Rules[1] ("prod"): FilterId "x" is not a traffic mirror filter id`},
		{"a rule's TargetIds are named with the rule", rules(map[string]any{"Name": "pci", "TargetIds": []string{"eni-0123456789abcdef0"}}),
			`Rules[0] ("pci"): TargetIds[0] "eni-0123456789abcdef0" is not a traffic mirror target id`},
		{"a rule's SessionNumber is in range", rules(map[string]any{"Name": "a", "SessionNumber": 40000}), `Rules[0] ("a"): SessionNumber 40000 is out of range 1-32766`},
		{"a Match subnet is a subnet id", rules(map[string]any{"Name": "a", "Match": map[string]any{"SubnetIds": []string{"subnet-0123456789abcdef0", "sub-1"}}}),
			`Rules[0] ("a"): Match.SubnetIds[1] "sub-1" is not a subnet id`},
		{"a Match VPC is a VPC id", rules(map[string]any{"Name": "a", "Match": map[string]any{"VpcIds": []string{"subnet-0123456789abcdef0"}}}),
			`Rules[0] ("a"): Match.VpcIds[0] "subnet-0123456789abcdef0" is not a VPC id`},
		{"a Match tag has a Key", rules(map[string]any{"Name": "a", "Match": map[string]any{"Tags": []any{map[string]any{"Value": "prod"}}}}),
			`Rules[0] ("a"): Match.Tags[0].Key is required`},
		{"a rule's SensorTag has a Key", rules(map[string]any{"Name": "a", "SensorTag": map[string]any{"Value": "x"}}), `Rules[0] ("a"): SensorTag.Key is required`},
		{"an unknown key in a rule's Match is named by its path", rules(map[string]any{"Name": "a"}, map[string]any{"Name": "b", "Match": map[string]any{"Tag": []any{}}}),
			`Rules[1].Match: unknown field "Tag"`},
		{"an unknown key in a rule is named by its path", `{"FilterId": "tmf-028da7ec9b76b272f", "Rules": [{"Name": "a", "Targets": []}]}`,
			`Rules[0]: unknown field "Targets"`},
		{"a GuardDuty.Rule that names no rule", guardDuty(map[string]any{"Enabled": true, "MinSeverity": 7, "Rule": "forensic"}),
			`GuardDuty: Rule "forensic" names no rule of Rules (forensics, rest)`},
		{"GuardDuty.MinSeverity is in GuardDuty's range", guardDuty(map[string]any{"Enabled": true, "MinSeverity": 11, "Rule": "forensics"}),
			"GuardDuty: MinSeverity 11 is out of GuardDuty's range 1.0-10.0"},
		{"GuardDuty enabled needs a Rule", guardDuty(map[string]any{"Enabled": true, "MinSeverity": 7}),
			"GuardDuty: Rule is required when Enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := map[string]any{}
			if tt.context != nil {
				ctx[stack.ContextKey] = tt.context
			}
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
			_, err := stack.ConfigFromContext(app.Node())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ConfigFromContext() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// guardDuty is a context value with rules forensics and rest, and this GuardDuty.
func guardDuty(gd map[string]any) map[string]any {
	v := rules(map[string]any{"Name": "forensics", "Match": map[string]any{"Tags": []any{map[string]any{"Key": "forensics", "Value": "true"}}}}, map[string]any{"Name": "rest"})
	v["GuardDuty"] = gd
	return v
}

// rules is a context value with a valid top level and these Rules.
func rules(rs ...map[string]any) map[string]any {
	return map[string]any{"FilterId": "tmf-028da7ec9b76b272f", "Rules": rs}
}

func TestConfigurationFromContextObjectOrString(t *testing.T) {
	for name, v := range map[string]any{
		"cdk.json object":         map[string]any{"FilterId": "tmf-028da7ec9b76b272f", "TargetIds": []string{"tmt-0123456789abcdef0"}, "SessionNumber": 3},
		"-c mirrorflow=JSON text": `{"FilterId":"tmf-028da7ec9b76b272f","TargetIds":["tmt-0123456789abcdef0"],"SessionNumber":3}`,
	} {
		t.Run(name, func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{stack.ContextKey: v}})
			got, err := stack.ConfigFromContext(app.Node())
			if err != nil {
				t.Fatal(err)
			}
			want := config.Config{
				FilterID: "tmf-028da7ec9b76b272f", TargetIDs: []string{"tmt-0123456789abcdef0"}, SessionNumber: 3,
				ExcludeTag: config.DefaultExcludeTag, Interfaces: config.InterfacesPrimary,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRefusesAnInvalidConfigOrMissingAssets(t *testing.T) {
	tests := []struct {
		name    string
		props   stack.Props
		wantErr string
	}{
		{"an unvalidated config with no FilterId", stack.Props{Config: config.Config{SessionNumber: 1, SensorTag: testConfig.SensorTag}, AssetRoot: assetRoot}, "FilterId is required"},
		{"a GuardDuty.Rule that names no rule", stack.Props{Config: func() config.Config {
			c := rulesConfig
			c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 7, Rule: "forensics"}
			return c
		}(), AssetRoot: assetRoot}, `GuardDuty: Rule "forensics" names no rule of Rules`},
		{"no make build yet", stack.Props{Config: testConfig, AssetRoot: t.TempDir()}, "missing Lambda assets under "},
		{"seven steps reserving 200 each exceed an account's default concurrency", stack.Props{Config: testConfig, AssetRoot: assetRoot, ReservedConcurrency: 200},
			"reserved concurrency 200 per step does not fit: 10 steps may reserve 900 together"},
		{"a configuration whose JSON exceeds Lambda's 4 KB of environment", stack.Props{Config: withRules(testConfig, 60), AssetRoot: assetRoot},
			"the configuration does not fit: CheckExistingSession's environment variables measure "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stack.New(awscdk.NewApp(nil), stack.Name, tt.props)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// withRules is cfg with n rules, each matching a subnet and listing a target.
func withRules(cfg config.Config, n int) config.Config {
	cfg.Rules = nil
	for i := range n {
		cfg.Rules = append(cfg.Rules, config.Rule{
			Name:      fmt.Sprintf("rule-%02d", i),
			Match:     config.Match{SubnetIDs: []string{fmt.Sprintf("subnet-%017x", i)}},
			TargetIDs: []string{fmt.Sprintf("tmt-%017x", i)},
		})
	}
	return cfg
}

func TestEnvironmentSizeIsMeasuredAsLambdaMeasuresIt(t *testing.T) {
	tests := []struct {
		name    string
		rules   int
		wantErr bool
	}{
		{name: "a few rules fit", rules: 10},
		{name: "the most rules of this shape that fit", rules: fitting(t)},
		{name: "one rule more does not", rules: fitting(t) + 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stack.New(awscdk.NewApp(nil), stack.Name, stack.Props{Config: withRules(testConfig, tt.rules), AssetRoot: t.TempDir()})
			switch {
			case tt.wantErr && (err == nil || !strings.Contains(err.Error(), "over the 4 KB (4096 bytes) Lambda allows a function")):
				t.Errorf("New() error = %v, want the 4 KB limit named", err)
			case !tt.wantErr && (err == nil || !strings.Contains(err.Error(), "missing Lambda assets")):
				// An empty asset root stops New right after the checks of
				// the configuration, so the case synthesizes nothing.
				t.Errorf("New() error = %v, want only the missing assets reported", err)
			}
		})
	}
}

// fitting is how many withRules rules fit in the longest-named step's
// environment, measured as Lambda does: the variables as one JSON object.
func fitting(t *testing.T) int {
	t.Helper()
	longest := ""
	for _, step := range workflow.Functions() {
		if len(step.Name) > len(longest) {
			longest = step.Name
		}
	}
	for n := 0; ; n++ {
		env := withRules(testConfig, n+1).Env()
		env[workflow.StepEnvVar] = longest
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > stack.MaxEnvironmentBytes {
			return n
		}
	}
}

// statement is an IAM policy statement with its intrinsics resolved.
type statement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Condition map[string]map[string]any `json:",omitempty"`
}

// roleStatements collects the statements of every policy attached to the
// role of step's function, resolved in template.DefaultEnv.
func roleStatements(t *testing.T, s synthesized, step string) []statement {
	t.Helper()
	fn := s.tmpl.Resources[functionID(t, s, step)]
	getAtt, _ := fn.Properties["Role"].(map[string]any)["Fn::GetAtt"].([]any)
	if len(getAtt) != 2 || getAtt[1] != "Arn" {
		t.Fatalf("%s's function Role is %v, want the ARN of a role of this stack", step, fn.Properties["Role"])
	}
	role := str(getAtt[0])
	for _, other := range workflow.Functions() {
		if other.Name != step && cmp.Equal(s.tmpl.Resources[functionID(t, s, other.Name)].Properties["Role"], fn.Properties["Role"]) {
			t.Errorf("%s and %s share a role", step, other.Name)
		}
	}
	var docs []any
	if inline, ok := s.tmpl.Resources[role].Properties["Policies"].([]any); ok {
		for _, p := range inline {
			docs = append(docs, p.(map[string]any)["PolicyDocument"])
		}
	}
	if managed := s.tmpl.Resources[role].Properties["ManagedPolicyArns"]; managed != nil {
		t.Errorf("%s's role has managed policies %v", step, managed)
	}
	for _, id := range s.tmpl.LogicalIDs("AWS::IAM::Policy") {
		props := s.tmpl.Resources[id].Properties
		if slices.ContainsFunc(props["Roles"].([]any), func(r any) bool { return cmp.Equal(r, map[string]any{"Ref": role}) }) {
			docs = append(docs, props["PolicyDocument"])
		}
	}
	var sts []statement
	for _, doc := range docs {
		resolved, err := s.tmpl.Resolve(doc, template.DefaultEnv)
		if err != nil {
			t.Fatalf("resolving %s's policy: %v", step, err)
		}
		for _, raw := range resolved.(map[string]any)["Statement"].([]any) {
			m := raw.(map[string]any)
			sts = append(sts, statement{
				Sid:       str(m["Sid"]),
				Effect:    str(m["Effect"]),
				Action:    strs(m["Action"]),
				Resource:  strs(m["Resource"]),
				Condition: conditions(m["Condition"]),
			})
		}
	}
	return sts
}

// onlyID is the logical id of the template's one resource of type typ.
func onlyID(t *testing.T, s synthesized, typ string) string {
	t.Helper()
	ids := s.tmpl.LogicalIDs(typ)
	if len(ids) != 1 {
		t.Fatalf("want one %s, found %v", typ, ids)
	}
	return ids[0]
}

// placementID is the logical id of the placement state machine, the one
// the StateMachineArn output names.
func placementID(t *testing.T, s synthesized) string {
	t.Helper()
	id, err := s.tmpl.StateMachineOf(template.OutputPlacement)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// functionID is the logical id of step's function, found by its MIRRORFLOW_STEP.
func functionID(t *testing.T, s synthesized, step string) string {
	t.Helper()
	fns, err := s.tmpl.StepFunctions(template.DefaultEnv)
	if err != nil {
		t.Fatal(err)
	}
	fn, ok := fns[step]
	if !ok {
		t.Fatalf("no function has %s=%s", workflow.StepEnvVar, step)
	}
	return fn.LogicalID
}

func str(v any) string { s, _ := v.(string); return s }

// strs reads an IAM field that is a string or a list of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = str(e)
		}
		return out
	}
	return nil
}

func conditions(v any) map[string]map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]map[string]any{}
	for op, kv := range m {
		out[op] = kv.(map[string]any)
	}
	return out
}

// hasProps and countIs run an assertions.Template check, which panics on a
// mismatch, as a test error, so one failed expectation does not end the
// test binary.
func hasProps(t *testing.T, a assertions.Template, typ *string, props any) {
	t.Helper()
	defer recoverAsError(t)
	a.HasResourceProperties(typ, props)
}

func countIs(t *testing.T, a assertions.Template, typ *string, n *float64) {
	t.Helper()
	defer recoverAsError(t)
	a.ResourceCountIs(typ, n)
}

func recoverAsError(t *testing.T) {
	t.Helper()
	if r := recover(); r != nil {
		t.Error(r)
	}
}
