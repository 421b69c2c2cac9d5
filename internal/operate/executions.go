package operate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Start begins one placement. Callers name it with ExecutionName, so that
// trace --instance finds it by name.
func Start(ctx context.Context, api StepFunctions, stateMachineARN, name, input string) (string, error) {
	out, err := api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN),
		Name:            aws.String(name),
		Input:           aws.String(input),
	})
	if err != nil {
		return "", fmt.Errorf("starting execution %s of %s: %w", name, stateMachineARN, Explain(err))
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Redrive asks Step Functions to resume a failed, timed-out or aborted
// execution at the state that did not succeed, with the input that state had.
func Redrive(ctx context.Context, api StepFunctions, executionARN string) (time.Time, error) {
	out, err := api.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		return time.Time{}, fmt.Errorf("redriving %s: %w", executionARN, Explain(err))
	}
	return aws.ToTime(out.RedriveDate).UTC(), nil
}

// Backoff bounds how Wait polls: from Initial, doubling, never above Max.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff polls a placement, which takes seconds, without spending
// many DescribeExecution calls (whose quota is shared by the account).
var DefaultBackoff = Backoff{Initial: time.Second, Max: 10 * time.Second}

// ErrStillRunning is wrapped when the context ends while the execution runs.
var ErrStillRunning = errors.New("the execution is still running")

// Wait polls DescribeExecution until the execution is no longer RUNNING or
// PENDING_REDRIVE, and returns its final description. A redriven
// execution reads FAILED until the redrive takes effect, so when
// redrivenAfter is set a status is only final once its redrive count has
// grown past it. The context bounds the wait.
func Wait(ctx context.Context, api StepFunctions, executionARN string, b Backoff, redrivenAfter *int32) (*sfn.DescribeExecutionOutput, error) {
	delay := b.Initial
	for {
		out, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("waiting for %s: %w", executionARN, errors.Join(ErrStillRunning, ctx.Err()))
			}
			return nil, fmt.Errorf("describing execution %s: %w", executionARN, Explain(err))
		}
		if final(out, redrivenAfter) {
			return out, nil
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return out, fmt.Errorf("waiting for %s: %w", executionARN, errors.Join(ErrStillRunning, ctx.Err()))
		case <-timer.C:
		}
		delay = min(delay*2, b.Max)
	}
}

func final(out *sfn.DescribeExecutionOutput, redrivenAfter *int32) bool {
	switch out.Status {
	case sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusPendingRedrive:
		return false
	}
	if redrivenAfter != nil && aws.ToInt32(out.RedriveCount) <= *redrivenAfter {
		return false
	}
	return true
}

// scanLimit bounds how many executions FindForInstance examines, since an
// execution whose name does not say its instance costs a DescribeExecution.
const scanLimit = 100

// FindForInstance returns the ARN of the newest execution that placed
// instanceID: one named for it by mirrorctl, or one whose input names it (an
// EventBridge-started execution). ListExecutions lists newest first.
func FindForInstance(ctx context.Context, api StepFunctions, stateMachineARN, instanceID string) (string, error) {
	p := sfn.NewListExecutionsPaginator(api, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachineARN)})
	seen := 0
	for p.HasMorePages() && seen < scanLimit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("listing executions of %s: %w", stateMachineARN, Explain(err))
		}
		for _, e := range page.Executions {
			if seen++; seen > scanLimit {
				break
			}
			if NameIsFor(aws.ToString(e.Name), instanceID) {
				return aws.ToString(e.ExecutionArn), nil
			}
			d, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
			if err != nil {
				return "", fmt.Errorf("describing execution %s: %w", aws.ToString(e.ExecutionArn), Explain(err))
			}
			if InstanceFromInput(aws.ToString(d.Input)) == instanceID {
				return aws.ToString(e.ExecutionArn), nil
			}
		}
	}
	return "", fmt.Errorf("finding an execution for %s: %w", instanceID, &NoExecutionError{InstanceID: instanceID, Scanned: min(seen, scanLimit)})
}

// NoExecutionError says no recent execution placed the instance.
type NoExecutionError struct {
	InstanceID string
	Scanned    int
}

func (e *NoExecutionError) Error() string {
	return fmt.Sprintf("none of the newest %d executions placed %s; start one with mirrorctl run --instance %s", e.Scanned, e.InstanceID, e.InstanceID)
}

var _ error = (*NoExecutionError)(nil)
