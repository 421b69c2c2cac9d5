package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// outputs are what mirrorctl reads to find the deployment.
func (s *Stack) outputs() {
	awscdk.NewCfnOutput(s.Stack, jsii.String(OutputStateMachineARN), &awscdk.CfnOutputProps{
		Description: jsii.String("The placement state machine; mirrorctl run and retry start executions of it."),
		Value:       s.StateMachine.StateMachineArn(),
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String(OutputDeadLetterQueueURL), &awscdk.CfnOutputProps{
		Description: jsii.String("The dead-letter queue mirrorctl failures and retry --from-dlq read."),
		Value:       s.DeadLetterQueue.QueueUrl(),
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String(OutputDeadLetterQueueARN), &awscdk.CfnOutputProps{
		Description: jsii.String("The dead-letter queue's ARN, for IAM policies of its readers."),
		Value:       s.DeadLetterQueue.QueueArn(),
	})
}
