package operate

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Failure is one instance, or one of its interfaces, whose placement
// failed: its latest failure, and how many the look-back saw.
type Failure struct {
	InstanceID string `json:"instanceId"`
	// NetworkInterfaceID is the source interface whose placement failed;
	// empty when the instance failed as a whole.
	NetworkInterfaceID string    `json:"networkInterfaceId,omitempty"`
	When               time.Time `json:"when"`
	Step               string    `json:"step"`
	Error              string    `json:"error"`
	// Reason is the error's message, folded onto one line.
	Reason       string `json:"reason"`
	Execution    string `json:"execution,omitempty"`
	ExecutionARN string `json:"executionArn,omitempty"`
	// InQueue says a dead-letter message for this failure waits in the
	// queue, so retry --from-dlq will start it again.
	InQueue  bool `json:"inDeadLetterQueue"`
	Failures int  `json:"failures"`
}

// FailedExecution is a FAILED execution from ListExecutions. Trace is read
// only when no dead-letter message says why it failed.
type FailedExecution struct {
	ARN       string
	Name      string
	StartTime time.Time
	StopTime  time.Time
	Trace     *Trace
}

// FailedExecutionsSince lists the state machine's FAILED executions that
// started at or after since. ListExecutions lists newest first, so paging
// stops at the first older one.
func FailedExecutionsSince(ctx context.Context, api sfn.ListExecutionsAPIClient, stateMachineARN string, since time.Time) ([]FailedExecution, error) {
	var out []FailedExecution
	p := sfn.NewListExecutionsPaginator(api, &sfn.ListExecutionsInput{
		StateMachineArn: aws.String(stateMachineARN),
		StatusFilter:    sfntypes.ExecutionStatusFailed,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing failed executions of %s: %w", stateMachineARN, Explain(err))
		}
		for _, e := range page.Executions {
			start := aws.ToTime(e.StartDate).UTC()
			if start.Before(since) {
				return out, nil
			}
			out = append(out, FailedExecution{
				ARN: aws.ToString(e.ExecutionArn), Name: aws.ToString(e.Name),
				StartTime: start, StopTime: aws.ToTime(e.StopDate).UTC(),
			})
		}
	}
	return out, nil
}

// TraceUnexplained reads the history of each failed execution that no
// dead-letter message accounts for, so its row can still name the step.
func TraceUnexplained(ctx context.Context, api sfn.GetExecutionHistoryAPIClient, execs []FailedExecution, letters []DeadLetterMessage) error {
	explained := map[string]bool{}
	for _, m := range letters {
		if m.Letter.ExecutionID != "" {
			explained[m.Letter.ExecutionID] = true
		}
	}
	for i := range execs {
		if explained[execs[i].ARN] {
			continue
		}
		t, err := TraceExecution(ctx, api, execs[i].ARN)
		if err != nil {
			return err
		}
		execs[i].Trace = &t
	}
	return nil
}

// FailureRows makes one row per instance, or per interface when the
// failure names one, from failed executions and dead-letter messages, newest
// first. An execution and the messages it sent (one per interface that
// failed) are one failure of each of those interfaces; a row shows an
// interface's or instance's latest failure and counts the others. A failure
// with no instance (its input was rejected, or its message is unreadable)
// gets a row of its own, per execution or, when there was none, per message.
// An event EventBridge could not deliver has no execution: its row names
// StepStartExecution.
func FailureRows(execs []FailedExecution, letters []DeadLetterMessage) []Failure {
	// key says which failures share a row: the interface, or else the
	// instance, or else the execution, or else the message.
	type keyed struct {
		key string
		f   Failure
	}
	var all []keyed
	// byARN finds an execution's messages: one per interface that failed.
	byARN := map[string][]int{}
	for _, m := range letters {
		l := m.Letter
		c, _ := workflow.ParseCause(l.Cause)
		f := Failure{
			InstanceID: l.InstanceID, NetworkInterfaceID: l.NetworkInterfaceID, When: m.SentAt, Step: l.Step, Error: l.Error,
			Reason: oneLine(c.ErrorMessage), ExecutionARN: l.ExecutionID, Execution: nameOf(l.ExecutionID), InQueue: true,
		}
		if f.InstanceID == "" {
			f.InstanceID = InstanceFromInput(string(l.Input))
		}
		if m.DecodeErr != nil {
			f.Error, f.Reason = "unreadable message", fmt.Sprintf("message %s: %v", m.MessageID, m.DecodeErr)
		}
		key := f.InstanceID
		switch {
		case key != "" && f.NetworkInterfaceID != "":
			key += " " + f.NetworkInterfaceID
		case key != "":
		case f.ExecutionARN != "":
			key = "execution " + f.ExecutionARN
		default:
			key = "message " + m.MessageID
		}
		if f.ExecutionARN != "" {
			byARN[f.ExecutionARN] = append(byARN[f.ExecutionARN], len(all))
		}
		all = append(all, keyed{key, f})
	}
	for _, e := range execs {
		if is, ok := byARN[e.ARN]; ok {
			for _, i := range is {
				if !e.StopTime.IsZero() {
					all[i].f.When = e.StopTime
				}
			}
			continue
		}
		f := Failure{When: e.StopTime, ExecutionARN: e.ARN, Execution: e.Name}
		if f.When.IsZero() {
			f.When = e.StartTime
		}
		if t := e.Trace; t != nil {
			f.InstanceID, f.Step, f.Error, f.Reason = t.InstanceID, t.FailedStep, t.Error, t.Reason
			f.NetworkInterfaceID = t.FailedNetworkInterfaceID
		}
		key := f.InstanceID
		switch {
		case key != "" && f.NetworkInterfaceID != "":
			key += " " + f.NetworkInterfaceID
		case key == "":
			key = "execution " + f.ExecutionARN
		}
		all = append(all, keyed{key, f})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].f.When.Equal(all[j].f.When) {
			return all[i].f.When.After(all[j].f.When)
		}
		return all[i].f.InstanceID < all[j].f.InstanceID
	})
	var rows []Failure
	index := map[string]int{}
	for _, k := range all {
		if i, ok := index[k.key]; ok {
			rows[i].Failures++
			rows[i].InQueue = rows[i].InQueue || k.f.InQueue
			continue
		}
		f := k.f
		f.Failures = 1
		index[k.key] = len(rows)
		rows = append(rows, f)
	}
	if rows == nil {
		rows = []Failure{}
	}
	return rows
}

func nameOf(executionARN string) string {
	for i := len(executionARN) - 1; i >= 0; i-- {
		if executionARN[i] == ':' {
			return executionARN[i+1:]
		}
	}
	return executionARN
}
