// Package steps holds the workflow's step handlers: each one makes the EC2
// calls its step is allowed (workflow.Steps[i].EC2Actions, batched into one
// Describe per kind of resource), hands what EC2 said to the pure decisions
// in shared/placement, and records the result in the payload. Every error a
// handler returns is one of steperr's named types, because aws-lambda-go
// reports the Go type name as the errorType the state machine routes on.
package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
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
	// Config is the deployment's configuration.
	Config config.Config
	// DryRun makes CreateSession ask EC2 whether it would create the session
	// without creating it (mirrorctl plan --live).
	DryRun bool

	// configErr, when set, is why the Lambda could not be configured; every
	// step returns it as InvalidConfiguration so the failure is routed and
	// visible in the console instead of a crash loop at init.
	configErr error
}

// New returns handlers calling api with cfg.
func New(api ec2api.API, cfg config.Config) *Handlers {
	return &Handlers{EC2: api, Config: cfg}
}

// NewFromEnv builds the handlers a Lambda runs: the configuration from the
// environment the stack set, and an EC2 client with the SDK's standard
// retryer. It never fails: a bad configuration is returned by every step as
// *steperr.InvalidConfiguration.
func NewFromEnv(ctx context.Context) *Handlers {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return &Handlers{configErr: err}
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = EC2MaxAttempts
			o.MaxBackoff = ec2MaxBackoff
		})
	}))
	if err != nil {
		return &Handlers{configErr: fmt.Errorf("loading the AWS SDK configuration: %w", err)}
	}
	return New(ec2.NewFromConfig(awsCfg), cfg)
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

// Run executes the steps in workflow order in-process, as mirrorctl plan
// does: it stops when a step decides the outcome early (exists, skipped) or
// fails, and returns the last payload and the failing step's error. The
// payload of a failed step carries its report and Outcome failed, so a plan
// can say why.
func Run(ctx context.Context, h *Handlers, start workflow.Start) (workflow.Placement, error) {
	p, err := h.CheckExistingSession(ctx, start)
	if err != nil || decided(p) {
		return p, err
	}
	for _, s := range workflow.Steps[1:] {
		step, ok := h.handler(s.Name)
		if !ok {
			return p, &steperr.InvalidConfiguration{Err: errors.New("workflow step " + s.Name + " has no handler")}
		}
		p, err = step(ctx, p)
		if err != nil || decided(p) {
			return p, err
		}
	}
	return p, nil
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
