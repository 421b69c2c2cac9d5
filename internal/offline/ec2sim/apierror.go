package ec2sim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// apiError is one EC2 error answer: its code, message and HTTP status.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// statusOf is the HTTP status EC2 answers a code with: 503 for throttling
// and unavailability, 500 for internal errors, 400 for the client's.
func statusOf(code string) int {
	switch code {
	case awserr.RequestLimitExceeded, awserr.Unavailable, awserr.ServiceUnavailable:
		return http.StatusServiceUnavailable
	case awserr.InternalError, awserr.InternalFailure, awserr.ServerInternal:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: statusOf(code)}
}

// encodeError renders EC2's error document.
func encodeError(e *apiError, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Response><Errors><Error>")
	writeText(&b, "Code", e.Code)
	writeText(&b, "Message", e.Message)
	b.WriteString("</Error></Errors>")
	writeText(&b, "RequestID", requestID)
	b.WriteString("</Response>")
	return b.Bytes()
}
