package operate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

// Output keys of the mirrorflow stack that mirrorctl reads.
const (
	OutputStateMachineARN = "StateMachineArn"
	OutputQueueURL        = "DeadLetterQueueUrl"
	OutputQueueARN        = "DeadLetterQueueArn"
	// OutputReconcileStateMachineARN names the Reconcile state machine,
	// which moves sessions off draining, retired or gone targets. A stack
	// deployed before it existed lacks this output.
	OutputReconcileStateMachineARN = "ReconcileStateMachineArn"
	OutputConfiguration            = "Configuration"
)

// Deployment is where a deployed mirrorflow runs: its state machines and
// dead-letter queue, and what it was configured with.
type Deployment struct {
	StateMachineARN string
	QueueURL        string
	QueueARN        string
	// ReconcileStateMachineARN is empty for a stack deployed before the
	// Reconcile state machine existed; only the commands that start it need
	// it, and they say so with a MissingOutputError.
	ReconcileStateMachineARN string
	// Configuration is the Config JSON object the stack was deployed with,
	// as its Configuration output holds it; empty for a stack deployed
	// before it had that output. Config decodes it.
	Configuration string
}

// Config decodes Configuration as strictly as the stack's Lambdas do; nil
// when the stack has no Configuration output.
func (d Deployment) Config() (*config.Config, error) {
	if d.Configuration == "" {
		return nil, nil
	}
	cfg, err := config.Parse([]byte(d.Configuration))
	if err != nil {
		return nil, fmt.Errorf("reading the stack's %s output: %w", OutputConfiguration, err)
	}
	return &cfg, nil
}

// MissingOutputError says the stack lacks an output a command needs: it
// was deployed by an older mirrorflow. Flag is the flag that names the
// resource instead; callers wrap it with the stack's name.
type MissingOutputError struct {
	Output, Flag string
}

func (e *MissingOutputError) Error() string {
	return fmt.Sprintf("the stack has no %s output: deploy this version, or pass %s ARN", e.Output, e.Flag)
}

var _ error = (*MissingOutputError)(nil)

// DeploymentFromStack reads the deployment from the stack's outputs, so a
// person names the stack once instead of copying ARNs.
func DeploymentFromStack(ctx context.Context, api Stacks, stack string) (Deployment, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return Deployment{}, fmt.Errorf("reading the outputs of stack %s: %w", stack, Explain(err))
	}
	if len(out.Stacks) == 0 {
		return Deployment{}, fmt.Errorf("reading the outputs of stack %s: %w", stack, ErrStackNotFound)
	}
	var d Deployment
	for _, o := range out.Stacks[0].Outputs {
		switch aws.ToString(o.OutputKey) {
		case OutputStateMachineARN:
			d.StateMachineARN = aws.ToString(o.OutputValue)
		case OutputQueueURL:
			d.QueueURL = aws.ToString(o.OutputValue)
		case OutputQueueARN:
			d.QueueARN = aws.ToString(o.OutputValue)
		case OutputReconcileStateMachineARN:
			d.ReconcileStateMachineARN = aws.ToString(o.OutputValue)
		case OutputConfiguration:
			d.Configuration = aws.ToString(o.OutputValue)
		}
	}
	if d.StateMachineARN == "" {
		return Deployment{}, fmt.Errorf("reading the outputs of stack %s: it has no %s output (status %s); pass --state-machine",
			stack, OutputStateMachineARN, out.Stacks[0].StackStatus)
	}
	return d, nil
}
