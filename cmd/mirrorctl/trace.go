package main

import (
	"context"
	"flag"
	"strings"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

var traceCommand = command{
	name:     "trace",
	synopsis: "trace EXECUTION | --instance ID",
	help: `Tells one execution step by step from its history: each Task state's
status, duration and retries (with the errors retried), the sensors it kept
and rejected with reasons, and the error and cause where it failed; then the
console link to the execution's graph.

EXECUTION is an execution ARN, or a name such as
manual-i-0a1b2c3d4e5f60718-20261122T103000Z (looked up under the stack's
state machine). --instance traces the newest execution that placed the
instance, found by name or, for EventBridge-started ones, by input among the
newest 100 executions.`,
	run: runTrace,
}

func runTrace(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	instanceID := fs.String("instance", "", "trace the newest execution for this instance")
	rest, err := parse(fs, g, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 1:
		return usagef("trace takes one execution, got %d arguments", len(rest))
	case len(rest) == 1 && *instanceID != "":
		return usagef("give an execution or --instance, not both")
	case len(rest) == 0 && *instanceID == "":
		return usagef("give an execution ARN or name, or --instance ID")
	case *instanceID != "" && !operate.ValidInstanceID(*instanceID):
		return usagef("--instance %q is not an EC2 instance id (i- followed by 8 or 17 hex digits)", *instanceID)
	}
	arn, c, err := a.findExecution(ctx, g, rest, *instanceID)
	if err != nil {
		return err
	}
	t, err := operate.TraceExecution(ctx, c.sfn, arn)
	if err != nil {
		return err
	}
	return a.renderTrace(g, t)
}

// findExecution connects and turns an execution ARN, an execution name or
// an instance id into an execution ARN. Only a name or an instance needs
// the state machine, and so the stack.
func (a *app) findExecution(ctx context.Context, g *globals, rest []string, instanceID string) (string, *clients, error) {
	if len(rest) == 1 && strings.HasPrefix(rest[0], "arn:") {
		c, err := a.connect(ctx, g)
		return rest[0], c, err
	}
	c, err := a.resolve(ctx, g, need{stateMachine: true})
	if err != nil {
		return "", nil, err
	}
	if instanceID != "" {
		arn, err := operate.FindForInstance(ctx, c.sfn, c.deployment.StateMachineARN, instanceID)
		return arn, c, err
	}
	arn, err := operate.ExecutionARN(c.deployment.StateMachineARN, rest[0])
	return arn, c, err
}
