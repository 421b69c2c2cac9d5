package burstaccount_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/testkit/burstaccount"
	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// TestEveryInstanceCanBePlaced places each instance of a small burst
// account one after another with the steps themselves: every one is
// created in its own zone, which proves the account is what the burst tests
// say it is (every sensor reachable, room the only limit).
func TestEveryInstanceCanBePlaced(t *testing.T) {
	snap := burstaccount.New(30, 3)
	if err := snap.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	acct := ec2account.Start(t, snap, ec2sim.Options{})
	instances, err := ec2api.InstancesAsList(context.Background(), acct.Client, &ec2.DescribeInstancesInput{})
	if err != nil || len(instances) != 30 {
		t.Fatalf("described %d instances, %v; want 30", len(instances), err)
	}
	h := steps.New(acct.Client, acct.ELBv2, *snap.Config)
	perTarget := map[string]int{}
	for _, inst := range instances {
		in, err := steps.Run(context.Background(), h, workflow.Start{Input: []byte(`{"instanceId":"` + *inst.InstanceId + `"}`), ExecutionID: "burst"})
		if err != nil || len(in.Interfaces) != 1 {
			t.Fatalf("%s: %d interfaces (%s), %v; want its primary one", *inst.InstanceId, len(in.Interfaces), in.Reason, err)
		}
		p := in.Interfaces[0]
		if p.Outcome != workflow.OutcomeCreated {
			t.Fatalf("%s: %s (%s); want created", *inst.InstanceId, p.Outcome, p.Reason)
		}
		if p.Steps[2].Kept == nil || len(p.Steps[3].Rejected)+len(p.Steps[4].Rejected) != 0 {
			t.Errorf("%s: a filter rejected a sensor: %+v", *inst.InstanceId, p.Steps)
		}
		perTarget[p.TargetID]++
	}
	for target, n := range perTarget {
		if n != 10 {
			t.Errorf("%s took %d sources, want all 10 of 30 instances on 3 sensors", target, n)
		}
	}
}

var update = flag.Bool("update", false, "rewrite testdata/snapshots/backfill.json from Backfill()")

// TestBackfillIsTheExampleAccount keeps testdata/snapshots/backfill.json
// what Backfill() builds (go test -run TestBackfill -update rewrites it).
func TestBackfillIsTheExampleAccount(t *testing.T) {
	path := filepath.Join("..", "..", "..", "testdata", "snapshots", "backfill.json")
	var want bytes.Buffer
	if err := burstaccount.Backfill().Encode(&want); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%s differs from burstaccount.Backfill(); run go test ./internal/testkit/burstaccount -run TestBackfill -update", path)
	}
}
