// Package steps holds the workflow's step handlers: each one makes the EC2
// calls its step is allowed (workflow.Steps[i].EC2Actions, batched into one
// Describe per kind of resource), hands what EC2 said to the pure decisions
// in shared/placement, and records the result in the payload. Every error a
// handler returns is one of steperr's named types, because aws-lambda-go
// reports the Go type name as the errorType the state machine routes on.
package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/elbv2api"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Retry settings for the EC2 client. The SDK retries throttling and 5xx
// answers inside one invocation with jittered exponential backoff; what still
// fails surfaces as EC2Throttled or EC2Unavailable and the state machine's
// own Retry takes over, so the budget here stays well inside a Lambda timeout.
const (
	// EC2MaxAttempts is how many times the SDK tries one EC2 call.
	EC2MaxAttempts = 5
	ec2MaxBackoff  = 5 * time.Second
)

// Handlers are the workflow's steps, sharing one EC2 client and configuration.
type Handlers struct {
	// EC2 is the *ec2.Client of the Lambda, of mirrorctl plan, or of a test
	// pointed at the EC2 simulator.
	EC2 ec2api.API
	// ELBv2 is the Elastic Load Balancing client the steps read Network Load
	// Balancer targets with; only a target of that kind needs it.
	ELBv2 elbv2api.API
	// Config is the deployment's configuration.
	Config config.Config
	// DryRun makes CreateSession ask EC2 whether it would create the session
	// without creating it (mirrorctl plan --live).
	DryRun bool
	// Metrics receives the steps' metrics, one embedded metric format
	// document per line (see metrics.go): os.Stdout in a Lambda, whose log
	// capture sends each line to CloudWatch Logs. Nil or io.Discard writes
	// none, as New leaves it, so that mirrorctl never prints metrics to a
	// terminal. Handlers run concurrently need a writer whose Write is safe
	// to call at once (os.Stdout is: one Write per document).
	Metrics io.Writer

	// configErr, when set, is why the Lambda could not be configured; every
	// step returns it as InvalidConfiguration so the failure is routed and
	// visible in the console instead of a crash loop at init.
	configErr error
}

// New returns handlers calling EC2 and ELBv2 with cfg, writing no metrics.
func New(ec2API ec2api.API, elbv2API elbv2api.API, cfg config.Config) *Handlers {
	return &Handlers{EC2: ec2API, ELBv2: elbv2API, Config: cfg}
}

// NewFromEnv builds the handlers a Lambda runs: the configuration from the
// environment the stack set, and an EC2 client with the SDK's standard
// retryer. It never fails: a bad configuration is returned by every step as
// *steperr.InvalidConfiguration. Its metrics go to stdout, even when it
// could not be configured, so that the failures it causes are counted.
func NewFromEnv(ctx context.Context) *Handlers {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return &Handlers{configErr: err, Metrics: os.Stdout}
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = EC2MaxAttempts
			o.MaxBackoff = ec2MaxBackoff
		})
	}))
	if err != nil {
		return &Handlers{configErr: fmt.Errorf("loading the AWS SDK configuration: %w", err), Metrics: os.Stdout}
	}
	h := New(ec2.NewFromConfig(awsCfg), elasticloadbalancingv2.NewFromConfig(awsCfg), cfg)
	h.Metrics = os.Stdout
	return h
}

// ready returns the error every step fails with when the handlers are not usable.
func (h *Handlers) ready() error {
	if h.configErr != nil {
		return &steperr.InvalidConfiguration{Err: h.configErr}
	}
	if h.EC2 == nil {
		return &steperr.InvalidConfiguration{Err: errors.New("no EC2 client")}
	}
	return nil
}

// Run executes the workflow in-process, as mirrorctl plan does:
// CheckExistingSession, then each source interface it did not decide
// through the candidate steps in workflow order, one interface after
// another as the state machine's Map does. It returns the instance with
// every interface's final payload, and CheckExistingSession's error; an
// interface whose step failed has Outcome failed and the error as Reason,
// and the others are placed still, as in the state machine.
func Run(ctx context.Context, h *Handlers, start workflow.Start) (workflow.Instance, error) {
	in, err := h.CheckExistingSession(ctx, start)
	if err != nil || decided(workflow.Placement{Outcome: in.Outcome}) {
		return in, err
	}
	for i, p := range in.Interfaces {
		in.Interfaces[i], _ = RunInterface(ctx, h, p)
	}
	return in, nil
}

// RunInterface takes one source interface's placement through the steps
// after CheckExistingSession, in workflow order, stopping when a step
// decides the outcome or fails (its payload then carries the step's report
// and Outcome failed, so a plan can say why), and coming back to
// PickLeastLoaded when CreateSession finds the sensor full, as the state
// machine's Catch does.
func RunInterface(ctx context.Context, h *Handlers, p workflow.Placement) (workflow.Placement, error) {
	if decided(p) {
		return p, nil
	}
	steps := workflow.Steps[1:]
	for i := 0; i < len(steps); i++ {
		step, ok := h.handler(steps[i].Name)
		if !ok {
			return p, &steperr.InvalidConfiguration{Err: errors.New("workflow step " + steps[i].Name + " has no handler")}
		}
		next, err := step(ctx, p)
		var full *steperr.SensorFull
		if errors.As(err, &full) {
			// The state machine's Catch: back to the pick, the error beside the payload.
			p.SensorFull = &workflow.CaughtError{Error: steperr.TypeName(full), Cause: lambdaCause(full)}
			i = slices.IndexFunc(steps, func(s workflow.Step) bool { return s.Name == workflow.StepPickLeastLoaded }) - 1
			continue
		}
		if p = next; err != nil || decided(p) {
			return p, err
		}
	}
	return p, nil
}

// lambdaCause is the cause Step Functions records for err returned by a
// Lambda: aws-lambda-go's error document.
func lambdaCause(err error) string {
	doc, _ := json.Marshal(workflow.LambdaCause{ErrorMessage: err.Error(), ErrorType: steperr.TypeName(err)})
	return string(doc)
}

// handler returns the method that implements the step called name.
func (h *Handlers) handler(name string) (func(context.Context, workflow.Placement) (workflow.Placement, error), bool) {
	switch name {
	case workflow.StepGatherCandidates:
		return h.GatherCandidates, true
	case workflow.StepFilterByZone:
		return h.FilterByAvailabilityZone, true
	case workflow.StepFilterBySG:
		return h.FilterBySecurityGroup, true
	case workflow.StepFilterByNACL:
		return h.FilterByNetworkACL, true
	case workflow.StepPickLeastLoaded:
		return h.PickLeastLoaded, true
	case workflow.StepCreateSession:
		return h.CreateSession, true
	}
	return nil, false
}

// decided reports whether the placement has ended.
func decided(p workflow.Placement) bool { return p.Outcome != "" }
