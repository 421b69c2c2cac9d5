package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mirrorflow/mirrorflow/shared/operate"
)

// clients are the AWS clients one command uses, and the deployment it acts on.
type clients struct {
	sfn        operate.StepFunctions
	sqs        operate.Queue
	cfn        operate.Stacks
	deployment operate.Deployment
}

// connect loads the configuration, checks that credentials can be had (so
// their absence is said plainly rather than as a signing error), and builds
// the clients.
func (a *app) connect(ctx context.Context, g *globals) (*clients, error) {
	cfg, err := a.loadConfig(ctx, g.region, g.profile)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		return nil, usagef("no AWS Region: pass --region or set AWS_REGION (or region in the profile)")
	}
	if cfg.Credentials == nil {
		return nil, operate.ErrNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("retrieving credentials: %w: %w", operate.ErrNoCredentials, err)
	}
	endpoint := func(service string) *string {
		if u, ok := a.endpoints[service]; ok {
			return aws.String(u)
		}
		return nil
	}
	return &clients{
		sfn: sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = endpoint(sfn.ServiceID) }),
		sqs: sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = endpoint(sqs.ServiceID) }),
		cfn: cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = endpoint(cloudformation.ServiceID) }),
	}, nil
}

// need says which parts of the deployment a command uses.
type need struct{ stateMachine, queue bool }

// resolve connects and finds the state machine and queue: from the flags
// when given, else from the stack's outputs.
func (a *app) resolve(ctx context.Context, g *globals, n need) (*clients, error) {
	c, err := a.connect(ctx, g)
	if err != nil {
		return nil, err
	}
	c.deployment = operate.Deployment{StateMachineARN: g.stateMachine, QueueURL: g.queueURL}
	missing := (n.stateMachine && g.stateMachine == "") || (n.queue && g.queueURL == "")
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
	if n.queue && c.deployment.QueueURL == "" {
		return nil, fmt.Errorf("reading the outputs of stack %s: it has no %s output; pass --queue-url", g.stack, operate.OutputQueueURL)
	}
	return c, nil
}
