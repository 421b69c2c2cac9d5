package operate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// RetryResult is what became of one dead-letter message.
type RetryResult struct {
	MessageID    string `json:"messageId"`
	InstanceID   string `json:"instanceId,omitempty"`
	ExecutionARN string `json:"executionArn,omitempty"`
	Status       string `json:"status"`
	// Deleted says the message left the queue: only once its new
	// execution SUCCEEDED.
	Deleted bool `json:"deleted"`
	// Reason says why the message was left in the queue.
	Reason string `json:"reason,omitempty"`
}

// RetryOptions bounds one retry --from-dlq.
type RetryOptions struct {
	StateMachineARN string
	QueueURL        string
	// Limit is how many messages one run retries.
	Limit int
	// Timeout bounds the wait for all the new executions; messages are
	// hidden from other readers for this long plus a minute.
	Timeout time.Duration
	Backoff Backoff
	Now     func() time.Time
}

// RetryInput is the input a dead-letter message's new execution gets: the
// manual input for its instance, which re-reads the instance's current
// state, or the original input when the message names no instance. ok is
// false when the message has neither.
func RetryInput(l workflow.DeadLetter) (input, instanceID string, ok bool) {
	if l.InstanceID != "" {
		return ManualInput(l.InstanceID), l.InstanceID, true
	}
	if raw := strings.TrimSpace(string(l.Input)); raw != "" && raw != "null" {
		return raw, InstanceFromInput(raw), true
	}
	return "", "", false
}

// RetryDeadLetters starts one new execution per placement the dead-letter
// messages ask for, waits for them all, deletes each message whose execution
// SUCCEEDED and makes every other message visible again. Messages that ask
// for the same input share one execution: a failed execution sends one
// message per source interface that failed, each naming the instance, and
// one new execution places every interface of the instance again, where
// one per message would race each other for the same interfaces. The error
// is for a run that could not begin (the queue could not be read); each
// message's fate is in its result.
func RetryDeadLetters(ctx context.Context, sf StepFunctions, q Queue, o RetryOptions) ([]RetryResult, error) {
	msgs, err := Take(ctx, q, o.QueueURL, o.Limit, o.Timeout+time.Minute)
	if err != nil {
		return nil, fmt.Errorf("taking dead-letter messages to retry: %w", err)
	}
	results := make([]RetryResult, len(msgs))
	names := map[string]int{}
	// startedFor finds the result whose message started an input's execution.
	startedFor := map[string]int{}
	for i, m := range msgs {
		r := &results[i]
		r.MessageID = m.MessageID
		input, instanceID, ok := RetryInput(m.Letter)
		r.InstanceID = instanceID
		if m.DecodeErr == nil && workflow.IsReconcileStep(m.Letter.Step) {
			// Its input starts a Reconcile, not a placement: starting the
			// placement state machine with it would only fail again.
			r.Status, r.Reason = "NOT_STARTED", "the Reconcile itself failed at "+m.Letter.Step+
				"; run mirrorctl reconcile to run it again (it lists the account afresh), then delete this message"
			continue
		}
		if m.DecodeErr != nil || !ok {
			r.Status, r.Reason = "NOT_STARTED", "the message names no instance and carries no input to start from"
			if m.DecodeErr != nil {
				r.Reason = m.DecodeErr.Error()
			}
			continue
		}
		if j, ok := startedFor[input]; ok {
			r.ExecutionARN, r.Status, r.Reason = results[j].ExecutionARN, results[j].Status, results[j].Reason
			continue
		}
		startedFor[input] = i
		label := instanceID
		if label == "" {
			label = "input"
		}
		// Two placements labelled alike in the same second would get one
		// name, and Step Functions would start a single execution for both.
		names[label]++
		name := ExecutionName(PrefixRetry, label, o.Now())
		if n := names[label]; n > 1 {
			name = fmt.Sprintf("%s-%d", name, n)
		}
		arn, err := Start(ctx, sf, o.StateMachineARN, name, input)
		if err != nil {
			r.Status, r.Reason = "NOT_STARTED", err.Error()
			continue
		}
		r.ExecutionARN, r.Status = arn, StatusRunning
	}
	waitCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	// ended keeps how each execution ended, so messages sharing one wait once.
	type ending struct{ status, reason string }
	ended := map[string]ending{}
	for i, m := range msgs {
		r := &results[i]
		if r.ExecutionARN != "" {
			e, ok := ended[r.ExecutionARN]
			if !ok {
				e = ending{status: r.Status}
				out, err := Wait(waitCtx, sf, r.ExecutionARN, o.Backoff, nil)
				switch {
				case err != nil:
					e.reason = err.Error()
				default:
					e.status = string(out.Status)
					if e.status != StatusSucceeded {
						c, _ := workflow.ParseCause(aws.ToString(out.Cause))
						e.reason = strings.TrimSpace(aws.ToString(out.Error) + ": " + oneLine(c.ErrorMessage))
					}
				}
				ended[r.ExecutionARN] = e
			}
			r.Status, r.Reason = e.status, e.reason
		}
		if r.Status == StatusSucceeded {
			if err := Delete(ctx, q, o.QueueURL, m); err != nil {
				r.Reason = err.Error()
				continue
			}
			r.Deleted = true
			continue
		}
		if err := Release(ctx, q, o.QueueURL, m); err != nil {
			r.Reason = strings.TrimSpace(r.Reason + "; " + err.Error())
		}
	}
	return results, nil
}
