// Package awserr is the one place that knows EC2's error codes. Callers ask
// IsX(err) instead of comparing strings, so a code is spelled once.
package awserr

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// EC2 error codes mirrorflow reacts to or the simulator answers with. The
// common, server and Traffic Mirroring limit codes are those of the EC2 API
// reference's "Error codes for the Amazon EC2 API" page. The page spells the
// Traffic Mirroring not-found codes InvalidTrafficMirrorTargetNoFound and
// the like, but EC2 answers InvalidTrafficMirrorTargetId.NotFound,
// InvalidTrafficMirrorFilterId.NotFound and
// InvalidTrafficMirrorSessionId.NotFound (as the Terraform AWS provider and
// the SDK's own waiters match them), so those are the ones kept here.
const (
	RequestLimitExceeded  = "RequestLimitExceeded"
	Throttling            = "Throttling"
	InternalError         = "InternalError"
	InternalFailure       = "InternalFailure"
	ServerInternal        = "ServerInternal"
	ServiceUnavailable    = "ServiceUnavailable"
	Unavailable           = "Unavailable"
	InvalidAction         = "InvalidAction"
	MissingAction         = "MissingAction"
	MalformedQueryString  = "MalformedQueryString"
	MissingParameter      = "MissingParameter"
	UnknownParameter      = "UnknownParameter"
	DryRunOperation       = "DryRunOperation"
	UnauthorizedOperation = "UnauthorizedOperation"

	InvalidParameterValue       = "InvalidParameterValue"
	InvalidParameterCombination = "InvalidParameterCombination"
	InvalidPaginationToken      = "InvalidPaginationToken"
	IdempotentParameterMismatch = "IdempotentParameterMismatch"
	FilterLimitExceeded         = "FilterLimitExceeded"
	TagLimitExceeded            = "TagLimitExceeded"

	InvalidInstanceIDNotFound       = "InvalidInstanceID.NotFound"
	InvalidInstanceIDMalformed      = "InvalidInstanceID.Malformed"
	InvalidInstanceType             = "InvalidInstanceType"
	InvalidNetworkInterfaceNotFound = "InvalidNetworkInterfaceID.NotFound"
	InvalidGroupNotFound            = "InvalidGroup.NotFound"
	InvalidNetworkACLNotFound       = "InvalidNetworkAclID.NotFound"
	InvalidSubnetNotFound           = "InvalidSubnetID.NotFound"
	InvalidPrefixListNotFound       = "InvalidPrefixListID.NotFound"
	InvalidTrafficMirrorTargetID    = "InvalidTrafficMirrorTargetId.NotFound"
	InvalidTrafficMirrorFilterID    = "InvalidTrafficMirrorFilterId.NotFound"
	InvalidTrafficMirrorSessionID   = "InvalidTrafficMirrorSessionId.NotFound"
	// InvalidID is EC2's answer to an id whose prefix names no resource type.
	InvalidID = "InvalidID"

	// TrafficMirrorSourcesPerTarget: an interface target already receives
	// from its maximum of distinct sources (10, or 100 on the largest sizes).
	TrafficMirrorSourcesPerTarget = "TrafficMirrorSourcesPerTargetLimitExceeded"
	// TrafficMirrorSessionsPerSource: a source interface already has its 3 sessions.
	TrafficMirrorSessionsPerSource = "TrafficMirrorSessionsPerInterfaceLimitExceeded"
	// TrafficMirrorSessionsPerTarget: a target already has its maximum of sessions.
	TrafficMirrorSessionsPerTarget = "TrafficMirrorSessionsPerTargetLimitExceeded"
	// TrafficMirrorSessionLimit: the account's 10,000 sessions are used.
	TrafficMirrorSessionLimit = "TrafficMirrorSessionLimitExceeded"
)

// Code is the API error code of err, or "" when err is not an API error.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// IsAPIError reports whether EC2 answered err (as opposed to a transport failure).
func IsAPIError(err error) bool { return Code(err) != "" }

// IsThrottling reports whether EC2 refused the call for its request rate:
// EC2's own RequestLimitExceeded or any code the SDK's retryer treats as
// throttling, so the two never disagree.
func IsThrottling(err error) bool {
	code := Code(err)
	switch code {
	case RequestLimitExceeded, Throttling:
		return true
	}
	_, ok := retry.DefaultThrottleErrorCodes[code]
	return ok
}

// IsServerFault reports whether the fault was EC2's: an InternalError or
// Unavailable code, a request timeout, or any HTTP 5xx answer.
func IsServerFault(err error) bool {
	code := Code(err)
	switch code {
	case InternalError, InternalFailure, ServerInternal, ServiceUnavailable, Unavailable:
		return true
	}
	// Codes the SDK's retryer retries as transient (request timeouts).
	if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
		return true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode() >= 500
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultServer
}

// IsNotFound reports whether err says an instance, interface, group, ACL,
// subnet, prefix list, target, filter or session does not exist.
func IsNotFound(err error) bool {
	switch Code(err) {
	case InvalidInstanceIDNotFound, InvalidNetworkInterfaceNotFound, InvalidGroupNotFound,
		InvalidNetworkACLNotFound, InvalidSubnetNotFound, InvalidPrefixListNotFound,
		InvalidTrafficMirrorTargetID, InvalidTrafficMirrorFilterID, InvalidTrafficMirrorSessionID:
		return true
	}
	return false
}

// IsInstanceNotFound reports whether err says the instance does not exist.
func IsInstanceNotFound(err error) bool {
	c := Code(err)
	return c == InvalidInstanceIDNotFound || c == InvalidInstanceIDMalformed
}

// IsDryRunOK reports whether err is EC2's answer to a DryRun request that
// would have succeeded.
func IsDryRunOK(err error) bool { return Code(err) == DryRunOperation }

// IsIdempotentMismatch reports whether a ClientToken was reused with other parameters.
func IsIdempotentMismatch(err error) bool { return Code(err) == IdempotentParameterMismatch }

// IsQuotaExceeded reports whether EC2 refused a new traffic mirror session
// for one of its fixed, non-adjustable quotas: retrying cannot help, another
// target might.
func IsQuotaExceeded(err error) bool {
	switch Code(err) {
	case TrafficMirrorSourcesPerTarget, TrafficMirrorSessionsPerSource,
		TrafficMirrorSessionsPerTarget, TrafficMirrorSessionLimit:
		return true
	}
	return false
}
