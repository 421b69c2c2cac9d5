package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
	"github.com/mirrorflow/mirrorflow/statemachine"
)

// ReconcileContextKey is the cdk.json context key of the Reconcile's
// options: {"Schedule": "rate(6 hours)", "MaxConcurrency": 5, "Backfill": true}.
const ReconcileContextKey = "mirrorflow:reconcile"

// OutputReconcileStateMachineARN names the Reconcile state machine for
// mirrorctl reconcile and drain.
const OutputReconcileStateMachineARN = "ReconcileStateMachineArn"

// Reconcile defaults.
const (
	// DefaultReconcileSchedule sweeps the account four times a day, the
	// backstop for every event that was missed or went wrong.
	DefaultReconcileSchedule = "rate(6 hours)"
	// DefaultReconcileConcurrency is how many placements a Reconcile runs
	// at once. A placement makes about 10 EC2 calls, 9 of them Describes,
	// over a few seconds; EC2 refills each non-mutating action's bucket at
	// 20 tokens a second (Request throttling for the Amazon EC2 API), so 5
	// placements at once, about 15 Describes a second, stay under the refill
	// with room for the placements instances starting meanwhile set off,
	// and take 5 of each step's 20 reserved Lambda environments.
	DefaultReconcileConcurrency = 5
	// maxReconcileConcurrency keeps a configured value below the rate at
	// which a Reconcile alone would drain EC2's Describe buckets.
	maxReconcileConcurrency = 40
)

// ReconcileOptions say when the Reconcile runs and how many placements it
// runs at once.
type ReconcileOptions struct {
	// Schedule is an EventBridge Scheduler rate expression, rate(N unit).
	Schedule string `json:"Schedule"`
	// MaxConcurrency bounds the placements one Reconcile runs at once.
	MaxConcurrency int `json:"MaxConcurrency"`
	// Backfill starts a Reconcile after each deploy that creates or changes
	// the stack, so instances already running are mirrored; nil means true.
	Backfill *bool `json:"Backfill"`
}

// rateExpression is EventBridge Scheduler's rate expression: a positive
// whole number and minute, hour or day, singular for 1 and plural
// otherwise ("Schedule types on EventBridge Scheduler", Rate-based
// schedules).
var rateExpression = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)

// WithDefaults fills what cdk.json left out.
func (o ReconcileOptions) WithDefaults() ReconcileOptions {
	if o.Schedule == "" {
		o.Schedule = DefaultReconcileSchedule
	}
	if o.MaxConcurrency == 0 {
		o.MaxConcurrency = DefaultReconcileConcurrency
	}
	if o.Backfill == nil {
		o.Backfill = jsii.Bool(true)
	}
	return o
}

// Duration checks Schedule as AWS would and returns its period.
func (o ReconcileOptions) Duration() (awscdk.Duration, error) {
	m := rateExpression.FindStringSubmatch(o.Schedule)
	if m == nil {
		return nil, fmt.Errorf("%s.Schedule %q is not a rate expression EventBridge Scheduler accepts: want rate(N minutes|hours|days), such as %q",
			ReconcileContextKey, o.Schedule, DefaultReconcileSchedule)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n > 1_000_000 {
		return nil, fmt.Errorf("%s.Schedule %q: %s is too large a number", ReconcileContextKey, o.Schedule, m[1])
	}
	unit := m[2]
	if singular := unit[len(unit)-1] != 's'; singular != (n == 1) {
		return nil, fmt.Errorf("%s.Schedule %q: AWS wants the singular unit for 1 and the plural otherwise (rate(1 hour), rate(6 hours))", ReconcileContextKey, o.Schedule)
	}
	switch unit {
	case "minute", "minutes":
		return awscdk.Duration_Minutes(jsii.Number(n)), nil
	case "hour", "hours":
		return awscdk.Duration_Hours(jsii.Number(n)), nil
	}
	return awscdk.Duration_Days(jsii.Number(n)), nil
}

// Validate checks the options at synth, naming what is wrong.
func (o ReconcileOptions) Validate() error {
	if _, err := o.Duration(); err != nil {
		return err
	}
	if o.MaxConcurrency < 1 || o.MaxConcurrency > maxReconcileConcurrency {
		return fmt.Errorf("%s.MaxConcurrency %d: want 1 to %d placements at once (each makes about 10 EC2 calls; more would drain EC2's request buckets)",
			ReconcileContextKey, o.MaxConcurrency, maxReconcileConcurrency)
	}
	return nil
}

// ReconcileFromContext reads the options from cdk.json, with defaults.
func ReconcileFromContext(node constructs.Node) (ReconcileOptions, error) {
	var o ReconcileOptions
	if err := decodeContext(node, ReconcileContextKey, &o, `{"Schedule": "rate(6 hours)", "MaxConcurrency": 5, "Backfill": true}`); err != nil {
		return o, err
	}
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("reading context: %w", err)
	}
	return o, nil
}

// reconcile builds the Reconcile state machine, its schedule and the
// backfill after each deploy that changes the stack.
func (s *Stack) reconcile() error {
	o := s.props.Reconcile
	every, err := o.Duration()
	if err != nil {
		return err
	}
	logs := s.logGroup("ReconcileLogs", "/aws/vendedlogs/states/"+*s.StackName()+"-reconcile")
	fns := map[string]awslambda.IFunction{}
	for _, step := range workflow.ReconcileSteps {
		fns[step.Name] = s.Functions[step.Name]
	}
	sm, err := statemachine.NewReconcile(s.Stack, "Reconcile", statemachine.ReconcileProps{
		Functions:       fns,
		Placement:       s.StateMachine,
		MaxConcurrency:  o.MaxConcurrency,
		DeadLetterQueue: s.DeadLetterQueue,
		LogGroup:        logs,
	})
	if err != nil {
		return fmt.Errorf("building the Reconcile state machine: %w", err)
	}
	s.Reconcile = sm

	awsscheduler.NewSchedule(s.Stack, jsii.String("ReconcileSchedule"), &awsscheduler.ScheduleProps{
		Description: jsii.String("Runs mirrorflow's Reconcile: places every running instance that is not mirrored and deletes stale sessions."),
		Schedule:    awsscheduler.ScheduleExpression_Rate(every),
		Target: awsschedulertargets.NewStepFunctionsStartExecution(sm, &awsschedulertargets.ScheduleTargetBaseProps{
			Input:         awsscheduler.ScheduleTargetInput_FromObject(map[string]string{"trigger": "schedule"}),
			RetryAttempts: jsii.Number(TriggerRetryAttempts),
			MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(TriggerMaxEventAgeMinutes)),
		}),
	})

	if *o.Backfill {
		fingerprint, err := s.deployFingerprint()
		if err != nil {
			return err
		}
		call := &customresources.AwsSdkCall{
			Service: jsii.String("SFN"),
			Action:  jsii.String("startExecution"),
			Parameters: map[string]interface{}{
				"stateMachineArn": sm.StateMachineArn(),
				// Named after the deploy, so CloudFormation retrying the
				// resource starts the same execution, not a second one.
				"name":  "deploy-" + fingerprint,
				"input": `{"trigger":"deploy"}`,
			},
			PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("mirrorflow-backfill")),
		}
		s.backfill = customresources.NewAwsCustomResource(s.Stack, jsii.String("Backfill"), &customresources.AwsCustomResourceProps{
			OnCreate:            call,
			OnUpdate:            call,
			InstallLatestAwsSdk: jsii.Bool(false),
			Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions:   jsii.Strings("states:StartExecution"),
					Resources: &[]*string{sm.StateMachineArn()},
				}),
			}),
		})
	}
	awscdk.NewCfnOutput(s.Stack, jsii.String(OutputReconcileStateMachineARN), &awscdk.CfnOutputProps{
		Description: jsii.String("The Reconcile state machine; mirrorctl reconcile and drain start executions of it."),
		Value:       sm.StateMachineArn(),
	})
	return nil
}

// deployFingerprint changes whenever a deploy would change what runs: the
// configuration, the Reconcile's options, every step's bootstrap, and this
// CDK app, which holds both state machines' definitions. The backfill is
// started again exactly when it changes.
func (s *Stack) deployFingerprint() (string, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode([]any{s.props.Config, s.props.Reconcile}); err != nil {
		return "", fmt.Errorf("fingerprinting the deploy: %w", err)
	}
	files := []string{}
	for _, step := range workflow.Functions() {
		files = append(files, filepath.Join(s.props.AssetRoot, step.Dir, BootstrapFile))
	}
	if self, err := os.Executable(); err == nil {
		files = append(files, self)
	}
	for _, f := range files {
		data, err := os.ReadFile(f) //nolint:gosec // G304: the stack's own Lambda assets and the running CDK app.
		if err != nil {
			return "", fmt.Errorf("fingerprinting the deploy: %w", err)
		}
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}
