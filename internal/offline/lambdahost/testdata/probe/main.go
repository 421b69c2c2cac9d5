// Command probe is a Lambda function for the host's tests: it echoes its
// payload, or fails, sleeps, exits or waits for a file as the payload asks.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Echo    string `json:"echo"`
	Fail    bool   `json:"fail"`
	SleepMS int    `json:"sleepMs"`
	Exit    bool   `json:"exit"`
	// WaitFor names a file the invocation waits for, so that a test holds
	// invocations open for exactly as long as it needs.
	WaitFor string `json:"waitFor"`
}

type response struct {
	Echo string `json:"echo"`
	Env  string `json:"env"`
}

// ProbeFailed is a named error: its type name is the errorType Lambda reports.
type ProbeFailed struct{ Msg string }

func (e *ProbeFailed) Error() string { return e.Msg }

func handle(ctx context.Context, req request) (response, error) {
	switch {
	case req.Exit:
		os.Exit(3)
	case req.Fail:
		return response{}, &ProbeFailed{Msg: "asked to fail: " + req.Echo}
	case req.SleepMS > 0:
		time.Sleep(time.Duration(req.SleepMS) * time.Millisecond)
	case req.WaitFor != "":
		for {
			if _, err := os.Stat(req.WaitFor); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return response{}, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return response{Echo: req.Echo, Env: os.Getenv("PROBE_ENV")}, nil
}

func main() { lambda.Start(handle) }
