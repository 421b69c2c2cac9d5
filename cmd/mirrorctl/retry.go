package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

var retryCommand = command{
	name:     "retry",
	synopsis: "retry --from-dlq [--limit 10] [--timeout 10m]",
	help: `Starts one new execution per dead-letter message and waits for them all.
A message whose new execution SUCCEEDED is deleted; any other is made visible
again, left in the queue, and reported. The new execution's input is
{"instanceId": ...} when the message names the instance (so the placement
reads the instance as it is now), else the message's original input; it is
named retry-<instance>-<UTC time>.

While the executions run the messages are hidden from other readers for
--timeout plus a minute, so if mirrorctl is stopped they come back by
themselves.`,
	run: runRetry,
}

func runRetry(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	fromDLQ := fs.Bool("from-dlq", false, "retry the placements in the dead-letter queue (required)")
	limit := fs.Int("limit", 10, "how many messages to retry at most")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the new executions")
	if err := parseNoArgs(fs, g, args); err != nil {
		return err
	}
	switch {
	case !*fromDLQ:
		return usagef("say where to retry from: --from-dlq (to re-run one instance, use mirrorctl run)")
	case *limit < 1:
		return usagef("--limit must be at least 1")
	case *timeout <= 0:
		return usagef("--timeout must be positive")
	}
	c, err := a.resolve(ctx, g, need{stateMachine: true, queue: true})
	if err != nil {
		return err
	}
	results, err := operate.RetryDeadLetters(ctx, c.sfn, c.sqs, operate.RetryOptions{
		StateMachineARN: c.deployment.StateMachineARN, QueueURL: c.deployment.QueueURL,
		Limit: *limit, Timeout: *timeout, Backoff: a.backoff, Now: a.now,
	})
	if err != nil {
		return err
	}
	if err := a.render(g, results, func(w io.Writer) error { return operate.RenderRetryTable(w, results) }); err != nil {
		return err
	}
	left := 0
	for _, r := range results {
		if !r.Deleted {
			left++
		}
	}
	if left > 0 {
		return fmt.Errorf("%d of %d dead-letter message(s) left in the queue: %w", left, len(results), errNotSucceeded)
	}
	return nil
}
