package operate

import (
	"errors"
	"strings"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// ErrNoCredentials is wrapped when the SDK's default credential chain found
// nothing to sign with, so mirrorctl can say so before the first call
// fails with a less direct "get identity" error.
var ErrNoCredentials = errors.New("no AWS credentials found (looked in the environment, the shared config and credentials files, SSO, and the instance or container role); set AWS_PROFILE or pass --profile, or run aws sso login")

// ErrStackNotFound is wrapped when the CloudFormation stack that names the
// state machine and queue does not exist in the Region.
var ErrStackNotFound = errors.New("stack not found")

// AWSError is an AWS failure said in a person's terms: what was missing or
// refused, the API's error code, and what to do next. It wraps the SDK's
// error, so errors.As still finds the typed error underneath.
type AWSError struct {
	// Summary says what went wrong ("the execution does not exist").
	Summary string
	// Code is the API's error code ("ExecutionDoesNotExist").
	Code string
	// Hint says what to check or do.
	Hint string
	Err  error
}

func (e *AWSError) Error() string {
	msg := e.Summary
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *AWSError) Unwrap() error { return e.Err }

var _ error = (*AWSError)(nil)

// Explain turns an SDK error into an AWSError that names its cause. Errors
// that are not from an AWS API (a context deadline, a decoding error) are
// returned unchanged.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	var already *AWSError
	if errors.As(err, &already) {
		return err
	}
	var (
		noExecution    *sfntypes.ExecutionDoesNotExist
		noStateMachine *sfntypes.StateMachineDoesNotExist
		badARN         *sfntypes.InvalidArn
		notRedrivable  *sfntypes.ExecutionNotRedrivable
		nameTaken      *sfntypes.ExecutionAlreadyExists
		tooMany        *sfntypes.ExecutionLimitExceeded
		noQueue        *sqstypes.QueueDoesNotExist
		staleReceipt   *sqstypes.ReceiptHandleIsInvalid
	)
	explained := func(summary, hint string) error {
		return &AWSError{Summary: summary, Code: code(err), Hint: hint, Err: err}
	}
	switch {
	case errors.As(err, &noExecution):
		return explained("the execution does not exist",
			"check the ARN or name and --region; Step Functions keeps a closed execution for 90 days")
	case errors.As(err, &noStateMachine):
		return explained("the state machine does not exist",
			"check --state-machine or the stack's StateMachineArn output, and that --region is where it is deployed")
	case errors.As(err, &badARN):
		return explained("that is not a valid Step Functions ARN", "pass an execution ARN or an execution name: "+badARN.ErrorMessage())
	case errors.As(err, &notRedrivable):
		return explained("the execution cannot be redriven",
			"only a FAILED, TIMED_OUT or ABORTED execution of the last 14 days can be; start a new one with mirrorctl run: "+notRedrivable.ErrorMessage())
	case errors.As(err, &nameTaken):
		return explained("an execution with that name already exists", "wait a second and run again; names carry the time to the second")
	case errors.As(err, &tooMany):
		return explained("the account has too many running executions", "wait for some to finish and try again")
	case errors.As(err, &noQueue):
		return explained("the dead-letter queue does not exist",
			"check --queue-url or the stack's DeadLetterQueueUrl output, and --region")
	case errors.As(err, &staleReceipt):
		return explained("the dead-letter message's receipt handle expired",
			"another reader received it meanwhile; run mirrorctl failures to see what is left")
	}
	c := code(err)
	switch {
	case c == "":
		return err
	case c == "ValidationError" && strings.Contains(message(err), "does not exist"):
		return &AWSError{Summary: ErrStackNotFound.Error(), Code: c,
			Hint: "deploy the stack, or pass --stack, --region, or --state-machine and --queue-url: " + message(err),
			Err:  errors.Join(ErrStackNotFound, err)}
	case c == "AccessDenied" || c == "AccessDeniedException" || c == "UnauthorizedOperation":
		return explained("access denied", "the caller's IAM policy must allow this action: "+message(err))
	case c == "UnrecognizedClientException" || c == "InvalidClientTokenId" || c == "ExpiredToken" ||
		c == "ExpiredTokenException" || c == "InvalidSignatureException" || c == "SignatureDoesNotMatch":
		return explained("AWS rejected the credentials", "refresh them (aws sso login, or new keys) or pick another --profile")
	case c == "ThrottlingException" || c == "Throttling" || c == "RequestLimitExceeded":
		return explained("AWS throttled the request", "try again in a moment")
	default:
		return explained("AWS refused the request: "+message(err), "")
	}
}

// IsAWS reports whether err came from AWS or from reaching it (an API
// error, missing credentials, a failed connection, a deployed stack that
// lacks an output) rather than from how mirrorctl was called.
func IsAWS(err error) bool {
	var ae *AWSError
	var api smithy.APIError
	var op *smithy.OperationError
	var missing *MissingOutputError
	return errors.As(err, &ae) || errors.As(err, &api) || errors.As(err, &op) || errors.Is(err, ErrNoCredentials) ||
		errors.As(err, &missing)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return err.Error()
}
