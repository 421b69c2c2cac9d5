package elbv2sim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// ELBv2's error codes that the simulator answers with: the two actions' own
// (their API reference pages), the common ones (the ELBv2 API reference's
// "Common Errors"), and Throttling. The user guide's throttling page says
// ThrottlingException, but ELBv2 answers Throttling, "Rate exceeded", with
// HTTP 400, as SDK users report (boto/boto3 issue 3125) and as the SDKs'
// retryers expect. They live here, not in shared/awserr, until a step
// reacts to one.
const (
	LoadBalancerNotFound = "LoadBalancerNotFound"
	ListenerNotFound     = "ListenerNotFound"
	ValidationError      = "ValidationError"
	Throttling           = "Throttling"
	InvalidAction        = "InvalidAction"
	MissingAction        = "MissingAction"
	InternalFailure      = "InternalFailure"
	ServiceUnavailable   = "ServiceUnavailable"
)

// apiError is one ELBv2 error answer.
type apiError struct {
	Code, Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// status is the HTTP status ELBv2 answers a code with: 500 and 503 for its
// own faults, 400 for the caller's, throttling included.
func (e *apiError) status() int {
	switch e.Code {
	case InternalFailure:
		return http.StatusInternalServerError
	case ServiceUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// answerFor turns what the account's Serve returned into ELBv2's answer: an
// empty bucket is Throttling, and a fault the account fired keeps a
// scripted code but speaks ELBv2 for the random server faults.
func answerFor(err error) *apiError {
	var aerr *apiError
	var fault *ec2sim.FiredFault
	switch {
	case errors.As(err, &aerr):
		return aerr
	case errors.Is(err, ec2sim.ErrThrottled):
		return errorf(Throttling, "Rate exceeded")
	case errors.As(err, &fault):
		switch fault.Code {
		case awserr.InternalError:
			return errorf(InternalFailure, "The request processing has failed because of an unknown error, exception or failure.")
		case awserr.Unavailable:
			return errorf(ServiceUnavailable, "The request has failed due to a temporary failure of the server.")
		}
		return errorf(fault.Code, "%s", fault.Message)
	default:
		return errorf(InternalFailure, "%v", err)
	}
}

// writeError renders ELBv2's error document, whose Type says whose fault it
// was: Sender for the caller's, Receiver for the service's.
func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	kind := "Sender"
	if e.status() >= http.StatusInternalServerError {
		kind = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<ErrorResponse xmlns=\"" + namespace + "\"><Error>")
	writeText(&b, "Type", kind)
	writeText(&b, "Code", e.Code)
	writeText(&b, "Message", e.Message)
	b.WriteString("</Error>")
	writeText(&b, "RequestId", requestID)
	b.WriteString("</ErrorResponse>")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(e.status())
	_, _ = w.Write(b.Bytes())
}
