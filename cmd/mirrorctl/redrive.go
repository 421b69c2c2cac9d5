package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

var redriveCommand = command{
	name:     "redrive",
	synopsis: "redrive EXECUTION [--wait [--timeout 5m]]",
	help: `Redrives a FAILED, TIMED_OUT or ABORTED execution of the last 14 days
(Step Functions RedriveExecution): the same execution resumes at the state
that did not succeed, with the input that state had, and the steps that
succeeded are not run again. Use it for an execution that timed out, was
aborted, or failed outside the dead-letter path (an error no Catch handles),
once the cause is fixed.

A placement that ended in the dead-letter queue cannot be redriven usefully:
its step's error was caught, so the state that did not succeed is the Fail
state PlacementFailed, and a redrive would only fail there again without
re-running the step. redrive reads the execution's history first and, for
such an execution, refuses without calling RedriveExecution, names the step
that failed, and exits 2; place the instance afresh with run --instance (or
retry --from-dlq) instead.

EXECUTION is an execution ARN or name. With --wait, waits for the redriven
execution to end and prints its trace.`,
	run: runRedrive,
}

// redriven is what redrive prints when it does not wait.
type redriven struct {
	ExecutionARN string    `json:"executionArn"`
	RedriveDate  time.Time `json:"redriveDate"`
	ConsoleURL   string    `json:"consoleUrl"`
}

func runRedrive(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	wait := fs.Bool("wait", false, "wait for the redriven execution to end and print its trace")
	timeout := fs.Duration("timeout", defaultWaitTimeout, "how long --wait waits")
	rest, err := parse(fs, g, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) != 1:
		return usagef("redrive takes one execution ARN or name")
	case *timeout <= 0:
		return usagef("--timeout must be positive")
	}
	arn, c, err := a.findExecution(ctx, g, rest, "")
	if err != nil {
		return err
	}
	// The redrive count before, so --wait can tell the redriven run's end
	// from the failure it is redriving.
	before, err := c.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("describing execution %s: %w", arn, operate.Explain(err))
	}
	switch before.Status {
	case sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted:
		// Another status is not redrivable at all, which RedriveExecution
		// says itself; only a closed execution's history shows where it would
		// resume.
		if err := operate.CheckRedrive(ctx, c.sfn, arn); err != nil {
			return err
		}
	}
	at, err := operate.Redrive(ctx, c.sfn, arn)
	if err != nil {
		return err
	}
	if *wait {
		count := aws.ToInt32(before.RedriveCount)
		return a.waitAndTrace(ctx, g, c, arn, *timeout, &count)
	}
	r := redriven{ExecutionARN: arn, RedriveDate: at, ConsoleURL: operate.ConsoleURL(arn)}
	return a.render(g, r, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Redriven  %s at %s\nConsole   %s\n", arn, at.Format(time.RFC3339), r.ConsoleURL)
		return err
	})
}
