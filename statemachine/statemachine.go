// Package statemachine defines the placement workflow with the CDK's Step
// Functions constructs: one Lambda Task per workflow step, the Choice that
// ends early when the instance needs no session, and a dead-letter path that
// turns any failure into a message on SQS before the execution fails.
//
// The retry policy lives here and only here, keyed by the error type names
// of package steperr: transient names are retried with backoff and full
// jitter, Lambda service errors briefly, terminal names never.
package statemachine

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Names of the states that are not workflow steps. mirrorctl and the
// console show them, so they say how the placement ended. State names are
// unique across the whole definition, the Map's iterator included.
const (
	// StateInstanceOutcome is the Choice after CheckExistingSession: an
	// instance that is gone, a sensor or opted out has nothing to place.
	StateInstanceOutcome = "NeedsPlacement"
	// StateNothingToMirror ends an execution whose instance must not be mirrored.
	StateNothingToMirror = "NothingToMirror"
	// StatePlaceEachInterface is the Map that places the source interfaces,
	// one at a time, each on its own path in the console.
	StatePlaceEachInterface = "PlaceEachInterface"
	// StateOutcome is the iterator's first state: the Choice that ends an
	// interface's placement when CheckExistingSession decided it.
	StateOutcome = "NeedsSession"
	// StateAlreadyMirrored ends an interface already mirrored.
	StateAlreadyMirrored = "AlreadyMirrored"
	// StateInterfaceSkipped ends an interface with nothing to do (out of
	// scope, or not a source EC2 can mirror).
	StateInterfaceSkipped = "InterfaceSkipped"
	// StateInterfaceRejected builds the dead-letter message of an interface
	// CheckExistingSession failed (workflow.ErrorNoRoomOnSource).
	StateInterfaceRejected = "InterfaceRejected"
	// StateMirrored ends an interface whose session was created.
	StateMirrored = "Mirrored"
	// StateSessionOutcome is the Choice after CreateSession: the instance may
	// have gone while it was being placed.
	StateSessionOutcome = "SessionOutcome"
	// StateInstanceGone ends an interface whose instance was terminated while it was placed.
	StateInstanceGone = "InstanceGone"
	// StateSendInterfaceToDeadLetterQueue is the SQS Task every failed
	// interface passes through, inside the Map.
	StateSendInterfaceToDeadLetterQueue = "SendInterfaceToDeadLetterQueue"
	// StateInterfaceFailed ends a failed interface's iteration with outcome
	// failed, so the other interfaces are still placed.
	StateInterfaceFailed = "InterfaceFailed"
	// StateSummarize reads the Map's outcomes: did any interface fail, is
	// any mirrored?
	StateSummarize = "SummarizeInterfaces"
	// StatePlacementOutcome is the Choice on those answers.
	StatePlacementOutcome = "PlacementOutcome"
	// StateDescribeFailedInterfaces names the failed interfaces in the
	// execution's cause, before PlacementFailed.
	StateDescribeFailedInterfaces = "DescribeFailedInterfaces"
	// StatePlaced ends an execution none of whose interfaces failed and at
	// least one of which is mirrored; one whose interfaces all had nothing to
	// do ends at NothingToMirror.
	StatePlaced = "Placed"
	// StateSendToDeadLetterQueue sends the message of a failure of the
	// instance as a whole (CheckExistingSession's).
	StateSendToDeadLetterQueue = "SendToDeadLetterQueue"
	// StatePlacementFailed fails the execution: with the error and cause of
	// CheckExistingSession's failure, or InterfaceErrorName when interfaces failed.
	StatePlacementFailed = "PlacementFailed"
)

// InterfaceErrorName is the execution's error when one or more source
// interfaces could not be placed.
const InterfaceErrorName = workflow.ErrorInterfacePlacementFailed

// InterfacesPath is where the instance's source interfaces are, for the
// Map, and PlacedPath where the Map puts what became of them.
const (
	InterfacesPath = "$.interfaces"
	PlacedPath     = "$.placed"
)

// FailureResultPath is where a Task's Catch puts the caught error
// ({"Error", "Cause"}), beside the state's input, so the dead-letter message
// can carry both.
const FailureResultPath = "$.failure"

// DeadLetterFailureResultPath is where the dead-letter send's own Catch puts
// its error, so the message's error and cause stay at $.error and $.cause for
// PlacementFailed.
const DeadLetterFailureResultPath = "$.deadLetterFailure"

// FailedState names the Pass state that builds step's dead-letter message.
func FailedState(step string) string { return step + "Failed" }

// Retry is one retrier, as the tests and the report read it back.
type Retry struct {
	Errors      []string
	Interval    int // seconds
	BackoffRate float64
	MaxAttempts int
	MaxDelay    int // seconds; 0 means none
}

// Retry budgets, sized for the users' worst day: an Auto Scaling group
// starting 1,000 instances at once, one execution each, all reaching the
// same steps together.
//
//   - EC2 (Request throttling for the Amazon EC2 API): every action has its
//     own bucket. CreateTrafficMirrorSession is mutating, 50 tokens refilled
//     at 5/s, so the M-th session of a burst cannot be made before
//     (M-50)/5 s: 190 s for 1,000. The Describes are non-mutating, 100
//     tokens at 20/s each; the busiest, DescribeTrafficMirrorSessions, is
//     called 2-3 times per placement, (3,000-100)/20 = 145 s for 1,000, so
//     creates stay the bottleneck and a burst lasts about 190 s.
//   - Lambda (Lambda quotas; Configuring reserved concurrency): each step's
//     function has reserved concurrency (cdk.json, default 20; 7 x 20 = 140
//     of the account's default 1,000, which must keep 100 unreserved), so a
//     burst never starves the account's other functions. At most 20
//     invocations of a step call EC2 at once, each retrying throttled calls
//     inside with the SDK's standard retryer (steps.EC2MaxAttempts); every
//     other invocation is refused at once with Lambda.TooManyRequestsException.
//   - Step Functions (Step Functions service quotas): StartExecution allows a
//     burst of 1,300 (800 outside the largest Regions), and state transitions
//     5,000 a second; a placement makes about 10, so neither binds.
//
// An execution therefore waits out the drain of everything ahead of it, up
// to the whole 190 s, mostly refused by Lambda (each step's 20 environments
// are taken) and sometimes throttled by EC2 once it holds one. Refusals are
// retried as polls: FULL jitter draws each wait from [0, cap], so a late
// execution needs many of them to be sure of its turn. LambdaThrottlingRetry
// allows 30 retries, up to 1+2+4+8+16+25x20 = 531 s of waits (about 265 s on
// average, well past the drain); TransientRetry 15, up to 231 s, as each
// invocation already retries EC2 five times inside. Capping each wait at
// 20 s keeps the last placements of a burst from sleeping long after EC2
// has room: a 1,000-instance burst measured 1.20-1.30x the create-rate
// bound with waits of up to 60 s, and dead-lettered 7-8 placements whose
// ten Lambda retries ran out (BENCHMARKS.md).

// ExecutionTimeout bounds one placement. The budgets above sum to about
// 13 minutes of waiting in the worst case; with seven steps, each invocation
// bounded by its 60 s timeout, past an hour something is stuck, and the
// execution ends TIMED_OUT, which `mirrorctl redrive` resumes at the step
// that hung.
const ExecutionTimeout = time.Hour

// TransientRetry retries the errors a step reports when EC2 throttles or is
// unavailable after the SDK's own retries.
var TransientRetry = Retry{Errors: steperr.Transient(), Interval: 1, BackoffRate: 2, MaxAttempts: 15, MaxDelay: 20}

// LambdaThrottlingRetry retries invocations the Lambda service could not
// take in time: every execution environment within the function's reserved
// concurrency was busy, as it is through a burst.
var LambdaThrottlingRetry = Retry{Errors: steperr.LambdaThrottling(), Interval: 1, BackoffRate: 2, MaxAttempts: 30, MaxDelay: 20}

// LambdaServiceRetry retries failures of the Lambda service itself, as AWS
// recommends for every Lambda Task; we set it ourselves rather than through
// retryOnServiceExceptions so that it has jitter and is visible here.
var LambdaServiceRetry = Retry{Errors: steperr.LambdaServiceErrors(), Interval: 1, BackoffRate: 2, MaxAttempts: 3}

// DeadLetterRetry retries the SQS send. States.TaskFailed matches every
// error the sqs:sendMessage integration reports (throttling, a KMS hiccup, a
// network failure) without guessing their prefixed names; a permanent one
// (a deleted queue) costs three quick tries before the execution fails anyway.
var DeadLetterRetry = Retry{Errors: []string{"States.TaskFailed"}, Interval: 1, BackoffRate: 2, MaxAttempts: 3}

// SensorFullResultPath is where CreateSession's Catch of SensorFull puts the
// error, beside the payload, for PickLeastLoaded to read on its next pass.
const SensorFullResultPath = "$.sensorFull"

func (r Retry) props() *sfn.RetryProps {
	p := &sfn.RetryProps{
		Errors:         jsii.Strings(r.Errors...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(r.Interval)),
		BackoffRate:    jsii.Number(r.BackoffRate),
		MaxAttempts:    jsii.Number(r.MaxAttempts),
		JitterStrategy: sfn.JitterType_FULL,
	}
	if r.MaxDelay > 0 {
		p.MaxDelay = awscdk.Duration_Seconds(jsii.Number(r.MaxDelay))
	}
	return p
}

// Props are what the workflow runs on.
type Props struct {
	// Functions holds each step's Lambda, keyed by step name (workflow.Steps).
	Functions map[string]awslambda.IFunction
	// DeadLetterQueue receives a workflow.DeadLetter message for every placement that failed.
	DeadLetterQueue awssqs.IQueue
	// LogGroup receives the execution history at level ALL, with execution
	// data, so a failed placement can be read without the console.
	LogGroup awslogs.ILogGroup
	// StateMachineName is optional; CloudFormation generates one when it is empty.
	StateMachineName string
}

// New builds the placement state machine in a construct named id. It fails
// when a step has no function, so a stack cannot deploy a workflow with a hole.
func New(scope constructs.Construct, id string, props Props) (sfn.StateMachine, error) {
	if props.DeadLetterQueue == nil {
		return nil, fmt.Errorf("building state machine %s: no dead-letter queue", id)
	}
	if props.LogGroup == nil {
		return nil, fmt.Errorf("building state machine %s: no log group", id)
	}
	for _, step := range workflow.Steps {
		if props.Functions[step.Name] == nil {
			return nil, fmt.Errorf("building state machine %s: no function for step %s", id, step.Name)
		}
	}
	for name := range props.Functions {
		if _, ok := workflow.StepNamed(name); !ok {
			return nil, fmt.Errorf("building state machine %s: function given for unknown step %q", id, name)
		}
	}

	// The states live in their own construct so their ids (the state names)
	// cannot collide with the stack's other constructs.
	c := constructs.NewConstruct(scope, jsii.String(id))

	failed := placementFailed(c)
	check := stepTask(c, workflow.Steps[0], props.Functions[workflow.StepCheckExistingSession], true)
	check.AddCatch(failedState(c, workflow.Steps[0], true).Next(deadLetterPath(c, props.DeadLetterQueue, failed)), catchAll(FailureResultPath))

	placeEach := sfn.NewMap(c, jsii.String(StatePlaceEachInterface), &sfn.MapProps{
		Comment:   jsii.String("Places each source interface in turn; a failed one goes to the dead-letter queue and the others are still placed."),
		ItemsPath: jsii.String(InterfacesPath),
		// One at a time: an instance's interfaces are few, and one after
		// another each sees the sessions the previous ones made.
		MaxConcurrency: jsii.Number(1),
		ResultSelector: &map[string]interface{}{
			"interfaces": sfn.JsonPath_EntirePayload(),
			"outcomes":   sfn.JsonPath_StringAt(jsii.String("$[*].outcome")),
		},
		ResultPath: jsii.String(PlacedPath),
	})
	placeEach.ItemProcessor(interfaceChain(c, props), nil)

	outcomes := sfn.JsonPath_StringAt(jsii.String(PlacedPath + ".outcomes"))
	summarize := sfn.NewPass(c, jsii.String(StateSummarize), &sfn.PassProps{
		Comment: jsii.String("Reads whether any source interface failed (each failed one is in the dead-letter queue already) and whether any is mirrored."),
		Parameters: &map[string]interface{}{
			"instanceId":  sfn.JsonPath_StringAt(jsii.String("$.instanceId")),
			"executionId": sfn.JsonPath_ExecutionId(),
			"interfaces":  sfn.JsonPath_StringAt(jsii.String(PlacedPath + ".interfaces")),
			"anyFailed":   sfn.JsonPath_ArrayContains(outcomes, jsii.String(string(workflow.OutcomeFailed))),
			"anyCreated":  sfn.JsonPath_ArrayContains(outcomes, jsii.String(string(workflow.OutcomeCreated))),
			"anyExists":   sfn.JsonPath_ArrayContains(outcomes, jsii.String(string(workflow.OutcomeExists))),
		},
	})
	nothing := sfn.NewSucceed(c, jsii.String(StateNothingToMirror), &sfn.SucceedProps{
		Comment: jsii.String("Nothing of the instance is to be mirrored: it is gone, not running, a sensor, opted out, or none of its interfaces is in scope."),
	})
	outcome := sfn.NewChoice(c, jsii.String(StatePlacementOutcome), &sfn.ChoiceProps{
		Comment: jsii.String("Fails the execution when any source interface failed, so that it shows as failed."),
	})
	outcome.
		When(sfn.Condition_BooleanEquals(jsii.String("$.anyFailed"), jsii.Bool(true)), describeFailedInterfaces(c).Next(failed), nil).
		When(sfn.Condition_Or(
			sfn.Condition_BooleanEquals(jsii.String("$.anyCreated"), jsii.Bool(true)),
			sfn.Condition_BooleanEquals(jsii.String("$.anyExists"), jsii.Bool(true)),
		), sfn.NewSucceed(c, jsii.String(StatePlaced), &sfn.SucceedProps{
			Comment: jsii.String("Every source interface in scope is mirrored; the others had nothing to do."),
		}), nil).
		Otherwise(nothing)

	check.Next(sfn.NewChoice(c, jsii.String(StateInstanceOutcome), &sfn.ChoiceProps{
		Comment: jsii.String("Ends the placement when the instance as a whole has nothing to mirror."),
	}).
		When(outcomeIs(workflow.OutcomeSkipped), nothing, nil).
		Otherwise(placeEach))
	placeEach.Next(summarize).Next(outcome)

	smProps := &sfn.StateMachineProps{
		Comment:          jsii.String("Places a VPC Traffic Mirroring session for an instance that started running."),
		DefinitionBody:   sfn.DefinitionBody_FromChainable(check),
		StateMachineType: sfn.StateMachineType_STANDARD,
		Logs: &sfn.LogOptions{
			Destination:          props.LogGroup,
			Level:                sfn.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(true),
		},
		TracingEnabled: jsii.Bool(true),
		Timeout:        awscdk.Duration_Seconds(jsii.Number(ExecutionTimeout.Seconds())),
	}
	if props.StateMachineName != "" {
		smProps.StateMachineName = jsii.String(props.StateMachineName)
	}
	return sfn.NewStateMachine(c, jsii.String("StateMachine"), smProps), nil
}

// outcomeIs tests $.outcome only when it is present: a Choice rule on a
// missing path fails the execution with States.Runtime, and the payload
// omits outcome while the placement goes on.
func outcomeIs(o workflow.Outcome) sfn.Condition {
	return sfn.Condition_And(
		sfn.Condition_IsPresent(jsii.String("$.outcome")),
		sfn.Condition_StringEquals(jsii.String("$.outcome"), jsii.String(string(o))),
	)
}

// interfaceChain is the Map's iterator: one source interface's placement,
// from the Choice on what CheckExistingSession decided, through the
// candidate steps, to how it ended. A failure of any step, or an interface
// CheckExistingSession failed, sends its own dead-letter message and ends
// the iteration as failed, so that the instance's other interfaces are
// placed still.
func interfaceChain(c constructs.Construct, props Props) sfn.IChainable {
	deadLetter := interfaceDeadLetterPath(c, props.DeadLetterQueue)
	invoke := make(map[string]tasks.LambdaInvoke, len(workflow.Steps)-1)
	for _, step := range workflow.Steps[1:] {
		invoke[step.Name] = stepTask(c, step, props.Functions[step.Name], false)
	}
	// A full sensor sends the placement back to pick another: the loop the
	// console draws from CreateSession to PickLeastLoaded. Catchers are
	// tried in order, so this one comes before the dead-letter catch-all.
	invoke[workflow.StepCreateSession].AddCatch(invoke[workflow.StepPickLeastLoaded], &sfn.CatchProps{
		Errors:     jsii.Strings(steperr.RePick()...),
		ResultPath: jsii.String(SensorFullResultPath),
	})
	for _, step := range workflow.Steps[1:] {
		invoke[step.Name].AddCatch(failedState(c, step, false).Next(deadLetter), catchAll(FailureResultPath))
	}

	rejected := sfn.NewPass(c, jsii.String(StateInterfaceRejected), &sfn.PassProps{
		Comment:    jsii.String("Builds the dead-letter message of an interface CheckExistingSession failed: no room for another session on it."),
		Parameters: deadLetterMessage(workflow.StepCheckExistingSession, "$.error", "$.reason"),
	})
	needs := sfn.NewChoice(c, jsii.String(StateOutcome), &sfn.ChoiceProps{
		Comment: jsii.String("Ends the interface's placement when CheckExistingSession decided it."),
	}).
		When(outcomeIs(workflow.OutcomeExists), sfn.NewSucceed(c, jsii.String(StateAlreadyMirrored), &sfn.SucceedProps{
			Comment: jsii.String("The interface is already mirrored to a candidate of its rule."),
		}), nil).
		When(outcomeIs(workflow.OutcomeSkipped), sfn.NewSucceed(c, jsii.String(StateInterfaceSkipped), &sfn.SucceedProps{
			Comment: jsii.String("Nothing to do: out of scope, or not a source EC2 can mirror."),
		}), nil).
		When(outcomeIs(workflow.OutcomeFailed), rejected.Next(deadLetter), nil).
		Otherwise(invoke[workflow.StepGatherCandidates])

	var chain sfn.INextable = invoke[workflow.StepGatherCandidates]
	for _, step := range workflow.Steps[2:] {
		chain.Next(invoke[step.Name])
		chain = invoke[step.Name]
	}
	chain.Next(sfn.NewChoice(c, jsii.String(StateSessionOutcome), &sfn.ChoiceProps{
		Comment: jsii.String("Ends the placement as nothing to do when the instance was terminated while it was being placed."),
	}).
		When(outcomeIs(workflow.OutcomeSkipped), sfn.NewSucceed(c, jsii.String(StateInstanceGone), &sfn.SucceedProps{
			Comment: jsii.String("The instance was terminated while it was being placed."),
		}), nil).
		Otherwise(sfn.NewSucceed(c, jsii.String(StateMirrored), &sfn.SucceedProps{
			Comment: jsii.String("CreateSession created the session, or found one another execution made meanwhile."),
		})))
	return needs
}

// stepTask is step's Lambda Task with its retriers. The first step receives
// the execution input as it came, with the execution id; the others receive
// one interface's placement payload. Catches are the caller's: their order
// matters.
func stepTask(scope constructs.Construct, step workflow.Step, fn awslambda.IFunction, first bool) tasks.LambdaInvoke {
	payload := sfn.TaskInput_FromJsonPathAt(jsii.String("$"))
	if first {
		// workflow.Start
		payload = sfn.TaskInput_FromObject(&map[string]interface{}{
			"input":       sfn.JsonPath_EntirePayload(),
			"executionId": sfn.JsonPath_ExecutionId(),
		})
	}
	task := tasks.NewLambdaInvoke(scope, jsii.String(step.Name), &tasks.LambdaInvokeProps{
		Comment:        jsii.String(step.Doc),
		LambdaFunction: fn,
		Payload:        payload,
		OutputPath:     jsii.String("$.Payload"),
		// Our own Lambda service retrier below replaces CDK's, which has no jitter.
		RetryOnServiceExceptions: jsii.Bool(false),
	})
	task.AddRetry(TransientRetry.props())
	task.AddRetry(LambdaThrottlingRetry.props())
	task.AddRetry(LambdaServiceRetry.props())
	return task
}

// catchAll catches every error, putting it at resultPath beside the input.
func catchAll(resultPath string) *sfn.CatchProps {
	return &sfn.CatchProps{Errors: jsii.Strings(*sfn.Errors_ALL()), ResultPath: jsii.String(resultPath)}
}

// failedState builds step's workflow.DeadLetter from its input, the caught
// error and the context object. The first step's input is the raw execution
// input, which has no instanceId to copy; the others' payload always has
// one, and the source interface it places.
func failedState(scope constructs.Construct, step workflow.Step, first bool) sfn.Pass {
	msg := deadLetterMessage(step.Name, FailureResultPath+".Error", FailureResultPath+".Cause")
	if first {
		delete(*msg, "instanceId")
		delete(*msg, "networkInterfaceId")
	}
	return sfn.NewPass(scope, jsii.String(FailedState(step.Name)), &sfn.PassProps{
		Comment:    jsii.String("Builds the dead-letter message for a failure of " + step.Name + "."),
		Parameters: msg,
	})
}

// deadLetterMessage is a workflow.DeadLetter for step, its error and cause
// read at the given paths of the state's input (an interface's payload).
func deadLetterMessage(step, errorPath, causePath string) *map[string]interface{} {
	return &map[string]interface{}{
		"step":               step,
		"instanceId":         sfn.JsonPath_StringAt(jsii.String("$.instanceId")),
		"networkInterfaceId": sfn.JsonPath_StringAt(jsii.String("$.source.networkInterfaceId")),
		"executionId":        sfn.JsonPath_ExecutionId(),
		"input":              sfn.JsonPath_ExecutionInput(),
		"error":              sfn.JsonPath_StringAt(jsii.String(errorPath)),
		"cause":              sfn.JsonPath_StringAt(jsii.String(causePath)),
		"startTime":          sfn.JsonPath_ExecutionStartTime(),
	}
}

// sendToDeadLetterQueue is the SQS Task that sends a workflow.DeadLetter
// built by the state before it, with its retrier.
func sendToDeadLetterQueue(scope constructs.Construct, name string, queue awssqs.IQueue) tasks.SqsSendMessage {
	send := tasks.NewSqsSendMessage(scope, jsii.String(name), &tasks.SqsSendMessageProps{
		Comment:     jsii.String("Sends the workflow.DeadLetter message, so mirrorctl can list and retry the placement."),
		Queue:       queue,
		MessageBody: sfn.TaskInput_FromJsonPathAt(jsii.String("$")),
		ResultPath:  sfn.JsonPath_DISCARD(),
	})
	send.AddRetry(DeadLetterRetry.props())
	return send
}

// deadLetterPath is the tail of a failure of the instance as a whole: send
// the message, then fail the execution with its error and cause. If the
// send itself fails after its retries, the execution still fails with the
// original error, which the ExecutionsFailed alarm reports.
func deadLetterPath(scope constructs.Construct, queue awssqs.IQueue, failed sfn.Fail) sfn.IChainable {
	send := sendToDeadLetterQueue(scope, StateSendToDeadLetterQueue, queue)
	send.AddCatch(failed, catchAll(DeadLetterFailureResultPath))
	return send.Next(failed)
}

// interfaceDeadLetterPath is the tail of a failed interface, inside the
// Map: send its message, then end the iteration with outcome failed. A send
// that fails after its retries ends it failed all the same: the execution
// fails after the Map, and the ExecutionsFailed alarm reports it.
func interfaceDeadLetterPath(scope constructs.Construct, queue awssqs.IQueue) sfn.IChainable {
	ended := sfn.NewPass(scope, jsii.String(StateInterfaceFailed), &sfn.PassProps{
		Comment: jsii.String("Ends the interface's placement as failed; the instance's other interfaces are placed still."),
		Parameters: &map[string]interface{}{
			"instanceId":         sfn.JsonPath_StringAt(jsii.String("$.instanceId")),
			"networkInterfaceId": sfn.JsonPath_StringAt(jsii.String("$.networkInterfaceId")),
			"outcome":            string(workflow.OutcomeFailed),
			"failedStep":         sfn.JsonPath_StringAt(jsii.String("$.step")),
			"error":              sfn.JsonPath_StringAt(jsii.String("$.error")),
			"cause":              sfn.JsonPath_StringAt(jsii.String("$.cause")),
			"summary": sfn.JsonPath_Format(jsii.String("{} at {}: {}"),
				sfn.JsonPath_StringAt(jsii.String("$.networkInterfaceId")), sfn.JsonPath_StringAt(jsii.String("$.step")), sfn.JsonPath_StringAt(jsii.String("$.error"))),
		},
	})
	send := sendToDeadLetterQueue(scope, StateSendInterfaceToDeadLetterQueue, queue)
	send.AddCatch(ended, catchAll(DeadLetterFailureResultPath))
	return send.Next(ended)
}

// FailedInterfacesPath selects, from SummarizeInterfaces' output, the
// one-line summary of each failed interface ("eni-… at <step>: <error>").
// It is a JSONPath filter, which InputPath allows (Paths, in Using JSONPath
// paths); it runs only when some interface failed, so it never selects
// nothing.
const FailedInterfacesPath = "$.interfaces[?(@.outcome == 'failed')].summary"

// describeFailedInterfaces gives PlacementFailed the execution's error and
// a cause that names every failed interface, so the console's execution
// page and ListExecutions say which without opening the history.
func describeFailedInterfaces(scope constructs.Construct) sfn.Pass {
	failedOnes := sfn.JsonPath_EntirePayload()
	return sfn.NewPass(scope, jsii.String(StateDescribeFailedInterfaces), &sfn.PassProps{
		Comment:   jsii.String("Names the source interfaces that could not be placed; each is in the dead-letter queue with its reason."),
		InputPath: jsii.String(FailedInterfacesPath),
		Parameters: &map[string]interface{}{
			"error": InterfaceErrorName,
			"cause": sfn.JsonPath_Format(jsii.String("{} source interface(s) could not be placed, each sent to the dead-letter queue with its reason: {}"),
				sfn.JsonPath_ArrayLength(failedOnes), sfn.JsonPath_JsonToString(failedOnes)),
		},
	})
}

// placementFailed is the Fail state every failed execution ends in, with
// the error and cause at $.error and $.cause: a dead-letter message's, or
// the summary's when interfaces failed.
func placementFailed(scope constructs.Construct) sfn.Fail {
	return sfn.NewFail(scope, jsii.String(StatePlacementFailed), &sfn.FailProps{
		Comment:   jsii.String("The placement could not be made; the dead-letter queue says why."),
		ErrorPath: jsii.String("$.error"),
		CausePath: jsii.String("$.cause"),
	})
}
