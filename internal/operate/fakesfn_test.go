package operate

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// failedCause is the cause of an execution the fake fails: one interface
// could not be placed.
const failedCause = `1 source interface(s) could not be placed, each sent to the dead-letter queue with its reason: ["eni-0a1b2c3d4e5f60718 at FilterBySecurityGroup: NoReachableSensor"]`

// fakeSFN starts executions in memory; each ends at once with the status
// its instance is given in outcome (SUCCEEDED when not listed). The retry
// path calls only StartExecution and DescribeExecution; any other call
// reaches the nil embedded interface and fails the test loudly.
type fakeSFN struct {
	StepFunctions
	mu      sync.Mutex
	outcome map[string]sfntypes.ExecutionStatus
	started []sfn.StartExecutionInput
	status  map[string]sfntypes.ExecutionStatus
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn, err := ExecutionARN(aws.ToString(in.StateMachineArn), aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	if _, dup := f.status[arn]; dup {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: '" + arn + "'")}
	}
	status, ok := f.outcome[InstanceFromInput(aws.ToString(in.Input))]
	if !ok {
		status = sfntypes.ExecutionStatusSucceeded
	}
	if f.status == nil {
		f.status = map[string]sfntypes.ExecutionStatus{}
	}
	f.status[arn] = status
	f.started = append(f.started, *in)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(time.Now())}, nil
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	status, ok := f.status[aws.ToString(in.ExecutionArn)]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: '" + aws.ToString(in.ExecutionArn) + "'")}
	}
	out := &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: status}
	if status == sfntypes.ExecutionStatusFailed {
		// As PlacementFailed ends an execution one of whose interfaces failed.
		out.Error = aws.String(workflow.ErrorInterfacePlacementFailed)
		out.Cause = aws.String(failedCause)
	}
	return out, nil
}
