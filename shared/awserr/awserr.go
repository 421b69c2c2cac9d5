// Package awserr is the one place that knows EC2's error codes. Callers ask
// IsX(err) instead of comparing strings, so a code is spelled once.
package awserr

import (
	"errors"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// EC2 error codes mirrorflow reacts to, as documented in the EC2 API
// reference's "Error codes" page.
const (
	RequestLimitExceeded            = "RequestLimitExceeded"
	Throttling                      = "Throttling"
	InternalError                   = "InternalError"
	ServiceUnavailable              = "ServiceUnavailable"
	Unavailable                     = "Unavailable"
	InvalidInstanceIDNotFound       = "InvalidInstanceID.NotFound"
	InvalidInstanceIDMalformed      = "InvalidInstanceID.Malformed"
	InvalidNetworkInterfaceNotFound = "InvalidNetworkInterfaceID.NotFound"
	InvalidGroupNotFound            = "InvalidGroup.NotFound"
	InvalidTrafficMirrorTargetID    = "InvalidTrafficMirrorTargetId.NotFound"
	InvalidTrafficMirrorFilterID    = "InvalidTrafficMirrorFilterId.NotFound"
	InvalidParameterValue           = "InvalidParameterValue"
	InvalidParameterCombination     = "InvalidParameterCombination"
	IdempotentParameterMismatch     = "IdempotentParameterMismatch"
	TrafficMirrorSourcesPerTarget   = "TrafficMirrorSourcesPerTargetLimitExceeded"
	TrafficMirrorSessionsPerSource  = "TrafficMirrorSessionsPerInterfaceLimitExceeded"
	DryRunOperation                 = "DryRunOperation"
	UnauthorizedOperation           = "UnauthorizedOperation"
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

// IsThrottling reports whether EC2 refused the call for its request rate.
func IsThrottling(err error) bool {
	switch Code(err) {
	case RequestLimitExceeded, Throttling:
		return true
	}
	return false
}

// IsServerFault reports whether the fault was EC2's: an InternalError or
// Unavailable code, or any HTTP 5xx answer.
func IsServerFault(err error) bool {
	switch Code(err) {
	case InternalError, ServiceUnavailable, Unavailable:
		return true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode() >= 500
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultServer
}

// IsNotFound reports whether err says an instance, interface, group, target
// or filter does not exist.
func IsNotFound(err error) bool {
	switch Code(err) {
	case InvalidInstanceIDNotFound, InvalidNetworkInterfaceNotFound, InvalidGroupNotFound,
		InvalidTrafficMirrorTargetID, InvalidTrafficMirrorFilterID:
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
