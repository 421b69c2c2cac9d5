package ec2sim_test

import (
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"

	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

// load reads one of the repository's test snapshots.
func load(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	snap, err := snapshot.Load(filepath.Join("..", "..", "..", "testdata", "snapshots", name))
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return snap
}

// retries is the SDK's standard retryer with n attempts, its backoff
// replaced by delay so that tests do not sleep for seconds, and its client
// side retry quota off so a test can retry as often as it needs.
func retries(n int, delay func(attempt int)) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = n
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			if delay != nil {
				delay(attempt)
			}
			return time.Millisecond, nil
		})
	})
}

// start serves sim on loopback and returns a real EC2 client pointed at it,
// with dummy static credentials, so nothing looks for real ones.
func start(t *testing.T, sim *ec2sim.Sim, optFns ...func(*ec2.Options)) *ec2.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	endpoint, err := sim.Start(ctx)
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("closing the simulator: %v", err)
		}
	})
	base := func(o *ec2.Options) {
		o.Retryer = retries(1, nil)
		o.HTTPClient = sdktest.HTTPClient()
	}
	return ec2sim.NewClient(endpoint, append([]func(*ec2.Options){base}, optFns...)...)
}

func withRetryer(r aws.Retryer) func(*ec2.Options) {
	return func(o *ec2.Options) { o.Retryer = r }
}

// code is the EC2 error code of err, failing the test when there is none.
func code(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an EC2 API error, got %v", err)
	}
	return ae.ErrorCode()
}

// status is the HTTP status of the answer that made err.
func status(t *testing.T, err error) int {
	t.Helper()
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want an HTTP response error, got %v", err)
	}
	return re.HTTPStatusCode()
}
