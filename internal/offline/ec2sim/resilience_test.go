package ec2sim_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// TestAWSThrottlingBursts checks AWS's bucket sizes: 100 Describe calls
// pass and the 101st is RequestLimitExceeded (HTTP 503); 50 mutating
// calls pass and the 51st is refused; a second later 20 (non-mutating) and
// 5 (mutating) tokens are back.
func TestAWSThrottlingBursts(t *testing.T) {
	clk := sdktest.NewClock(time.Unix(1_700_000_000, 0))
	sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{Throttling: ec2sim.AWSThrottling(), Now: clk.Now})
	client := start(t, sim)
	ctx := context.Background()
	describe := func() error {
		_, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
		return err
	}
	dryRun := func() error {
		in := createInput(app0, sensor1, 1)
		in.DryRun = ptr(true)
		_, err := client.CreateTrafficMirrorSession(ctx, in)
		if awserr.IsDryRunOK(err) {
			return nil
		}
		return err
	}
	tests := []struct {
		name     string
		call     func() error
		burst    int
		perSec   int
		refilled time.Duration
	}{
		{"non-mutating actions burst 100 and refill 20 a second", describe, 100, 20, time.Second},
		{"mutating actions burst 50 and refill 5 a second", dryRun, 50, 5, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.burst {
				if err := tc.call(); err != nil {
					t.Fatalf("call %d of the burst: %v", i+1, err)
				}
			}
			err := tc.call()
			if code(t, err) != awserr.RequestLimitExceeded || status(t, err) != http.StatusServiceUnavailable {
				t.Fatalf("past the burst: want RequestLimitExceeded with 503, got %v", err)
			}
			clk.Advance(tc.refilled)
			for i := range tc.perSec {
				if err := tc.call(); err != nil {
					t.Fatalf("call %d after the refill: %v", i+1, err)
				}
			}
			if err := tc.call(); code(t, err) != awserr.RequestLimitExceeded {
				t.Fatalf("past the refill: want RequestLimitExceeded, got %v", err)
			}
		})
	}
	t.Run("each refused call is counted as throttled, per action", func(t *testing.T) {
		want := map[string]int{"DescribeSubnets": 2, "CreateTrafficMirrorSession": 2}
		if diff := cmp.Diff(want, sim.Throttled()); diff != "" {
			t.Errorf("Throttled (-want +got):\n%s", diff)
		}
	})
}

// TestThrottlingAndTheSDKRetryer checks that the SDK's standard retryer
// rides out throttling, and that RequestLimitExceeded surfaces once its
// attempts are spent.
func TestThrottlingAndTheSDKRetryer(t *testing.T) {
	tests := []struct {
		name      string
		attempts  int
		refill    bool
		wantCode  string
		wantCalls int
	}{
		{"the standard retryer waits for the bucket to refill", 3, true, "", 2},
		{"RequestLimitExceeded surfaces when retries are exhausted", 3, false, awserr.RequestLimitExceeded, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := sdktest.NewClock(time.Unix(1_700_000_000, 0))
			throttling := &ec2sim.Throttling{NonMutating: ec2sim.Bucket{Size: 1, RefillPerSecond: 1}}
			sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{Throttling: throttling, Now: clk.Now})
			backoff := func(int) {
				if tc.refill {
					clk.Advance(time.Second)
				}
			}
			client := start(t, sim, withRetryer(retry.AddWithMaxAttempts(retries(1, backoff), tc.attempts)))
			ctx := context.Background()
			if _, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}); err != nil {
				t.Fatalf("first call, on a full bucket: %v", err)
			}
			_, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
			if got := awserr.Code(err); got != tc.wantCode {
				t.Errorf("code = %q, want %q (%v)", got, tc.wantCode, err)
			}
			if got := sim.Calls()["DescribeSubnets"] - 1; got != tc.wantCalls {
				t.Errorf("second call reached the simulator %d times, want %d", got, tc.wantCalls)
			}
		})
	}
}

// TestInjectedFaults checks scripted and random 500/503 answers and that
// the standard retryer recovers from a few of them.
func TestInjectedFaults(t *testing.T) {
	t.Run("scripted faults are retried by the standard retryer", func(t *testing.T) {
		sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{Faults: []ec2sim.Fault{
			{Action: "DescribeTrafficMirrorTargets", Count: 2, Code: awserr.InternalError}}})
		client := start(t, sim, withRetryer(retries(3, nil)))
		if _, err := client.DescribeTrafficMirrorTargets(context.Background(), &ec2.DescribeTrafficMirrorTargetsInput{}); err != nil {
			t.Fatalf("want the third attempt to pass, got %v", err)
		}
		if got := sim.Calls()["DescribeTrafficMirrorTargets"]; got != 3 {
			t.Errorf("calls = %d, want 3", got)
		}
	})
	for _, tc := range []struct {
		name, code string
		status     int
	}{
		{"InternalError is HTTP 500", awserr.InternalError, http.StatusInternalServerError},
		{"Unavailable is HTTP 503", awserr.Unavailable, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{})
			sim.InjectFault(ec2sim.Fault{Action: "DescribeInstances", Count: 1, Code: tc.code})
			client := start(t, sim)
			_, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
			if code(t, err) != tc.code || status(t, err) != tc.status || !awserr.IsServerFault(err) {
				t.Errorf("want %s with %d, a server fault; got %v", tc.code, tc.status, err)
			}
		})
	}
	t.Run("a seeded fault rate repeats exactly", func(t *testing.T) {
		run := func() []string {
			sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{FaultRate: 0.4, Seed: 42})
			client := start(t, sim)
			var codes []string
			for range 30 {
				_, err := client.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{})
				codes = append(codes, awserr.Code(err))
			}
			return codes
		}
		first, second := run(), run()
		if strings.Join(first, ",") != strings.Join(second, ",") {
			t.Errorf("two runs with seed 42 differ:\n%v\n%v", first, second)
		}
		faults := 0
		for _, c := range first {
			switch c {
			case "":
			case awserr.InternalError, awserr.Unavailable:
				faults++
			default:
				t.Errorf("unexpected code %s", c)
			}
		}
		if faults == 0 || faults == len(first) {
			t.Errorf("%d of %d calls failed at rate 0.4", faults, len(first))
		}
	})
}

// TestLatency checks that the added latency delays the answer.
func TestLatency(t *testing.T) {
	client := start(t, ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{Latency: 80 * time.Millisecond}))
	began := time.Now()
	if _, err := client.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{}); err != nil {
		t.Fatalf("describing: %v", err)
	}
	if took := time.Since(began); took < 80*time.Millisecond {
		t.Errorf("the call took %v, want at least the 80ms latency", took)
	}
}

// TestRawQueries covers what the SDK never sends: an unknown action and a
// missing required parameter, as the AWS CLI or curl could.
func TestRawQueries(t *testing.T) {
	srv := httptest.NewServer(ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{}))
	defer srv.Close()
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"an unknown action is InvalidAction", url.Values{"Action": {"RunInstances"}, "Version": {"2016-11-15"}}, 400, awserr.InvalidAction},
		{"no action is MissingAction", url.Values{"Version": {"2016-11-15"}}, 400, awserr.MissingAction},
		{"a create without a target is MissingParameter", url.Values{"Action": {"CreateTrafficMirrorSession"},
			"NetworkInterfaceId": {app0}, "TrafficMirrorFilterId": {filter}, "SessionNumber": {"1"}}, 400, awserr.MissingParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.PostForm(srv.URL, tc.form)
			if err != nil {
				t.Fatalf("posting: %v", err)
			}
			t.Cleanup(func() { _ = resp.Body.Close() })
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			var doc struct {
				Errors []struct {
					Code    string
					Message string
				} `xml:"Errors>Error"`
				RequestID string
			}
			if err := xml.Unmarshal(body, &doc); err != nil {
				t.Fatalf("decoding %s: %v", body, err)
			}
			if resp.StatusCode != tc.status || len(doc.Errors) != 1 || doc.Errors[0].Code != tc.code || doc.RequestID == "" {
				t.Errorf("got %d %s, want %d with one %s error and a RequestID", resp.StatusCode, body, tc.status, tc.code)
			}
		})
	}
}
