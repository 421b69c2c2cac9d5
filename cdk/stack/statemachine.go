package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
	"github.com/mirrorflow/mirrorflow/statemachine"
)

// DeadLetterRetentionDays is SQS's maximum: a failed placement waits two
// weeks for someone to run mirrorctl retry.
const DeadLetterRetentionDays = 14

// deadLetterQueue is where the state machine sends a workflow.DeadLetter for
// every placement it could not make, and where the EventBridge rule sends an
// event it could not start an execution for (see trigger). SQS-managed
// encryption needs no key policy for Step Functions or EventBridge to send;
// enforceSSL denies plain-HTTP access.
func (s *Stack) deadLetterQueue() {
	s.DeadLetterQueue = awssqs.NewQueue(s.Stack, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(DeadLetterRetentionDays)),
	})
}

// stateMachine builds the placement workflow over the step functions, logging
// every execution (with its data) to a vended-logs group, whose name prefix
// keeps CloudWatch Logs' resource policy from growing with each deployment.
func (s *Stack) stateMachine() error {
	logs := s.logGroup("StateMachineLogs", "/aws/vendedlogs/states/"+*s.StackName()+"-placement")
	fns := make(map[string]awslambda.IFunction, len(workflow.Steps))
	for _, step := range workflow.Steps {
		fns[step.Name] = s.Functions[step.Name]
	}
	sm, err := statemachine.New(s.Stack, "Placement", statemachine.Props{
		Functions:       fns,
		DeadLetterQueue: s.DeadLetterQueue,
		LogGroup:        logs,
	})
	if err != nil {
		return fmt.Errorf("building the placement state machine: %w", err)
	}
	s.StateMachine = sm
	return nil
}
