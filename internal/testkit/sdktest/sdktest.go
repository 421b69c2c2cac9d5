// Package sdktest holds what tests need to point real AWS SDK clients at
// loopback fakes without flakiness that is the test's, not the code's.
package sdktest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// HTTPClient returns an HTTP client for SDK clients in tests.
//
// smithy-go closes a request's body as soon as the response headers arrive,
// while net/http's write loop may still be reading that body for its final
// EOF; the read then fails, the transport closes the connection, and the
// response body fails with "use of closed network connection"
// (aws-sdk-go-v2 issues 1825 and 2737). In production the SDK's retryer
// retries that error; tests that disable retries to count calls exactly
// would flake. This client hands net/http its own copy of the body, so the
// SDK's close cannot race the write. What goes over the wire is unchanged.
func HTTPClient() *http.Client {
	return &http.Client{Transport: bufferingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}}
}

type bufferingTransport struct{ next http.RoundTripper }

func (t bufferingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return t.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("buffering the request body: %w", err)
	}
	clone := req.Clone(req.Context())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	clone.ContentLength = int64(len(body))
	return t.next.RoundTrip(clone)
}

// APIError is an AWS error code as the SDK deserializes it.
func APIError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "message for " + code}
}

// HTTPError wraps err in the HTTP response it came with, as the SDK's
// deserialize middleware does.
func HTTPError(status int, err error) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      err,
		},
		RequestID: "7f3c1e2a-0000-4000-8000-000000000000",
	}
}
