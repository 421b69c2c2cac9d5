// Package steperr holds the errors a step returns at the Lambda boundary.
//
// aws-lambda-go reports the Go type name of the returned error as the
// invocation's errorType, and that name is what a Step Functions Retry or
// Catch matches in ErrorEquals. A fmt.Errorf error would arrive as
// "wrapError" and could not be routed, so every outcome the state machine
// routes has its own exported type here, wrapping its cause.
//
// Transient types are retried by the state machine; terminal ones never are.
package steperr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/placement"
)

// InvalidInput is returned when the execution input is neither an EC2
// Instance State-change Notification nor {"instanceId": "i-..."}.
// Terminal: the same input fails the same way on every try.
type InvalidInput struct {
	Reason string
	Err    error
}

func (e *InvalidInput) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("invalid input: %s: %v", e.Reason, e.Err)
	}
	return "invalid input: " + e.Reason
}

func (e *InvalidInput) Unwrap() error { return e.Err }

var _ error = (*InvalidInput)(nil)

// InvalidConfiguration is returned when the step's configuration
// (environment variables set by the stack) is missing or malformed. Terminal.
type InvalidConfiguration struct {
	Err error
}

func (e *InvalidConfiguration) Error() string {
	if e.Err == nil {
		return "invalid configuration"
	}
	return "invalid configuration: " + e.Err.Error()
}

func (e *InvalidConfiguration) Unwrap() error { return e.Err }

var _ error = (*InvalidConfiguration)(nil)

// NoReachableSensor is returned by the step that rejected the last candidate
// sensors. Its message names that step and every rejection, so the
// dead-letter message and the console's error view say why. Terminal until a
// person changes the account (opens a security group, adds a sensor).
type NoReachableSensor struct {
	Step       string
	InstanceID string
	Rejected   []placement.Rejection
	// Detail is used when there were no candidates to reject at all.
	Detail string
}

func (e *NoReachableSensor) Error() string {
	msg := fmt.Sprintf("no reachable sensor for %s: %s", e.InstanceID, e.Step)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if len(e.Rejected) > 0 {
		msg += fmt.Sprintf(" rejected the last %d candidate(s)", len(e.Rejected))
		listed := e.Rejected
		if len(listed) > MaxListedRejections {
			listed = listed[:MaxListedRejections]
			msg += fmt.Sprintf(", the first %d listed", len(listed))
		}
		for i, r := range listed {
			sep := "; "
			if i == 0 {
				sep = ": "
			}
			msg += sep + r.TargetID + ": " + r.Reason
		}
	}
	return msg
}

// MaxListedRejections bounds the rejections NoReachableSensor's message
// lists; it counts them all. A step that rejects thousands of sensors would
// otherwise write a message of hundreds of KiB, which the Catch puts in the
// payload beside the placement and the state machine copies into the
// dead-letter message: past Step Functions' 256 KiB the execution fails with
// States.DataLimitExceeded, which no Catch handles, and the dead letter is
// lost. Fifty reasons of a few hundred bytes stay far inside Lambda's
// 32,768-character error cause, too.
const MaxListedRejections = 50

var _ error = (*NoReachableSensor)(nil)

// SensorFull is returned by CreateSession when EC2 refused the session
// because the chosen sensor already receives from its maximum of source
// interfaces (TrafficMirrorSourcesPerTargetLimitExceeded). That happens when
// placements running at once picked the same sensor from counts read before
// any of them created its session. It is neither retried as is nor the end:
// the state machine routes it back to PickLeastLoaded, which picks again
// without this sensor.
type SensorFull struct {
	TargetID  string
	SourceENI string
	Err       error
}

func (e *SensorFull) Error() string {
	return fmt.Sprintf("sensor %s is full: EC2 refused %s as another source: %v", e.TargetID, e.SourceENI, e.Err)
}

func (e *SensorFull) Unwrap() error { return e.Err }

var _ error = (*SensorFull)(nil)

// EC2Throttled is returned when EC2 still throttles after the SDK's own
// retries (RequestLimitExceeded and kin). Transient.
type EC2Throttled struct {
	Op  string
	Err error
}

func (e *EC2Throttled) Error() string { return fmt.Sprintf("%s: throttled by EC2: %v", e.Op, e.Err) }

func (e *EC2Throttled) Unwrap() error { return e.Err }

var _ error = (*EC2Throttled)(nil)

// EC2Unavailable is returned for 5xx answers, timeouts and connection
// failures that outlived the SDK's retries. Transient.
type EC2Unavailable struct {
	Op  string
	Err error
}

func (e *EC2Unavailable) Error() string { return fmt.Sprintf("%s: EC2 unavailable: %v", e.Op, e.Err) }

func (e *EC2Unavailable) Unwrap() error { return e.Err }

var _ error = (*EC2Unavailable)(nil)

// EC2Rejected is returned when EC2 refused the request for a reason a retry
// cannot change: permissions, a quota, a malformed parameter. Terminal.
type EC2Rejected struct {
	Op   string
	Code string
	Err  error
}

func (e *EC2Rejected) Error() string {
	return fmt.Sprintf("%s: EC2 rejected the request (%s): %v", e.Op, e.Code, e.Err)
}

func (e *EC2Rejected) Unwrap() error { return e.Err }

var _ error = (*EC2Rejected)(nil)

// Transient lists the type names the state machine retries with backoff.
func Transient() []string {
	return []string{TypeName(&EC2Throttled{}), TypeName(&EC2Unavailable{})}
}

// Terminal lists the type names the state machine never retries.
func Terminal() []string {
	return []string{
		TypeName(&InvalidInput{}), TypeName(&InvalidConfiguration{}),
		TypeName(&NoReachableSensor{}), TypeName(&EC2Rejected{}),
	}
}

// RePick lists the type names the state machine routes from CreateSession
// back to PickLeastLoaded instead of retrying or failing.
func RePick() []string {
	return []string{TypeName(&SensorFull{})}
}

// LambdaServiceErrors are the error names Step Functions gives failures of
// the Lambda service itself rather than of our code; AWS recommends retrying
// them ("Handle transient Lambda service exceptions", Step Functions
// developer guide).
func LambdaServiceErrors() []string {
	return []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"}
}

// LambdaThrottling are the names of a function that could not take the
// invocation in time: no free execution environment within its reserved
// concurrency (Lambda.TooManyRequestsException, HTTP 429), an invoke that
// timed out waiting (Lambda.ClientExecutionTimeoutException), or a step
// that ran out of its own timeout (Sandbox.Timedout). A burst of placements
// causes all three, and all three pass when the burst does.
func LambdaThrottling() []string {
	return []string{"Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException", "Sandbox.Timedout"}
}

// TypeName is the errorType aws-lambda-go reports for err.
func TypeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// FromEC2 classifies an error from an EC2 call made while doing op into the
// named type the state machine routes: throttling and server faults are
// transient, everything else from EC2 is terminal. A nil err stays nil, and
// an error that is already one of this package's types is returned as is.
func FromEC2(op string, err error) error {
	if err == nil || IsNamed(err) {
		return err
	}
	switch {
	case awserr.IsThrottling(err):
		return &EC2Throttled{Op: op, Err: err}
	case awserr.IsServerFault(err), errors.Is(err, context.DeadlineExceeded), isNetwork(err), isRetryQuota(err):
		return &EC2Unavailable{Op: op, Err: err}
	default:
		return &EC2Rejected{Op: op, Code: awserr.Code(err), Err: err}
	}
}

// IsNamed reports whether err itself (not a cause it wraps) is one of the
// types this package defines, so it reaches Lambda with a routable name.
func IsNamed(err error) bool {
	switch err.(type) { //nolint:errorlint // Only err's own type matters: aws-lambda-go reports the returned error's Go type name as errorType, so a wrapped named error would be routed as its wrapper.
	case *InvalidInput, *InvalidConfiguration, *NoReachableSensor, *SensorFull,
		*EC2Throttled, *EC2Unavailable, *EC2Rejected:
		return true
	}
	return false
}

func isNetwork(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

func isRetryQuota(err error) bool {
	var qe ratelimit.QuotaExceededError
	var me *retry.MaxAttemptsError
	return errors.As(err, &qe) || (errors.As(err, &me) && !awserr.IsAPIError(err))
}
