package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

// clients are the AWS clients one command uses, and the deployment it acts on.
type clients struct {
	sfn        operate.StepFunctions
	sqs        operate.Queue
	cfn        operate.Stacks
	ec2        operate.Targets
	deployment operate.Deployment
}

// loadAWSConfig is the one way mirrorctl loads its AWS configuration, for
// the deployment's clients and for plan --live alike: the SDK's default
// configuration for --region and --profile, refused without a Region, and
// with the credentials retrieved before any call, so their absence is said
// plainly rather than as a signing error.
func (a *app) loadAWSConfig(ctx context.Context, g *globals) (aws.Config, error) {
	cfg, err := a.loadConfig(ctx, g.region, g.profile)
	if err != nil {
		return aws.Config{}, err
	}
	if cfg.Region == "" {
		return aws.Config{}, usagef("no AWS Region: pass --region or set AWS_REGION (or region in the profile)")
	}
	if cfg.Credentials == nil {
		return aws.Config{}, operate.ErrNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("retrieving credentials: %w: %w", operate.ErrNoCredentials, err)
	}
	return cfg, nil
}

// connect loads the configuration and builds the deployment's clients.
func (a *app) connect(ctx context.Context, g *globals) (*clients, error) {
	cfg, err := a.loadAWSConfig(ctx, g)
	if err != nil {
		return nil, err
	}
	return &clients{
		sfn: sfn.NewFromConfig(cfg, func(o *sfn.Options) { a.overrideEndpoint(sfn.ServiceID, &o.BaseEndpoint) }),
		sqs: sqs.NewFromConfig(cfg, func(o *sqs.Options) { a.overrideEndpoint(sqs.ServiceID, &o.BaseEndpoint) }),
		cfn: cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) {
			a.overrideEndpoint(cloudformation.ServiceID, &o.BaseEndpoint)
		}),
		ec2: a.ec2Client(cfg),
	}, nil
}

// ec2Client is the EC2 client of every command that calls EC2 in the
// account (plan --live, drain, undrain).
func (a *app) ec2Client(cfg aws.Config) *ec2.Client {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { a.overrideEndpoint(ec2.ServiceID, &o.BaseEndpoint) })
}

// overrideEndpoint points a client at the endpoint set for service, if
// any. Without one it leaves the endpoint the SDK resolved alone, so
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> keep working.
func (a *app) overrideEndpoint(service string, base **string) {
	if u, ok := a.endpoints[service]; ok {
		*base = aws.String(u)
	}
}

// need says which parts of the deployment a command uses.
type need struct{ stateMachine, queue, reconcile bool }

// resolve connects and finds the state machines and queue: from the flags
// when given, else from the stack's outputs. A command that needs none of
// them reads no stack.
func (a *app) resolve(ctx context.Context, g *globals, n need) (*clients, error) {
	c, err := a.connect(ctx, g)
	if err != nil {
		return nil, err
	}
	c.deployment = operate.Deployment{StateMachineARN: g.stateMachine, QueueURL: g.queueURL, ReconcileStateMachineARN: g.reconcileStateMachine}
	missing := (n.stateMachine && g.stateMachine == "") || (n.queue && g.queueURL == "") ||
		(n.reconcile && g.reconcileStateMachine == "")
	if !missing {
		return c, nil
	}
	d, err := operate.DeploymentFromStack(ctx, c.cfn, g.stack)
	if err != nil {
		return nil, err
	}
	if c.deployment.StateMachineARN == "" {
		c.deployment.StateMachineARN = d.StateMachineARN
	}
	if c.deployment.QueueURL == "" {
		c.deployment.QueueURL = d.QueueURL
	}
	if c.deployment.ReconcileStateMachineARN == "" {
		c.deployment.ReconcileStateMachineARN = d.ReconcileStateMachineARN
	}
	if n.reconcile && c.deployment.ReconcileStateMachineARN == "" {
		return nil, fmt.Errorf("reading the outputs of stack %s: %w", g.stack,
			&operate.MissingOutputError{Output: operate.OutputReconcileStateMachineARN, Flag: "--reconcile-state-machine"})
	}
	if n.queue && c.deployment.QueueURL == "" {
		return nil, fmt.Errorf("reading the outputs of stack %s: it has no %s output; pass --queue-url", g.stack, operate.OutputQueueURL)
	}
	return c, nil
}
