package sqsfake

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
)

// Region is the region NewClient's clients sign for.
const Region = "us-east-1"

// NewClient returns a real SQS client of a fake served at endpoint: signed
// with AWS's documented example credentials, with retries off so a test
// counts calls exactly, and with sdktest's HTTP client so that turning
// retries off cannot make it flaky.
func NewClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: 1,
		HTTPClient:       sdktest.HTTPClient(),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, nil //nolint:gosec // G101: AWS's documented example keys; they only sign requests to a loopback fake.
		}),
	})
}
