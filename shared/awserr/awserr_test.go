package awserr_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// apiErr is an EC2 error code as the SDK deserializes it.
func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "message for " + code}
}

// httpErr wraps err in the HTTP response it came with, as the SDK's
// deserialize middleware does.
func httpErr(status int, err error) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      err,
		},
		RequestID: "7f3c1e2a-0000-4000-8000-000000000000",
	}
}

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
				{name: "an error code is EC2's answer", err: apiErr(awserr.InvalidParameterValue)},
				{name: "an error code inside an HTTP response is EC2's answer", err: httpErr(400, apiErr(awserr.MissingParameter))},
			},
			noMatch: []namedErr{
				{name: "an HTTP 502 without an error document is not", err: httpErr(502, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})},
				{name: "an empty code is not", err: apiErr("")},
			},
		},
		{
			name: "IsThrottling",
			is:   awserr.IsThrottling,
			match: []namedErr{
				{name: "RequestLimitExceeded is throttling", err: httpErr(503, apiErr(awserr.RequestLimitExceeded))},
				{name: "Throttling is throttling", err: apiErr(awserr.Throttling)},
				{name: "EC2ThrottledException, in the SDK's throttle codes, is throttling", err: apiErr("EC2ThrottledException")},
			},
			noMatch: []namedErr{
				{name: "a server fault is not throttling", err: httpErr(500, apiErr(awserr.InternalError))},
				{name: "a traffic mirror quota is not throttling", err: apiErr(awserr.TrafficMirrorSessionLimit)},
				{name: "FilterLimitExceeded is not throttling", err: apiErr(awserr.FilterLimitExceeded)},
			},
		},
		{
			name: "IsServerFault",
			is:   awserr.IsServerFault,
			match: []namedErr{
				{name: "InternalError is a server fault", err: httpErr(500, apiErr(awserr.InternalError))},
				{name: "InternalFailure is a server fault", err: apiErr(awserr.InternalFailure)},
				{name: "ServerInternal is a server fault", err: apiErr(awserr.ServerInternal)},
				{name: "ServiceUnavailable is a server fault", err: apiErr(awserr.ServiceUnavailable)},
				{name: "RequestTimeout, which the SDK retries, is a server fault", err: apiErr("RequestTimeout")},
				{name: "Unavailable is a server fault", err: httpErr(503, apiErr(awserr.Unavailable))},
				{name: "an HTTP 500 without a code is a server fault", err: httpErr(500, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})},
				{name: "an HTTP 503 with an unknown code is a server fault", err: httpErr(503, apiErr("SomethingWentWrong"))},
				{name: "a code the SDK marks as a server fault is one", err: &smithy.GenericAPIError{Code: "SomethingWentWrong", Fault: smithy.FaultServer}},
			},
			noMatch: []namedErr{
				{name: "UnauthorizedOperation is not a server fault", err: httpErr(403, apiErr(awserr.UnauthorizedOperation))},
				{name: "an HTTP 400 is not a server fault", err: httpErr(400, apiErr(awserr.InvalidParameterValue))},
				{name: "an HTTP 499 is not a server fault", err: httpErr(499, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})},
				{name: "a code the SDK marks as a client fault is not one", err: &smithy.GenericAPIError{Code: "SomethingWentWrong", Fault: smithy.FaultClient}},
			},
		},
		{
			name: "IsNotFound",
			is:   awserr.IsNotFound,
			match: []namedErr{
				{name: "a missing instance is not found", err: apiErr("InvalidInstanceID.NotFound")},
				{name: "a missing network interface is not found", err: apiErr("InvalidNetworkInterfaceID.NotFound")},
				{name: "a missing security group is not found", err: apiErr("InvalidGroup.NotFound")},
				{name: "a missing network ACL is not found", err: apiErr("InvalidNetworkAclID.NotFound")},
				{name: "a missing subnet is not found", err: apiErr("InvalidSubnetID.NotFound")},
				{name: "a missing prefix list is not found", err: apiErr("InvalidPrefixListID.NotFound")},
				{name: "a missing traffic mirror target is not found", err: apiErr("InvalidTrafficMirrorTargetId.NotFound")},
				{name: "a missing traffic mirror filter is not found", err: apiErr("InvalidTrafficMirrorFilterId.NotFound")},
				{name: "a missing traffic mirror session is not found", err: httpErr(400, apiErr("InvalidTrafficMirrorSessionId.NotFound"))},
			},
			noMatch: []namedErr{
				{name: "a malformed instance id is not a missing resource", err: apiErr(awserr.InvalidInstanceIDMalformed)},
				{name: "an id of no resource type is not a missing resource", err: apiErr(awserr.InvalidID)},
				{name: "the reference page's spelling is not what EC2 answers", err: apiErr("InvalidTrafficMirrorTargetNoFound")},
				{name: "InvalidParameterValue is not a missing resource", err: apiErr(awserr.InvalidParameterValue)},
			},
		},
		{
			name: "IsInstanceNotFound",
			is:   awserr.IsInstanceNotFound,
			match: []namedErr{
				{name: "InvalidInstanceID.NotFound is a missing instance", err: httpErr(400, apiErr(awserr.InvalidInstanceIDNotFound))},
				{name: "InvalidInstanceID.Malformed is an instance that cannot exist", err: apiErr(awserr.InvalidInstanceIDMalformed)},
			},
			noMatch: []namedErr{
				{name: "a missing network interface is not a missing instance", err: apiErr(awserr.InvalidNetworkInterfaceNotFound)},
				{name: "an id of no resource type is not a missing instance", err: apiErr(awserr.InvalidID)},
			},
		},
		{
			name: "IsDryRunOK",
			is:   awserr.IsDryRunOK,
			match: []namedErr{
				{name: "DryRunOperation means the request would have succeeded", err: httpErr(412, apiErr(awserr.DryRunOperation))},
			},
			noMatch: []namedErr{
				{name: "UnauthorizedOperation means the dry run was refused", err: httpErr(403, apiErr(awserr.UnauthorizedOperation))},
			},
		},
		{
			name: "IsIdempotentMismatch",
			is:   awserr.IsIdempotentMismatch,
			match: []namedErr{
				{name: "IdempotentParameterMismatch is a reused ClientToken", err: httpErr(400, apiErr(awserr.IdempotentParameterMismatch))},
			},
			noMatch: []namedErr{
				{name: "InvalidParameterValue is not a reused ClientToken", err: apiErr(awserr.InvalidParameterValue)},
			},
		},
		{
			name: "IsQuotaExceeded",
			is:   awserr.IsQuotaExceeded,
			match: []namedErr{
				{name: "sources per target is a quota", err: httpErr(400, apiErr("TrafficMirrorSourcesPerTargetLimitExceeded"))},
				{name: "sessions per interface is a quota", err: apiErr("TrafficMirrorSessionsPerInterfaceLimitExceeded")},
				{name: "sessions per target is a quota", err: apiErr("TrafficMirrorSessionsPerTargetLimitExceeded")},
				{name: "sessions per account is a quota", err: apiErr("TrafficMirrorSessionLimitExceeded")},
			},
			noMatch: []namedErr{
				{name: "RequestLimitExceeded is a rate, not a quota", err: apiErr(awserr.RequestLimitExceeded)},
				{name: "FilterLimitExceeded is not a session quota", err: apiErr(awserr.FilterLimitExceeded)},
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
		{name: "an API error gives its code", err: apiErr(awserr.InvalidInstanceIDNotFound), want: "InvalidInstanceID.NotFound"},
		{name: "the code is found inside the HTTP response", err: httpErr(400, apiErr(awserr.InvalidParameterValue)), want: "InvalidParameterValue"},
		{name: "the code is found after retries ran out", err: &retry.MaxAttemptsError{Attempt: 3, Err: httpErr(503, apiErr(awserr.RequestLimitExceeded))}, want: "RequestLimitExceeded"},
		{name: "an HTTP error without an error document has no code", err: httpErr(500, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})},
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
		if !awserr.IsThrottling(apiErr(code)) {
			t.Errorf("IsThrottling(%s) = false, but the SDK retries it as a throttle", code)
		}
	}
	for _, code := range []string{awserr.RequestLimitExceeded, awserr.Throttling} {
		t.Run(code+" is a throttle the SDK retries", func(t *testing.T) {
			if !awserr.IsThrottling(apiErr(code)) {
				t.Fatalf("IsThrottling(%s) = false", code)
			}
			if _, ok := retry.DefaultThrottleErrorCodes[code]; !ok {
				t.Errorf("the SDK's retry.DefaultThrottleErrorCodes lacks %s", code)
			}
		})
	}
}
