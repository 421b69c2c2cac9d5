package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline"
	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

func TestOfflineOptions(t *testing.T) {
	tests := []struct {
		name  string
		flags func(o *options)
		check func(t *testing.T, got offline.Options)
	}{
		{name: "--lambda-concurrency 0 leaves each function's concurrency to the template",
			flags: func(*options) {},
			check: func(t *testing.T, got offline.Options) {
				if got.Concurrency != 0 {
					t.Errorf("Concurrency = %d, want 0", got.Concurrency)
				}
			}},
		{name: "--lambda-concurrency N gives every function N",
			flags: func(o *options) { o.lambdaConcurrency = 25 },
			check: func(t *testing.T, got offline.Options) {
				if got.Concurrency != 25 {
					t.Errorf("Concurrency = %d, want 25", got.Concurrency)
				}
			}},
		{name: "--retry-interval-ms -1 keeps the definition's intervals",
			flags: func(o *options) { o.retryInterval = -1 },
			check: func(t *testing.T, got offline.Options) {
				if got.RetryInterval != nil {
					t.Errorf("RetryInterval = %d, want nil", *got.RetryInterval)
				}
			}},
		{name: "--throttle gives EC2 AWS's token buckets",
			flags: func(o *options) { o.throttle = true },
			check: func(t *testing.T, got offline.Options) {
				if diff := cmp.Diff(ec2sim.AWSThrottling(), got.Simulator.Throttling); diff != "" {
					t.Errorf("Throttling (-want +got):\n%s", diff)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options{retryInterval: 100}
			tt.flags(&o)
			tt.check(t, offlineOptions(o, &snapshot.Snapshot{}, nil))
		})
	}
}
