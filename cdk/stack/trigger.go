package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/jsii-runtime-go"
)

// EventSource, EventDetailType and EventState select the events that start a
// placement: an EC2 instance entering the running state.
const (
	EventSource     = "aws.ec2"
	EventDetailType = "EC2 Instance State-change Notification"
	EventState      = "running"
)

// TriggerRetryAttempts and TriggerMaxEventAgeMinutes are the rule target's
// retry policy for StartExecution. EventBridge's default (185 attempts over
// 24 hours) would hide a throttled or broken trigger for a day; a
// StartExecution throttle clears within minutes, and the errors retries
// cannot fix (the target role refused, the state machine gone) skip the
// retries and go to the dead-letter queue at once, where the queue alarm and
// mirrorctl failures show them within the hour.
const (
	TriggerRetryAttempts      = 8
	TriggerMaxEventAgeMinutes = 60
)

// trigger starts a placement for every instance that starts running, with
// the event itself as the execution input (CheckExistingSession reads the
// instance id from its detail). An event EventBridge cannot deliver, because
// StartExecution failed past the retry policy, goes to the state machine's
// own dead-letter queue, so a placement that was never started is listed by
// mirrorctl failures and retried by retry --from-dlq like one that failed.
// The target adds the queue policy that lets this rule, and only it, send.
func (s *Stack) trigger() {
	s.Rule = awsevents.NewRule(s.Stack, jsii.String("InstanceRunning"), &awsevents.RuleProps{
		Description: jsii.String("Starts a mirrorflow placement when an EC2 instance enters the running state."),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(EventSource),
			DetailType: jsii.Strings(EventDetailType),
			Detail:     &map[string]interface{}{"state": []string{EventState}},
		},
	})
	s.Rule.AddTarget(awseventstargets.NewSfnStateMachine(s.StateMachine, &awseventstargets.SfnStateMachineProps{
		DeadLetterQueue: s.DeadLetterQueue,
		RetryAttempts:   jsii.Number(TriggerRetryAttempts),
		MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(TriggerMaxEventAgeMinutes)),
	}))
}
