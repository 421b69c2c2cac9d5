// Package operate is what mirrorctl knows about running mirrorflow: it turns
// a Step Functions execution history into a per-step trace, failed
// executions and dead-letter messages into one failure row per instance or
// source interface, and both into tables and JSON; and it starts, waits for,
// redrives and retries placements through narrow interfaces that the SDK
// clients satisfy.
package operate

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// StepFunctions holds only the Step Functions operations mirrorctl calls,
// with the SDK's exact signatures so *sfn.Client satisfies it and the SDK's
// paginators accept it.
type StepFunctions interface {
	sfn.GetExecutionHistoryAPIClient
	sfn.ListExecutionsAPIClient
	StartExecution(ctx context.Context, params *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, params *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	RedriveExecution(ctx context.Context, params *sfn.RedriveExecutionInput, optFns ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error)
}

// Queue holds only the SQS operations mirrorctl calls on the dead-letter queue.
type Queue interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, params *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, params *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Stacks holds only the CloudFormation operation mirrorctl calls: reading
// the deployed stack's outputs.
type Stacks interface {
	cloudformation.DescribeStacksAPIClient
}

// Targets holds only the EC2 operations drain and undrain call: reading a
// traffic mirror target and its sessions, and setting or removing its
// draining tag.
type Targets interface {
	ec2.DescribeTrafficMirrorTargetsAPIClient
	ec2.DescribeTrafficMirrorSessionsAPIClient
	CreateTags(ctx context.Context, params *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(ctx context.Context, params *ec2.DeleteTagsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
}

var (
	_ StepFunctions = (*sfn.Client)(nil)
	_ Queue         = (*sqs.Client)(nil)
	_ Stacks        = (*cloudformation.Client)(nil)
	_ Targets       = (*ec2.Client)(nil)
)
