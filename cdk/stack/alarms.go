package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"
)

// alarms go off when a placement failed: a message on the dead-letter queue,
// or an execution that failed (including one whose dead-letter send failed
// too, which the queue alarm cannot see).
func (s *Stack) alarms() {
	period := awscdk.Duration_Minutes(jsii.Number(5))
	awscloudwatch.NewAlarm(s.Stack, jsii.String("DeadLetterQueueNotEmpty"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("A placement failed, or EventBridge could not start one, and its dead-letter message waits on the queue: run mirrorctl failures."),
		Metric: s.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    period,
			Statistic: jsii.String("Maximum"),
		}),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	awscloudwatch.NewAlarm(s.Stack, jsii.String("PlacementsFailed"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("A placement execution failed."),
		Metric: s.StateMachine.MetricFailed(&awscloudwatch.MetricOptions{
			Period:    period,
			Statistic: jsii.String("Sum"),
		}),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}
