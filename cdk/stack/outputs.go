package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/config"
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
	// The JSON the Lambdas read from config.EnvConfig, byte for byte; New
	// has checked that it fits in 4 KB.
	awscdk.NewCfnOutput(s.Stack, jsii.String(OutputConfiguration), &awscdk.CfnOutputProps{
		Description: jsii.String("The configuration the steps run with; mirrorctl snapshot --live records it in the snapshot."),
		Value:       jsii.String(s.Config().Env()[config.EnvConfig]),
	})
}
