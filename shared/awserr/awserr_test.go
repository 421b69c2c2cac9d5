package awserr_test

import (
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"

	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// wraps are the ways an error reaches the IsX helpers: as EC2 answered,
// wrapped with context by our code, and as the SDK's client returns it.
var wraps = []struct {
	name string
	wrap func(error) error
}{
	{name: "bare", wrap: func(err error) error { return err }},
	{name: "wrapped with context", wrap: func(err error) error { return fmt.Errorf("describing instances: %w", err) }},
	{name: "as the SDK returns it", wrap: func(err error) error {
		return &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeInstances", Err: err}
	}},
}

type namedErr struct {
	name string
	err  error
}

// notEC2 are errors no IsX helper accepts.
var notEC2 = []namedErr{
	{name: "a plain error", err: errors.New("building the request: missing region")},
	{name: "a network error", err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}},
	{name: "nil", err: nil},
}

func TestPredicates(t *testing.T) {
	tests := []struct {
		name    string
		is      func(error) bool
		match   []namedErr
		noMatch []namedErr
	}{
		{
			name: "IsAPIError",
			is:   awserr.IsAPIError,
			match: []namedErr{
				{name: "an error code is EC2's answer", err: sdktest.APIError(awserr.InvalidParameterValue)},
				{name: "an error code inside an HTTP response is EC2's answer", err: sdktest.HTTPError(400, sdktest.APIError(awserr.MissingParameter))},
			},
			noMatch: []namedErr{
				{name: "an HTTP 502 without an error document is not", err: sdktest.HTTPError(502, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})},
				{name: "an empty code is not", err: sdktest.APIError("")},
			},
		},
		{
			name: "IsThrottling",
			is:   awserr.IsThrottling,
			match: []namedErr{
				{name: "RequestLimitExceeded is throttling", err: sdktest.HTTPError(503, sdktest.APIError(awserr.RequestLimitExceeded))},
				{name: "Throttling is throttling", err: sdktest.APIError(awserr.Throttling)},
				{name: "EC2ThrottledException, in the SDK's throttle codes, is throttling", err: sdktest.APIError("EC2ThrottledException")},
			},
			noMatch: []namedErr{
				{name: "a server fault is not throttling", err: sdktest.HTTPError(500, sdktest.APIError(awserr.InternalError))},
				{name: "a traffic mirror quota is not throttling", err: sdktest.APIError(awserr.TrafficMirrorSessionLimit)},
				{name: "FilterLimitExceeded is not throttling", err: sdktest.APIError(awserr.FilterLimitExceeded)},
			},
		},
		{
			name: "IsServerFault",
			is:   awserr.IsServerFault,
			match: []namedErr{
				{name: "InternalError is a server fault", err: sdktest.HTTPError(500, sdktest.APIError(awserr.InternalError))},
				{name: "InternalFailure is a server fault", err: sdktest.APIError(awserr.InternalFailure)},
				{name: "ServerInternal is a server fault", err: sdktest.APIError(awserr.ServerInternal)},
				{name: "ServiceUnavailable is a server fault", err: sdktest.APIError(awserr.ServiceUnavailable)},
				{name: "RequestTimeout, which the SDK retries, is a server fault", err: sdktest.APIError("RequestTimeout")},
				{name: "Unavailable is a server fault", err: sdktest.HTTPError(503, sdktest.APIError(awserr.Unavailable))},
				{name: "an HTTP 500 without a code is a server fault", err: sdktest.HTTPError(500, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})},
				{name: "an HTTP 503 with an unknown code is a server fault", err: sdktest.HTTPError(503, sdktest.APIError("SomethingWentWrong"))},
				{name: "a code the SDK marks as a server fault is one", err: &smithy.GenericAPIError{Code: "SomethingWentWrong", Fault: smithy.FaultServer}},
			},
			noMatch: []namedErr{
				{name: "UnauthorizedOperation is not a server fault", err: sdktest.HTTPError(403, sdktest.APIError(awserr.UnauthorizedOperation))},
				{name: "an HTTP 400 is not a server fault", err: sdktest.HTTPError(400, sdktest.APIError(awserr.InvalidParameterValue))},
				{name: "an HTTP 499 is not a server fault", err: sdktest.HTTPError(499, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})},
				{name: "a code the SDK marks as a client fault is not one", err: &smithy.GenericAPIError{Code: "SomethingWentWrong", Fault: smithy.FaultClient}},
			},
		},
		{
			name: "IsNotFound",
			is:   awserr.IsNotFound,
			match: []namedErr{
				{name: "a missing instance is not found", err: sdktest.APIError("InvalidInstanceID.NotFound")},
				{name: "a missing network interface is not found", err: sdktest.APIError("InvalidNetworkInterfaceID.NotFound")},
				{name: "a missing security group is not found", err: sdktest.APIError("InvalidGroup.NotFound")},
				{name: "a missing network ACL is not found", err: sdktest.APIError("InvalidNetworkAclID.NotFound")},
				{name: "a missing subnet is not found", err: sdktest.APIError("InvalidSubnetID.NotFound")},
				{name: "a missing prefix list is not found", err: sdktest.APIError("InvalidPrefixListID.NotFound")},
				{name: "a missing traffic mirror target is not found", err: sdktest.APIError("InvalidTrafficMirrorTargetId.NotFound")},
				{name: "a missing traffic mirror filter is not found", err: sdktest.APIError("InvalidTrafficMirrorFilterId.NotFound")},
				{name: "a missing traffic mirror session is not found", err: sdktest.HTTPError(400, sdktest.APIError("InvalidTrafficMirrorSessionId.NotFound"))},
			},
			noMatch: []namedErr{
				{name: "a malformed instance id is not a missing resource", err: sdktest.APIError(awserr.InvalidInstanceIDMalformed)},
				{name: "an id of no resource type is not a missing resource", err: sdktest.APIError(awserr.InvalidID)},
				{name: "the reference page's spelling is not what EC2 answers", err: sdktest.APIError("InvalidTrafficMirrorTargetNoFound")},
				{name: "InvalidParameterValue is not a missing resource", err: sdktest.APIError(awserr.InvalidParameterValue)},
			},
		},
		{
			name: "IsInstanceNotFound",
			is:   awserr.IsInstanceNotFound,
			match: []namedErr{
				{name: "InvalidInstanceID.NotFound is a missing instance", err: sdktest.HTTPError(400, sdktest.APIError(awserr.InvalidInstanceIDNotFound))},
				{name: "InvalidInstanceID.Malformed is an instance that cannot exist", err: sdktest.APIError(awserr.InvalidInstanceIDMalformed)},
			},
			noMatch: []namedErr{
				{name: "a missing network interface is not a missing instance", err: sdktest.APIError(awserr.InvalidNetworkInterfaceNotFound)},
				{name: "an id of no resource type is not a missing instance", err: sdktest.APIError(awserr.InvalidID)},
			},
		},
		{
			name: "IsDryRunOK",
			is:   awserr.IsDryRunOK,
			match: []namedErr{
				{name: "DryRunOperation means the request would have succeeded", err: sdktest.HTTPError(412, sdktest.APIError(awserr.DryRunOperation))},
			},
			noMatch: []namedErr{
				{name: "UnauthorizedOperation means the dry run was refused", err: sdktest.HTTPError(403, sdktest.APIError(awserr.UnauthorizedOperation))},
			},
		},
		{
			name: "IsIdempotentMismatch",
			is:   awserr.IsIdempotentMismatch,
			match: []namedErr{
				{name: "IdempotentParameterMismatch is a reused ClientToken", err: sdktest.HTTPError(400, sdktest.APIError(awserr.IdempotentParameterMismatch))},
			},
			noMatch: []namedErr{
				{name: "InvalidParameterValue is not a reused ClientToken", err: sdktest.APIError(awserr.InvalidParameterValue)},
			},
		},
		{
			name: "IsQuotaExceeded",
			is:   awserr.IsQuotaExceeded,
			match: []namedErr{
				{name: "sources per target is a quota", err: sdktest.HTTPError(400, sdktest.APIError("TrafficMirrorSourcesPerTargetLimitExceeded"))},
				{name: "sessions per interface is a quota", err: sdktest.APIError("TrafficMirrorSessionsPerInterfaceLimitExceeded")},
				{name: "sessions per target is a quota", err: sdktest.APIError("TrafficMirrorSessionsPerTargetLimitExceeded")},
				{name: "sessions per account is a quota", err: sdktest.APIError("TrafficMirrorSessionLimitExceeded")},
			},
			noMatch: []namedErr{
				{name: "RequestLimitExceeded is a rate, not a quota", err: sdktest.APIError(awserr.RequestLimitExceeded)},
				{name: "FilterLimitExceeded is not a session quota", err: sdktest.APIError(awserr.FilterLimitExceeded)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(cases []namedErr, want bool) {
				t.Helper()
				for _, c := range cases {
					for _, w := range wraps {
						t.Run(c.name+" "+w.name, func(t *testing.T) {
							err := c.err
							if err != nil {
								err = w.wrap(err)
							}
							if got := tt.is(err); got != want {
								t.Errorf("%s(%v) = %v, want %v", tt.name, err, got, want)
							}
						})
					}
				}
			}
			check(tt.match, true)
			check(tt.noMatch, false)
			check(notEC2, false)
		})
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "an API error gives its code", err: sdktest.APIError(awserr.InvalidInstanceIDNotFound), want: "InvalidInstanceID.NotFound"},
		{name: "the code is found inside the HTTP response", err: sdktest.HTTPError(400, sdktest.APIError(awserr.InvalidParameterValue)), want: "InvalidParameterValue"},
		{name: "the code is found after retries ran out", err: &retry.MaxAttemptsError{Attempt: 3, Err: sdktest.HTTPError(503, sdktest.APIError(awserr.RequestLimitExceeded))}, want: "RequestLimitExceeded"},
		{name: "an HTTP error without an error document has no code", err: sdktest.HTTPError(500, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})},
	}
	for _, notAPI := range notEC2 {
		tests = append(tests, struct {
			name string
			err  error
			want string
		}{name: notAPI.name + " has no code", err: notAPI.err})
	}
	for _, tt := range tests {
		for _, w := range wraps {
			t.Run(tt.name+" "+w.name, func(t *testing.T) {
				err := tt.err
				if err != nil {
					err = w.wrap(err)
				}
				if got := awserr.Code(err); got != tt.want {
					t.Errorf("Code(%v) = %q, want %q", err, got, tt.want)
				}
			})
		}
	}
}

// TestThrottlingCodesAreTheSDKs checks that IsThrottling and the SDK's
// retryer agree: every code the SDK retries as a throttle is throttling here,
// and EC2's own codes are among the SDK's.
func TestThrottlingCodesAreTheSDKs(t *testing.T) {
	for code := range retry.DefaultThrottleErrorCodes {
		if !awserr.IsThrottling(sdktest.APIError(code)) {
			t.Errorf("IsThrottling(%s) = false, but the SDK retries it as a throttle", code)
		}
	}
	for _, code := range []string{awserr.RequestLimitExceeded, awserr.Throttling} {
		t.Run(code+" is a throttle the SDK retries", func(t *testing.T) {
			if !awserr.IsThrottling(sdktest.APIError(code)) {
				t.Fatalf("IsThrottling(%s) = false", code)
			}
			if _, ok := retry.DefaultThrottleErrorCodes[code]; !ok {
				t.Errorf("the SDK's retry.DefaultThrottleErrorCodes lacks %s", code)
			}
		})
	}
}
