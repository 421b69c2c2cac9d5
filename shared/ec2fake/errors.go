package ec2fake

import (
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// EC2 error codes the fake answers with, from the EC2 API reference's
// "Error codes" page. Codes mirrorflow itself reacts to are spelled once in
// awserr and reused here.
const (
	CodeDryRunOperation               = awserr.DryRunOperation
	CodeIdempotentParameterMismatch   = awserr.IdempotentParameterMismatch
	CodeInvalidParameterValue         = awserr.InvalidParameterValue
	CodeInvalidParameterCombination   = awserr.InvalidParameterCombination
	CodeRequestLimitExceeded          = awserr.RequestLimitExceeded
	CodeInternalError                 = awserr.InternalError
	CodeUnauthorizedOperation         = awserr.UnauthorizedOperation
	CodeInstanceNotFound              = awserr.InvalidInstanceIDNotFound
	CodeInstanceMalformed             = awserr.InvalidInstanceIDMalformed
	CodeNetworkInterfaceNotFound      = awserr.InvalidNetworkInterfaceNotFound
	CodeGroupNotFound                 = awserr.InvalidGroupNotFound
	CodeTrafficMirrorTargetNotFound   = awserr.InvalidTrafficMirrorTargetID
	CodeTrafficMirrorFilterNotFound   = awserr.InvalidTrafficMirrorFilterID
	CodeSourcesPerTargetLimitExceeded = awserr.TrafficMirrorSourcesPerTarget
	CodeSessionsPerSourceLimitExceed  = awserr.TrafficMirrorSessionsPerSource
	CodeNetworkACLNotFound            = "InvalidNetworkAclID.NotFound"
	CodeSubnetNotFound                = "InvalidSubnetID.NotFound"
	CodeTrafficMirrorSessionNotFound  = "InvalidTrafficMirrorSessionId.NotFound"
	CodePrefixListNotFound            = "InvalidPrefixListID.NotFound"
	CodeInstanceTypeInvalid           = "InvalidInstanceType"
	CodeInvalidPaginationToken        = "InvalidPaginationToken"
	CodeFilterLimitExceeded           = "FilterLimitExceeded"
	CodeMissingParameter              = "MissingParameter"
)

// apiError is an EC2 error as the SDK's deserializer would return it: a
// *smithy.GenericAPIError with EC2's code and message, server-fault codes
// marked as such so retry and classification treat them like the real thing.
func apiError(code, format string, args ...any) error {
	fault := smithy.FaultClient
	switch code {
	case awserr.InternalError, awserr.ServiceUnavailable, awserr.Unavailable:
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: fmt.Sprintf(format, args...), Fault: fault}
}
