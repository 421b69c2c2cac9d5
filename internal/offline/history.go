package offline

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/mirrorflow/mirrorflow/internal/offline/sfnlocal"
)

// History renders an offline execution as the history GetExecutionHistory
// would return for it in AWS, so that one trace builder (internal/operate)
// tells offline and deployed executions alike. input is the execution's input.
func History(x sfnlocal.Execution, input json.RawMessage) []sfntypes.HistoryEvent {
	var out []sfntypes.HistoryEvent
	add := func(e sfntypes.HistoryEvent, at string) {
		ts, err := time.Parse(time.RFC3339Nano, at)
		if err == nil {
			e.Timestamp = &ts
		}
		e.Id = int64(len(out) + 1)
		out = append(out, e)
	}
	// taskFailed tracks whether the running Task's last attempt failed, so
	// its exit is recorded as a catch rather than a success.
	taskFailed := false
	for _, e := range x.Events {
		name := aws.String(e.State)
		switch e.Type {
		case "ExecutionStarted":
			add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionStarted,
				ExecutionStartedEventDetails: &sfntypes.ExecutionStartedEventDetails{Input: aws.String(string(input))}}, e.Timestamp)
		case "ExecutionSucceeded":
			add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionSucceeded,
				ExecutionSucceededEventDetails: &sfntypes.ExecutionSucceededEventDetails{Output: aws.String(string(x.Output))}}, e.Timestamp)
		case "ExecutionFailed":
			add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionFailed,
				ExecutionFailedEventDetails: &sfntypes.ExecutionFailedEventDetails{Error: aws.String(e.Error), Cause: aws.String(e.Cause)}}, e.Timestamp)
		case "StateEntered":
			if typ, ok := enteredTypes[e.StateType]; ok {
				entered := &sfntypes.StateEnteredEventDetails{Name: name}
				if len(e.Input) > 0 {
					entered.Input = aws.String(string(e.Input))
				}
				add(sfntypes.HistoryEvent{Type: typ, StateEnteredEventDetails: entered}, e.Timestamp)
			}
			if e.StateType == "Task" {
				taskFailed = false
				add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskScheduled}, e.Timestamp)
			}
		case "StateRetried":
			if e.StateType == "Task" {
				taskFailed = false
				add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskScheduled}, e.Timestamp)
			}
		case "StateFailed":
			if e.StateType == "Task" {
				taskFailed = true
				add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskFailed,
					TaskFailedEventDetails: &sfntypes.TaskFailedEventDetails{Error: aws.String(e.Error), Cause: aws.String(e.Cause)}}, e.Timestamp)
			}
		case "MapIterationStarted", "MapIterationSucceeded", "MapIterationFailed":
			add(sfntypes.HistoryEvent{Type: mapIterationTypes[e.Type]}, e.Timestamp)
		case "StateExited":
			if typ, ok := exitedTypes[e.StateType]; ok {
				add(sfntypes.HistoryEvent{Type: typ,
					StateExitedEventDetails: &sfntypes.StateExitedEventDetails{Name: name, Output: aws.String(string(e.Output))}}, e.Timestamp)
				continue
			}
			if e.StateType != "Task" {
				continue
			}
			output := aws.String(string(e.Output))
			if !taskFailed {
				add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskSucceeded,
					TaskSucceededEventDetails: &sfntypes.TaskSucceededEventDetails{Output: output}}, e.Timestamp)
			}
			add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskStateExited,
				StateExitedEventDetails: &sfntypes.StateExitedEventDetails{Name: name, Output: output}}, e.Timestamp)
		}
	}
	return out
}

// enteredTypes maps the engine's state types to their history event.
var enteredTypes = map[string]sfntypes.HistoryEventType{
	"Task":    sfntypes.HistoryEventTypeTaskStateEntered,
	"Pass":    sfntypes.HistoryEventTypePassStateEntered,
	"Choice":  sfntypes.HistoryEventTypeChoiceStateEntered,
	"Fail":    sfntypes.HistoryEventTypeFailStateEntered,
	"Succeed": sfntypes.HistoryEventTypeSucceedStateEntered,
	"Wait":    sfntypes.HistoryEventTypeWaitStateEntered,
	"Map":     sfntypes.HistoryEventTypeMapStateEntered,
}

// exitedTypes maps the state types other than Task whose exit the engine
// records with its output to their history event.
var exitedTypes = map[string]sfntypes.HistoryEventType{
	"Map":  sfntypes.HistoryEventTypeMapStateExited,
	"Pass": sfntypes.HistoryEventTypePassStateExited,
}

// mapIterationTypes maps the engine's Map iteration events to their history event.
var mapIterationTypes = map[string]sfntypes.HistoryEventType{
	"MapIterationStarted":   sfntypes.HistoryEventTypeMapIterationStarted,
	"MapIterationSucceeded": sfntypes.HistoryEventTypeMapIterationSucceeded,
	"MapIterationFailed":    sfntypes.HistoryEventTypeMapIterationFailed,
}
