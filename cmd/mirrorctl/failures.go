package main

import (
	"context"
	"flag"
	"io"
	"time"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

var failuresCommand = command{
	name:     "failures",
	synopsis: "failures [--since 24h] [--limit 100]",
	help: `Lists failed placements, one line per instance, newest first: when it
failed, the step, the error and its message, whether a dead-letter message
waits in the queue, and the execution to trace.

It reads the state machine's FAILED executions that started within --since,
and the dead-letter messages (all of them, whatever their age: each is a
placement still to retry). It peeks at the queue and leaves every message in
it: it receives with a 1-second visibility timeout (the SDK does not send 0,
and SQS would apply the queue's default) and at once sets each message's
visibility back to 0. A peek counts as a receive in ApproximateReceiveCount.`,
	run: runFailures,
}

func runFailures(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	since := fs.Duration("since", 24*time.Hour, "how far back to list failed executions")
	limit := fs.Int("limit", 100, "how many dead-letter messages to read at most")
	if err := parseNoArgs(fs, g, args); err != nil {
		return err
	}
	switch {
	case *since <= 0:
		return usagef("--since must be positive")
	case *limit < 1:
		return usagef("--limit must be at least 1")
	}
	c, err := a.resolve(ctx, g, need{stateMachine: true, queue: true})
	if err != nil {
		return err
	}
	execs, err := operate.FailedExecutionsSince(ctx, c.sfn, c.deployment.StateMachineARN, a.now().Add(-*since))
	if err != nil {
		return err
	}
	letters, err := operate.Peek(ctx, c.sqs, c.deployment.QueueURL, *limit)
	if err != nil {
		return err
	}
	if err := operate.TraceUnexplained(ctx, c.sfn, execs, letters); err != nil {
		return err
	}
	rows := operate.FailureRows(execs, letters)
	return a.render(g, rows, func(w io.Writer) error { return operate.RenderFailuresTable(w, rows) })
}
