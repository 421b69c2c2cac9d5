// Package stack is mirrorflow's CloudFormation stack: the seven step
// Lambdas with a role each, the placement state machine, the EventBridge rules
// that start it (an instance starts running; with Interfaces all, an
// interface is attached; with GuardDuty enabled, a finding names an
// instance), the dead-letter queue, the alarms that say a placement failed
// or the sensors are filling up, the topic they send to, and the dashboard.
//
// Each concern is one method of Stack, so a reader finds the IAM policy of
// a step in permissions and nothing else there.
package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Name is the stack's name; mirrorctl looks the stack up by it.
const Name = "Mirrorflow"

// Output keys of the stack. mirrorctl reads the stack's outputs by these keys.
const (
	OutputStateMachineARN    = "StateMachineArn"
	OutputDeadLetterQueueURL = "DeadLetterQueueUrl"
	OutputDeadLetterQueueARN = "DeadLetterQueueArn"
	OutputConfiguration      = "Configuration"
)

// DefaultAssetRoot is where `make build` writes each step's bootstrap, as
// bin/lambda/<step.Dir>/bootstrap, relative to the repository root that
// cdk.json's app runs in.
const DefaultAssetRoot = "bin/lambda"

// BootstrapFile is the executable the provided.al2023 runtime starts.
const BootstrapFile = "bootstrap"

// Props configure the stack.
type Props struct {
	awscdk.StackProps
	// Config is the deployment configuration the Lambdas receive as an
	// environment variable (config.EnvConfig) and the CreateSession role is
	// scoped by, through the scopes of its rules.
	Config config.Config
	// AssetRoot holds <step.Dir>/bootstrap for every step; DefaultAssetRoot
	// when empty. Tests point it at a directory of empty files.
	AssetRoot string
	// LogRetention is how long the Lambdas' and the state machines' logs are
	// kept; one year when zero, the least Control Tower's CT.CLOUDWATCH.PR.2
	// accepts.
	LogRetention awslogs.RetentionDays
	// ReservedConcurrency is every step function's reserved concurrency;
	// DefaultReservedConcurrency when zero.
	ReservedConcurrency int
	// Reconcile says when the Reconcile runs and how many placements it
	// runs at once; its zero value is the defaults.
	Reconcile ReconcileOptions
	// Notifications say where the alarms send; the zero value is a topic of
	// the stack's own with no subscriptions.
	Notifications NotificationOptions
	// Alarms are the thresholds of the coverage and headroom alarms; the
	// zero value is the defaults.
	Alarms AlarmOptions
}

// Stack is the synthesized mirrorflow stack and the constructs tests and
// other stacks may want to reach.
type Stack struct {
	awscdk.Stack
	props Props

	// Functions, Roles and LogGroups are keyed by step name.
	Functions map[string]awslambda.Function
	Roles     map[string]awsiam.Role
	LogGroups map[string]awslogs.LogGroup
	// LogsKey encrypts every log group of the stack.
	LogsKey awskms.Key

	DeadLetterQueue awssqs.Queue
	StateMachine    awsstepfunctions.StateMachine
	// Reconcile is the state machine that finds and places what is not mirrored.
	Reconcile awsstepfunctions.StateMachine
	// backfill starts a Reconcile after each deploy that changes the stack;
	// nil when turned off.
	backfill customresources.AwsCustomResource
	// Rule starts a placement when an instance enters the running state.
	Rule awsevents.Rule
	// AttachRule starts one when an interface is attached to an instance;
	// nil unless Interfaces is all.
	AttachRule awsevents.Rule
	// FindingRule starts one when a GuardDuty finding names an instance;
	// nil unless GuardDuty is enabled.
	FindingRule awsevents.Rule
	// AlarmTopic is where every alarm sends on ALARM and on OK: the stack's
	// own encrypted topic, or the configured existing one.
	AlarmTopic awssns.ITopic
	// Alarms are every alarm of the stack.
	Alarms []awscloudwatch.Alarm
	// Dashboard is what an on-call engineer opens first.
	Dashboard awscloudwatch.Dashboard
}

// New builds the stack. It checks the configuration and that every step's
// bootstrap exists before it builds anything, so a bad cdk.json or a missing
// `make build` stops the synth with a message that says which.
func New(scope constructs.Construct, id string, props Props) (*Stack, error) {
	if err := props.Config.Validate(); err != nil {
		return nil, fmt.Errorf("building stack %s: %w", id, err)
	}
	if err := checkEnvironment(props.Config); err != nil {
		return nil, fmt.Errorf("building stack %s: %w", id, err)
	}
	props.Reconcile = props.Reconcile.WithDefaults()
	if err := props.Reconcile.Validate(); err != nil {
		return nil, fmt.Errorf("building stack %s: %w", id, err)
	}
	if err := props.Notifications.Validate(); err != nil {
		return nil, fmt.Errorf("building stack %s: %w", id, err)
	}
	props.Alarms = props.Alarms.WithDefaults()
	if err := props.Alarms.Validate(); err != nil {
		return nil, fmt.Errorf("building stack %s: %w", id, err)
	}
	if props.AssetRoot == "" {
		props.AssetRoot = DefaultAssetRoot
	}
	if props.LogRetention == "" {
		props.LogRetention = awslogs.RetentionDays_ONE_YEAR
	}
	if props.ReservedConcurrency == 0 {
		props.ReservedConcurrency = DefaultReservedConcurrency
	}
	if n := props.ReservedConcurrency; n < 1 || n*len(workflow.Functions()) > maxReservedConcurrency {
		return nil, fmt.Errorf("building stack %s: reserved concurrency %d per step does not fit: %d steps may reserve %d together, since Lambda keeps 100 of an account's default 1,000 concurrent executions unreserved",
			id, n, len(workflow.Functions()), maxReservedConcurrency)
	}
	if err := checkAssets(props.AssetRoot); err != nil {
		return nil, fmt.Errorf("building stack %s: %w", id, err)
	}

	s := &Stack{
		Stack:     awscdk.NewStack(scope, jsii.String(id), &props.StackProps),
		props:     props,
		Functions: map[string]awslambda.Function{},
		Roles:     map[string]awsiam.Role{},
		LogGroups: map[string]awslogs.LogGroup{},
	}
	s.functions()
	s.permissions()
	s.deadLetterQueue()
	if err := s.stateMachine(); err != nil {
		return nil, fmt.Errorf("building stack %s: %w", id, err)
	}
	if err := s.reconcile(); err != nil {
		return nil, fmt.Errorf("building stack %s: %w", id, err)
	}
	s.trigger()
	s.notifications()
	s.alarms()
	s.dashboard()
	s.outputs()
	s.suppressions()
	return s, nil
}

// checkAssets reports every step whose bootstrap is missing, in one line:
// Code_FromAsset would otherwise fail deep inside jsii with a stack trace.
func checkAssets(root string) error {
	var missing []string
	for _, step := range workflow.Functions() {
		path := filepath.Join(root, step.Dir, BootstrapFile)
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, step.Name+" ("+path+")")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing Lambda assets under %s, run `make build` first: %s", root, strings.Join(missing, ", "))
	}
	return nil
}

// assetDir is step's Lambda code directory.
func (s *Stack) assetDir(step workflow.Step) string {
	return filepath.Join(s.props.AssetRoot, step.Dir)
}

// Config is the validated configuration the stack was built with.
func (s *Stack) Config() config.Config { return s.props.Config }
