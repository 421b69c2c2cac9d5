package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

var runCommand = command{
	name:     "run",
	synopsis: "run --instance ID [--wait [--timeout 5m]]",
	help: `Starts one placement of the instance, as EventBridge would when it starts
running: StartExecution with input {"instanceId": "ID"}, named
manual-<instance>-<UTC time>. With --wait, polls the execution (backing off
from 1s to 10s) until it ends or --timeout passes, then prints its trace.`,
	run: runRun,
}

// started is what run prints when it does not wait.
type started struct {
	ExecutionARN string `json:"executionArn"`
	Name         string `json:"name"`
	Input        string `json:"input"`
	ConsoleURL   string `json:"consoleUrl"`
}

func runRun(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	instanceID := fs.String("instance", "", "the EC2 instance id to place (required)")
	wait := fs.Bool("wait", false, "wait for the execution to end and print its trace")
	timeout := fs.Duration("timeout", defaultWaitTimeout, "how long --wait waits")
	if err := parseNoArgs(fs, g, args); err != nil {
		return err
	}
	switch {
	case *instanceID == "":
		return usagef("--instance is required")
	case !operate.ValidInstanceID(*instanceID):
		return usagef("--instance %q is not an EC2 instance id (i- followed by 8 or 17 hex digits)", *instanceID)
	case *timeout <= 0:
		return usagef("--timeout must be positive")
	}
	c, err := a.resolve(ctx, g, need{stateMachine: true})
	if err != nil {
		return err
	}
	name := operate.ExecutionName(operate.PrefixManual, *instanceID, a.now())
	input := operate.ManualInput(*instanceID)
	arn, err := operate.Start(ctx, c.sfn, c.deployment.StateMachineARN, name, input)
	if err != nil {
		return err
	}
	if !*wait {
		s := started{ExecutionARN: arn, Name: name, Input: input, ConsoleURL: operate.ConsoleURL(arn)}
		return a.render(g, s, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "Started  %s\nARN      %s\nConsole  %s\n", s.Name, s.ExecutionARN, s.ConsoleURL)
			return err
		})
	}
	return a.waitAndTrace(ctx, g, c, arn, *timeout, nil)
}

// waitAndTrace waits for an execution, prints its trace, and reports a
// placement that did not succeed as errNotSucceeded.
func (a *app) waitAndTrace(ctx context.Context, g *globals, c *clients, arn string, timeout time.Duration, redrivenAfter *int32) error {
	_, stillRunning, err := a.follow(ctx, c, arn, timeout, redrivenAfter)
	if err != nil {
		return err
	}
	t, err := operate.TraceExecution(ctx, c.sfn, arn)
	if err != nil {
		return err
	}
	if err := a.renderTrace(g, t); err != nil {
		return err
	}
	return verdict("the placement", t.Name, t.Status, stillRunning, timeout)
}

// follow polls an execution until it ends or timeout passes, and returns
// its last description; stillRunning says the timeout came first (last may
// then be nil, when no poll answered). Every command that waits for an
// execution waits through it.
func (a *app) follow(ctx context.Context, c *clients, arn string, timeout time.Duration, redrivenAfter *int32) (
	last *sfn.DescribeExecutionOutput, stillRunning bool, err error,
) {
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last, err = operate.Wait(waitCtx, c.sfn, arn, a.backoff, redrivenAfter)
	if errors.Is(err, operate.ErrStillRunning) {
		return last, true, nil
	}
	return last, false, err
}

// verdict reports an execution that is still running after timeout, or
// ended otherwise than SUCCEEDED, as a notSucceededError (exit 4): what
// says what it ran ("the placement"), name which execution.
func verdict(what, name, status string, stillRunning bool, timeout time.Duration) error {
	switch {
	case stillRunning:
		return fmt.Errorf("%s still %s after %s: %w", name, status, timeout, &notSucceededError{what: what})
	case status != operate.StatusSucceeded:
		return fmt.Errorf("%s ended %s: %w", name, status, &notSucceededError{what: what})
	}
	return nil
}

// notSucceededError is errNotSucceeded in the words of the command that
// waited: a Reconcile execution is not a placement.
type notSucceededError struct{ what string }

func (e *notSucceededError) Error() string { return e.what + " did not succeed" }

// Is makes the error errNotSucceeded, which exit turns into exit 4.
func (e *notSucceededError) Is(target error) bool { return target == errNotSucceeded }

var _ error = (*notSucceededError)(nil)
