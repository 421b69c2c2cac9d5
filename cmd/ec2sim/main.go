// Command ec2sim serves the EC2 simulator, and the ELBv2 simulator on the
// same address, seeded from a snapshot, for people who want to point the
// AWS CLI or a Lambda binary at them:
//
//	ec2sim --snapshot testdata/snapshots/three-zones.json --addr 127.0.0.1:8787
//	AWS_ENDPOINT_URL_EC2=http://127.0.0.1:8787 aws ec2 describe-traffic-mirror-sessions
//	AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=http://127.0.0.1:8787 aws elbv2 describe-load-balancers
//
// It prints the endpoint URL and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/elbv2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ec2sim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ec2sim", flag.ContinueOnError)
	snapPath := fs.String("snapshot", "", "account snapshot to seed from (JSON or YAML; required)")
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on")
	throttle := fs.Bool("throttle", false, "apply EC2's and ELBv2's default request-rate limits")
	faultRate := fs.Float64("fault-rate", 0, "probability in [0,1] of answering InternalError or Unavailable")
	seed := fs.Int64("seed", 1, "seed of injected faults and generated ids")
	latency := fs.Duration("latency", 0, "latency added to every answer")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parsing flags: %w", err)
	}
	if *snapPath == "" {
		return errors.New("--snapshot is required")
	}
	snap, err := snapshot.Load(*snapPath)
	if err != nil {
		return fmt.Errorf("loading the seed: %w", err)
	}
	opts := ec2sim.Options{FaultRate: *faultRate, Seed: *seed, Latency: *latency}
	if *throttle {
		opts.Throttling = ec2sim.AWSThrottling()
	}
	signals, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sim := elbv2sim.New(ec2sim.New(snap, opts))
	endpoint, err := sim.Listen(context.Background(), *addr)
	if err != nil {
		return fmt.Errorf("starting the simulator: %w", err)
	}
	fmt.Println(endpoint)
	<-signals.Done()
	if err := sim.Close(); err != nil {
		return fmt.Errorf("stopping the simulator: %w", err)
	}
	return nil
}
