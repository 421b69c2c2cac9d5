package statemachine

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Names of the Reconcile's states that are not Lambda steps.
const (
	// StateAnyStale is the Choice that skips DeleteStaleSessions when the
	// page has no stale session only the Reconcile can delete.
	StateAnyStale = "AnyStaleSessions"
	// StateNoStaleSessions stands in for DeleteStaleSessions' answer.
	StateNoStaleSessions = "NoStaleSessions"
	// StatePlaceEachInstance is the Map that starts one placement per instance.
	StatePlaceEachInstance = "PlaceEachInstance"
	// StateStartPlacement starts a placement execution and waits for it.
	StateStartPlacement = "StartPlacement"
	// StateHowItEnded and StateAnyMirrored are the Choices on the placement's output.
	StateHowItEnded  = "HowThePlacementEnded"
	StateAnyMirrored = "AnyInterfaceMirrored"
	// StatePlacementSucceeded, StatePlacementNothingToDo and
	// StatePlacementDidNotSucceed record each outcome.
	StatePlacementSucceeded     = "PlacementMirrored"
	StatePlacementNothingToDo   = "PlacementHadNothingToDo"
	StatePlacementDidNotSucceed = "PlacementDidNotSucceed"
	// StatePlacementNotStarted records a placement StartExecution refused.
	StatePlacementNotStarted = "PlacementNotStarted"
	// StateSendStartToDeadLetterQueue sends its dead-letter message.
	StateSendStartToDeadLetterQueue = "SendStartToDeadLetterQueue"
	// StateMorePages is the Choice that lists the next page or ends.
	StateMorePages = "MorePages"
	// StateReconciled ends the Reconcile with its totals.
	StateReconciled = "Reconciled"
	// StateReconcileFailed fails it with the error of a step that failed.
	StateReconcileFailed = "ReconcileFailed"
)

// Paths of the Reconcile's state between its steps.
const (
	ReconcilePagePath    = "$.page"
	ReconcileDeletedPath = "$.deleted"
	ReconcileResultsPath = "$.results"
)

// ReconcileStartRetry retries StartExecution's own failures (the running
// executions quota, a throttle, the SDK's transport): not States.TaskFailed,
// which is how a placement that ran and failed ends the Task, and which
// must not start it again. The Developer Guide's example of this integration
// ("Start a new AWS Step Functions state machine from a running execution")
// retries StepFunctions.ExecutionLimitExceeded; the SDK-integration spelling
// of the same quota, with Exception, is listed too, since a name the
// integration never reports costs nothing.
var ReconcileStartRetry = Retry{
	Errors: []string{
		"StepFunctions.ExecutionLimitExceeded", "StepFunctions.ExecutionLimitExceededException",
		"StepFunctions.ThrottlingException", "StepFunctions.SdkClientException",
	},
	Interval: 2, BackoffRate: 2, MaxAttempts: 8, MaxDelay: 60,
}

// ReconcileTimeout bounds one Reconcile: a page of 100 placements at the
// default concurrency of 5 takes a few minutes; a fleet of 10,000 instances
// needing placement, 100 pages, stays inside a day.
const ReconcileTimeout = 24 * 60 * 60

// ReconcileProps are what the Reconcile runs on.
type ReconcileProps struct {
	// Functions holds the Reconcile steps' Lambdas, keyed by step name
	// (workflow.ReconcileSteps).
	Functions map[string]awslambda.IFunction
	// Placement is the placement state machine each instance is placed by.
	Placement sfn.IStateMachine
	// MaxConcurrency bounds the placements running at once.
	MaxConcurrency int
	// DeadLetterQueue receives a workflow.DeadLetter for a step that failed
	// and for a placement that could not be started.
	DeadLetterQueue awssqs.IQueue
	LogGroup        awslogs.ILogGroup
}

// NewReconcile builds the Reconcile state machine: list a page of running
// instances and judge their coverage, delete the stale sessions no
// placement will, place each instance with an unmirrored interface by an
// execution of the placement state machine of its own (a Map, at most
// MaxConcurrency at once), add the page to the totals, and go on to the
// next page until there is none. A step that fails past its retries sends a
// dead-letter message and fails the Reconcile; a placement that fails is
// counted, and is in the dead-letter queue by its own execution.
func NewReconcile(scope constructs.Construct, id string, props ReconcileProps) (sfn.StateMachine, error) {
	switch {
	case props.DeadLetterQueue == nil, props.LogGroup == nil, props.Placement == nil:
		return nil, fmt.Errorf("building state machine %s: it needs a dead-letter queue, a log group and the placement state machine", id)
	case props.MaxConcurrency < 1:
		return nil, fmt.Errorf("building state machine %s: MaxConcurrency %d: at least one placement must run", id, props.MaxConcurrency)
	}
	for _, step := range workflow.ReconcileSteps {
		if props.Functions[step.Name] == nil {
			return nil, fmt.Errorf("building state machine %s: no function for step %s", id, step.Name)
		}
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	failed := sfn.NewFail(c, jsii.String(StateReconcileFailed), &sfn.FailProps{
		Comment:   jsii.String("A step failed past its retries; the dead-letter queue has its message."),
		ErrorPath: jsii.String("$.error"),
		CausePath: jsii.String("$.cause"),
	})
	deadLetter := deadLetterPath(c, props.DeadLetterQueue, failed)
	task := func(step workflow.Step, payload map[string]interface{}, resultPath string) tasks.LambdaInvoke {
		t := tasks.NewLambdaInvoke(c, jsii.String(step.Name), &tasks.LambdaInvokeProps{
			Comment:                  jsii.String(step.Doc),
			LambdaFunction:           props.Functions[step.Name],
			Payload:                  sfn.TaskInput_FromObject(&payload),
			ResultSelector:           &map[string]interface{}{"value": sfn.JsonPath_StringAt(jsii.String("$.Payload"))},
			ResultPath:               jsii.String(resultPath),
			RetryOnServiceExceptions: jsii.Bool(false),
		})
		t.AddRetry(TransientRetry.props())
		t.AddRetry(LambdaThrottlingRetry.props())
		t.AddRetry(LambdaServiceRetry.props())
		// Its input is the Reconcile's state, which names no instance: the
		// message is built as for the placement's first step.
		t.AddCatch(failedState(c, step, true).Next(deadLetter), catchAll(FailureResultPath))
		return t
	}

	list := task(workflow.ReconcileSteps[0], map[string]interface{}{
		"state":     sfn.JsonPath_EntirePayload(),
		"startTime": sfn.JsonPath_ExecutionStartTime(),
	}, ReconcilePagePath)
	page := ReconcilePagePath + ".value"
	del := task(workflow.ReconcileSteps[1], map[string]interface{}{
		"sessions": sfn.JsonPath_StringAt(jsii.String(page + ".delete")),
	}, ReconcileDeletedPath)
	none := sfn.NewPass(c, jsii.String(StateNoStaleSessions), &sfn.PassProps{
		Comment:    jsii.String("No stale session on this page is the Reconcile's to delete."),
		Result:     sfn.Result_FromObject(&map[string]interface{}{"value": map[string]interface{}{"deleted": []string{}, "gone": []string{}, "kept": []string{}}}),
		ResultPath: jsii.String(ReconcileDeletedPath),
	})
	placeEach := sfn.NewMap(c, jsii.String(StatePlaceEachInstance), &sfn.MapProps{
		Comment:        jsii.String("Places each instance with an unmirrored source interface by a placement execution of its own, a few at a time."),
		ItemsPath:      jsii.String(page + ".place"),
		MaxConcurrency: jsii.Number(props.MaxConcurrency),
		ResultPath:     jsii.String(ReconcileResultsPath),
	})
	placeEach.ItemProcessor(placeInstance(c, props), nil)
	tally := task(workflow.ReconcileSteps[2], map[string]interface{}{
		"page":    sfn.JsonPath_StringAt(jsii.String(page)),
		"results": sfn.JsonPath_StringAt(jsii.String(ReconcileResultsPath)),
		"deleted": sfn.JsonPath_StringAt(jsii.String(ReconcileDeletedPath + ".value")),
	}, "$.tally")
	// The totals become the whole state: the next page's input, or the summary.
	tally.Next(sfn.NewPass(c, jsii.String("NextPage"), &sfn.PassProps{
		Comment:   jsii.String("Keeps only the state the next page is listed in: what started the Reconcile, the next token, the totals."),
		InputPath: jsii.String("$.tally.value"),
	})).Next(sfn.NewChoice(c, jsii.String(StateMorePages), &sfn.ChoiceProps{
		Comment: jsii.String("Lists the next page of running instances, or ends with the totals."),
	}).
		When(sfn.Condition_StringEquals(jsii.String("$.nextToken"), jsii.String("")), sfn.NewSucceed(c, jsii.String(StateReconciled), &sfn.SucceedProps{
			Comment: jsii.String("Every page is done: the output is the totals (placed, failed, skipped, deleted)."),
		}), nil).
		Otherwise(list))

	list.Next(sfn.NewChoice(c, jsii.String(StateAnyStale), &sfn.ChoiceProps{
		Comment: jsii.String("Deletes the page's stale sessions that no placement deletes, when there are any."),
	}).
		When(sfn.Condition_IsPresent(jsii.String(page+".delete[0]")), del, nil).
		Otherwise(none))
	del.Next(placeEach)
	none.Next(placeEach)
	placeEach.Next(tally)

	smProps := &sfn.StateMachineProps{
		Comment:          jsii.String("Finds the running instances that are not mirrored, or have stale sessions, page by page, and places each again."),
		DefinitionBody:   sfn.DefinitionBody_FromChainable(list),
		StateMachineType: sfn.StateMachineType_STANDARD,
		Logs: &sfn.LogOptions{
			Destination:          props.LogGroup,
			Level:                sfn.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(true),
		},
		TracingEnabled: jsii.Bool(true),
		Timeout:        awscdk.Duration_Seconds(jsii.Number(ReconcileTimeout)),
	}
	return sfn.NewStateMachine(c, jsii.String("StateMachine"), smProps), nil
}

// placeInstance is the Map's iterator: start the instance's placement and
// wait for it (startExecution.sync:2, so its output is JSON), then record
// how it ended. A placement that ran and failed ends the Task with
// States.TaskFailed; its interfaces are in the dead-letter queue by its own
// execution. One that could not be started sends a message of its own.
func placeInstance(c constructs.Construct, props ReconcileProps) sfn.IChainable {
	result := func(name, comment, outcome string, extra map[string]interface{}) sfn.Pass {
		params := map[string]interface{}{
			"instanceId": sfn.JsonPath_StringAt(jsii.String("$.instanceId")),
			"outcome":    outcome,
		}
		for k, v := range extra {
			params[k] = v
		}
		return sfn.NewPass(c, jsii.String(name), &sfn.PassProps{Comment: jsii.String(comment), Parameters: &params})
	}
	start := tasks.NewStepFunctionsStartExecution(c, jsii.String(StateStartPlacement), &tasks.StepFunctionsStartExecutionProps{
		Comment:            jsii.String("Starts the instance's placement, named reconcile-<instance>-<this Reconcile's start>, and waits for it to end."),
		StateMachine:       props.Placement,
		IntegrationPattern: sfn.IntegrationPattern_RUN_JOB,
		Name:               sfn.JsonPath_StringAt(jsii.String("$.name")),
		Input:              sfn.TaskInput_FromJsonPathAt(jsii.String("$.input")),
		ResultSelector: &map[string]interface{}{
			"status": sfn.JsonPath_StringAt(jsii.String("$.Status")),
			"output": sfn.JsonPath_StringAt(jsii.String("$.Output")),
		},
		ResultPath: jsii.String("$.execution"),
	})
	start.AddRetry(ReconcileStartRetry.props())
	start.AddCatch(result(StatePlacementDidNotSucceed, "The placement failed, timed out or was aborted; its failed interfaces are in the dead-letter queue.",
		workflow.ReconcileFailed, map[string]interface{}{"error": sfn.JsonPath_StringAt(jsii.String(FailureResultPath + ".Error"))}),
		&sfn.CatchProps{Errors: jsii.Strings("States.TaskFailed"), ResultPath: jsii.String(FailureResultPath)})
	notStarted := result(StatePlacementNotStarted, "The placement could not be started; the dead-letter queue has why.",
		workflow.ReconcileFailed, map[string]interface{}{"error": sfn.JsonPath_StringAt(jsii.String("$.error"))})
	// The message restarts the instance's placement: its instance, and the
	// placement's input rather than the Reconcile's.
	msg := deadLetterMessage(StateStartPlacement, FailureResultPath+".Error", FailureResultPath+".Cause")
	delete(*msg, "networkInterfaceId")
	(*msg)["input"] = sfn.JsonPath_StringAt(jsii.String("$.input"))
	send := sendToDeadLetterQueue(c, StateSendStartToDeadLetterQueue, props.DeadLetterQueue)
	send.AddCatch(notStarted, catchAll(DeadLetterFailureResultPath))
	start.AddCatch(sfn.NewPass(c, jsii.String(FailedState(StateStartPlacement)), &sfn.PassProps{
		Comment:    jsii.String("Builds the dead-letter message of a placement StartExecution refused."),
		Parameters: msg,
	}).Next(send).Next(notStarted), catchAll(FailureResultPath))

	// The placement's output has anyCreated and anyExists when its Map ran
	// (Placed, or NothingToMirror after it), and not when the instance as
	// a whole had nothing to mirror; a Choice rule on a missing path fails
	// the execution, so presence is tested first, alone.
	mirrored := result(StatePlacementSucceeded, "The placement mirrored the instance.", workflow.ReconcilePlaced, nil)
	nothing := result(StatePlacementNothingToDo, "The placement found nothing to mirror (the instance is gone, opted out, or out of scope now).",
		workflow.ReconcileSkipped, nil)
	return start.Next(sfn.NewChoice(c, jsii.String(StateHowItEnded), &sfn.ChoiceProps{
		Comment: jsii.String("Reads whether the placement reached its interfaces."),
	}).
		When(sfn.Condition_IsPresent(jsii.String("$.execution.output.anyCreated")), sfn.NewChoice(c, jsii.String(StateAnyMirrored), &sfn.ChoiceProps{
			Comment: jsii.String("Placed when some interface is mirrored (created or already), else it had nothing to do."),
		}).
			When(sfn.Condition_Or(
				sfn.Condition_BooleanEquals(jsii.String("$.execution.output.anyCreated"), jsii.Bool(true)),
				sfn.Condition_BooleanEquals(jsii.String("$.execution.output.anyExists"), jsii.Bool(true)),
			), mirrored, nil).
			Otherwise(nothing), nil).
		Otherwise(nothing))
}
