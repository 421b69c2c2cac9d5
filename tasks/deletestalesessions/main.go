// Command deletestalesessions runs the Reconcile workflow's DeleteStaleSessions step as a Lambda of
// its own, so its IAM role grants only that step's EC2 actions (workflow.ReconcileSteps).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mirrorflow/mirrorflow/shared/steps"
)

func main() {
	lambda.Start(steps.NewFromEnv(context.Background()).DeleteStaleSessions)
}
