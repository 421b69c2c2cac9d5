package elbv2sim

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
)

// NewClient returns a real ELBv2 client of the endpoint Start returned, so
// that the caller exercises the SDK's Query serializer, XML deserializer,
// paginators, typed errors and retryer as a Lambda would. It signs for
// ec2sim.Region with dummy credentials, so the SDK never looks for real
// ones; optFns may change anything else.
func NewClient(endpoint string, optFns ...func(*elasticloadbalancingv2.Options)) *elasticloadbalancingv2.Client {
	return elasticloadbalancingv2.New(elasticloadbalancingv2.Options{
		Region:       ec2sim.Region,
		BaseEndpoint: aws.String(endpoint),
		// Dummy keys: the SDK signs every request, and the simulator checks none.
		Credentials: credentials.NewStaticCredentialsProvider("AKIDELBV2SIMULATOR", "elbv2sim-checks-no-signature", ""),
	}, optFns...)
}
