package operate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// DeadLetterMessage is one message of the dead-letter queue with what SQS
// says about it. The queue has two senders: the state machine's dead-letter
// path, whose body is a workflow.DeadLetter, and the EventBridge rule's
// target, whose body is the event it could not start an execution for.
type DeadLetterMessage struct {
	MessageID     string
	ReceiptHandle string
	// SentAt is when the state machine or EventBridge sent it: when the
	// placement failed, or when EventBridge gave up starting it.
	SentAt       time.Time
	ReceiveCount int
	// Letter is the body, or for an event EventBridge could not deliver the
	// letter made from it (see Undelivered), so that both kinds are listed
	// and retried alike.
	Letter workflow.DeadLetter
	// Undelivered is set when EventBridge sent the message.
	Undelivered *UndeliveredEvent
	// DecodeErr is set when the body is neither a workflow.DeadLetter nor an
	// event; the message is still listed, so nothing in the queue goes unseen.
	DecodeErr error
	Body      string
}

// StepStartExecution is the step a failure names when the EventBridge rule
// could not start an execution for an event: no state of the workflow ran,
// EventBridge's own StartExecution call failed.
const StepStartExecution = "StartExecution"

// The message attributes EventBridge sets on every event it sends to a
// target's dead-letter queue (EventBridge User Guide, "Using dead-letter
// queues to process undelivered events"). It also sets RETRY_ATTEMPTS and,
// when the retry policy ran out, EXHAUSTED_RETRY_CONDITION.
const (
	AttributeRuleARN      = "RULE_ARN"
	AttributeTargetARN    = "TARGET_ARN"
	AttributeErrorCode    = "ERROR_CODE"
	AttributeErrorMessage = "ERROR_MESSAGE"
)

// undeliveredAttributes are the message attributes ReceiveMessage asks for:
// SQS returns none that are not named.
var undeliveredAttributes = []string{AttributeRuleARN, AttributeTargetARN, AttributeErrorCode, AttributeErrorMessage}

// UndeliveredEvent is what EventBridge says about an event it could not
// deliver to the state machine: the rule, the target, and StartExecution's
// error (ErrorCode is EventBridge's: THROTTLING, NO_PERMISSIONS,
// NO_RESOURCE...).
type UndeliveredEvent struct {
	RuleARN      string `json:"ruleArn,omitempty"`
	TargetARN    string `json:"targetArn,omitempty"`
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// noErrorMessage is the reason of an undelivered event whose message carries
// no ERROR_MESSAGE attribute.
const noErrorMessage = "EventBridge could not start an execution for this event"

// PeekVisibility is the visibility timeout a peek receives with. The SDK
// leaves a zero VisibilityTimeout out of ReceiveMessage, so SQS would apply
// the queue's default instead; one second is the least that is sent, and
// Peek sets each message's visibility back to 0 as soon as it has read all.
const PeekVisibility = 1

// peekRounds bounds the receives of one peek or take.
const peekRounds = 20

// Peek reads up to limit dead-letter messages and leaves them in the queue,
// visible: it receives with PeekVisibility and then changes each message's
// visibility back to 0. Each peek counts as a receive in
// ApproximateReceiveCount.
func Peek(ctx context.Context, api Queue, queueURL string, limit int) ([]DeadLetterMessage, error) {
	msgs, err := receive(ctx, api, queueURL, limit, PeekVisibility)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if err := Release(ctx, api, queueURL, m); err != nil {
			return msgs, err
		}
	}
	return msgs, nil
}

// Take receives up to limit dead-letter messages and hides them from other
// readers for hold, long enough to retry each and delete it on success. A
// message not deleted comes back by itself when hold ends.
func Take(ctx context.Context, api Queue, queueURL string, limit int, hold time.Duration) ([]DeadLetterMessage, error) {
	return receive(ctx, api, queueURL, limit, holdSeconds(hold))
}

// maxVisibility is the longest visibility timeout SQS accepts: 12 hours.
const maxVisibility = 12 * 60 * 60

// holdSeconds is hold as a visibility timeout: whole seconds, at least
// PeekVisibility and at most maxVisibility, clamped before narrowing so a
// huge hold cannot wrap around.
func holdSeconds(hold time.Duration) int32 {
	secs := int64(hold / time.Second)
	switch {
	case secs < PeekVisibility:
		return PeekVisibility
	case secs > maxVisibility:
		return maxVisibility
	}
	return int32(secs)
}

// maxReceive is the most messages one ReceiveMessage returns.
const maxReceive = 10

// batchSize is the MaxNumberOfMessages to ask for while want more messages
// are wanted, within the 1 to 10 SQS accepts.
func batchSize(want int) int32 {
	switch {
	case want < 1:
		return 1
	case want > maxReceive:
		return maxReceive
	}
	return int32(want)
}

// Release makes a received message visible again at once.
func Release(ctx context.Context, api Queue, queueURL string, m DeadLetterMessage) error {
	_, err := api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String(m.ReceiptHandle), VisibilityTimeout: 0,
	})
	if err != nil {
		return fmt.Errorf("making dead-letter message %s visible again: %w", m.MessageID, Explain(err))
	}
	return nil
}

// Delete removes a message whose placement has since succeeded.
func Delete(ctx context.Context, api Queue, queueURL string, m DeadLetterMessage) error {
	_, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String(m.ReceiptHandle)})
	if err != nil {
		return fmt.Errorf("deleting dead-letter message %s: %w", m.MessageID, Explain(err))
	}
	return nil
}

// receive calls ReceiveMessage until limit messages are read or a round
// brings nothing new. A message can come back in a later round once its
// visibility ends, so messages are counted once by id.
func receive(ctx context.Context, api Queue, queueURL string, limit int, visibility int32) ([]DeadLetterMessage, error) {
	var out []DeadLetterMessage
	seen := map[string]bool{}
	for round := 0; round < peekRounds && len(out) < limit; round++ {
		page, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(queueURL),
			MaxNumberOfMessages: batchSize(limit - len(out)),
			VisibilityTimeout:   visibility,
			// Long polling asks every SQS server, so a small queue is read whole.
			WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{
				sqstypes.MessageSystemAttributeNameSentTimestamp,
				sqstypes.MessageSystemAttributeNameApproximateReceiveCount,
			},
			MessageAttributeNames: undeliveredAttributes,
		})
		if err != nil {
			return out, fmt.Errorf("receiving from the dead-letter queue %s: %w", queueURL, Explain(err))
		}
		fresh := 0
		for _, m := range page.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			fresh++
			out = append(out, decodeMessage(m))
		}
		if fresh == 0 {
			break
		}
	}
	return out, nil
}

func decodeMessage(m sqstypes.Message) DeadLetterMessage {
	d := DeadLetterMessage{
		MessageID:     aws.ToString(m.MessageId),
		ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body:          aws.ToString(m.Body),
	}
	if ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		d.SentAt = time.UnixMilli(ms).UTC()
	}
	if n, err := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		d.ReceiveCount = n
	}
	if u, ok := undelivered(m); ok {
		d.Undelivered = u
		d.Letter, d.DecodeErr = eventLetter(d.Body, u)
		if d.DecodeErr != nil {
			// Still a failed StartExecution, though nothing else is known.
			d.Letter = workflow.DeadLetter{Step: StepStartExecution, Error: u.ErrorCode}
			d.DecodeErr = fmt.Errorf("decoding dead-letter message %s, an event EventBridge could not deliver (%s: %s): %w",
				d.MessageID, u.ErrorCode, u.ErrorMessage, d.DecodeErr)
		}
		return d
	}
	if err := json.Unmarshal([]byte(d.Body), &d.Letter); err != nil {
		d.DecodeErr = fmt.Errorf("decoding dead-letter message %s: %w", d.MessageID, err)
	}
	return d
}

// undelivered reports whether EventBridge sent m, and what it said: the
// message carries EventBridge's attributes, or its body is an event (a
// workflow.DeadLetter has neither a detail-type nor a source).
func undelivered(m sqstypes.Message) (*UndeliveredEvent, bool) {
	attr := func(name string) (string, bool) {
		v, ok := m.MessageAttributes[name]
		return aws.ToString(v.StringValue), ok
	}
	u := &UndeliveredEvent{}
	found := false
	for name, field := range map[string]*string{
		AttributeRuleARN: &u.RuleARN, AttributeTargetARN: &u.TargetARN,
		AttributeErrorCode: &u.ErrorCode, AttributeErrorMessage: &u.ErrorMessage,
	} {
		v, ok := attr(name)
		*field, found = v, found || ok
	}
	if found {
		return u, true
	}
	var ev struct {
		DetailType *string `json:"detail-type"`
		Source     string  `json:"source"`
	}
	if json.Unmarshal([]byte(aws.ToString(m.Body)), &ev) != nil {
		return nil, false
	}
	return u, ev.DetailType != nil || ev.Source == workflow.EventSourceEC2
}

// eventLetter is the dead-letter letter of an event EventBridge could not
// deliver: step StartExecution, the instance from the event's detail, the
// event as the input, and EventBridge's error code and message as the error
// and its cause (plain text, which workflow.ParseCause reads as the message).
// There was no execution, so ExecutionID is empty.
func eventLetter(body string, u *UndeliveredEvent) (workflow.DeadLetter, error) {
	raw := []byte(strings.TrimSpace(body))
	if len(raw) == 0 || raw[0] != '{' {
		return workflow.DeadLetter{}, errors.New("the body is not a JSON object")
	}
	var ev struct {
		Time   string          `json:"time"`
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return workflow.DeadLetter{}, fmt.Errorf("decoding the event: %w", err)
	}
	var detail workflow.StateChangeDetail
	if len(ev.Detail) > 0 {
		if err := json.Unmarshal(ev.Detail, &detail); err != nil {
			return workflow.DeadLetter{}, fmt.Errorf("decoding the event's detail: %w", err)
		}
	}
	cause := u.ErrorMessage
	if cause == "" {
		cause = noErrorMessage
	}
	return workflow.DeadLetter{
		Step:       StepStartExecution,
		InstanceID: detail.InstanceID,
		Input:      json.RawMessage(raw),
		Error:      u.ErrorCode,
		Cause:      cause,
		StartTime:  ev.Time,
	}, nil
}
