package ec2sim

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Region is the Region a simulator's clients sign for; the simulator serves
// one account in one Region and checks no signature.
const Region = "us-east-1"

// NewClient returns a real EC2 client of the simulator served at endpoint
// (what Start returned), so that the caller exercises the SDK's serializers,
// XML deserializers, paginators and retryer as a Lambda would. It signs with
// fixed dummy credentials, so the SDK never looks for real ones; optFns may
// change anything else (the retryer, the HTTP client, the Region).
func NewClient(endpoint string, optFns ...func(*ec2.Options)) *ec2.Client {
	opts := ec2.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		// Dummy keys: the SDK signs every request, and the simulator checks none.
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEC2SIMULATOR", "ec2sim-checks-no-signature", ""),
	}
	return ec2.New(opts, optFns...)
}
