package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
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
// instance id from its detail); with Interfaces "all", for every instance
// an interface is attached to; with GuardDuty enabled, for every instance
// a GuardDuty finding of at least MinSeverity names.
func (s *Stack) trigger() {
	s.Rule = s.startOn("InstanceRunning", "Starts a mirrorflow placement when an EC2 instance enters the running state.", &awsevents.EventPattern{
		Source:     jsii.Strings(EventSource),
		DetailType: jsii.Strings(EventDetailType),
		Detail:     &map[string]interface{}{"state": []string{EventState}},
	})
	cfg := s.props.Config
	if cfg.Interfaces == config.InterfacesAll {
		// With Interfaces "primary" an attached interface is never a source,
		// so the rule would only start placements that change nothing.
		s.AttachRule = s.startOn("InterfaceAttached", "Starts a mirrorflow placement when a network interface is attached to an EC2 instance (Interfaces all).", &awsevents.EventPattern{
			Source:     jsii.Strings(workflow.EventSourceEC2),
			DetailType: jsii.Strings(workflow.EventDetailTypeCloudTrail),
			Detail: &map[string]interface{}{
				"eventSource": []string{workflow.CloudTrailEventSourceEC2},
				"eventName":   []string{workflow.CloudTrailEventAttach},
				// A failed call carries an errorCode and attached nothing.
				"errorCode": awsevents.Match_DoesNotExist(),
			},
		})
	}
	if gd := cfg.GuardDuty; gd != nil && gd.Enabled {
		s.FindingRule = s.startOn("GuardDutyFinding", "Starts a mirrorflow placement under rule "+gd.Rule+" when a GuardDuty finding names an EC2 instance.", &awsevents.EventPattern{
			Source:     jsii.Strings(workflow.EventSourceGuardDuty),
			DetailType: jsii.Strings(workflow.EventDetailTypeGuardDuty),
			Detail: &map[string]interface{}{
				"severity": awsevents.Match_GreaterThanOrEqual(jsii.Number(gd.MinSeverity)),
				"resource": map[string]interface{}{"resourceType": []string{workflow.GuardDutyResourceInstance}},
			},
		})
	}
}

// startOn is a rule that starts the placement state machine with each event
// pattern matches as the execution input. An event EventBridge cannot
// deliver, because StartExecution failed past the retry policy, goes to the
// state machine's own dead-letter queue, so a placement that was never
// started is listed by mirrorctl failures and retried by retry --from-dlq
// like one that failed. The target adds the queue policy that lets this
// rule, and only the stack's rules, send.
func (s *Stack) startOn(id, description string, pattern *awsevents.EventPattern) awsevents.Rule {
	rule := awsevents.NewRule(s.Stack, jsii.String(id), &awsevents.RuleProps{
		Description:  jsii.String(description),
		EventPattern: pattern,
	})
	rule.AddTarget(awseventstargets.NewSfnStateMachine(s.StateMachine, &awseventstargets.SfnStateMachineProps{
		DeadLetterQueue: s.DeadLetterQueue,
		RetryAttempts:   jsii.Number(TriggerRetryAttempts),
		MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(TriggerMaxEventAgeMinutes)),
	}))
	return rule
}
