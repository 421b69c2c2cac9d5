package stack

import (
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

// trigger starts a placement for every instance that starts running, with
// the event itself as the execution input (CheckExistingSession reads the
// instance id from its detail).
func (s *Stack) trigger() {
	s.Rule = awsevents.NewRule(s.Stack, jsii.String("InstanceRunning"), &awsevents.RuleProps{
		Description: jsii.String("Starts a mirrorflow placement when an EC2 instance enters the running state."),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(EventSource),
			DetailType: jsii.Strings(EventDetailType),
			Detail:     &map[string]interface{}{"state": []string{EventState}},
		},
	})
	s.Rule.AddTarget(awseventstargets.NewSfnStateMachine(s.StateMachine, nil))
}
