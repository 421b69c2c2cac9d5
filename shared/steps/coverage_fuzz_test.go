package steps

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// mutate changes the scoped example account as each byte of ops says:
// the low 3 bits choose what, the rest which instance, target or
// interface. Every change is one a real account can go through.
func mutate(snap *snapshot.Snapshot, ops []byte) {
	var instances []*ec2types.Instance
	var enis []string
	for r := range snap.Reservations {
		for i := range snap.Reservations[r].Instances {
			inst := &snap.Reservations[r].Instances[i]
			instances = append(instances, inst)
			for _, ni := range inst.NetworkInterfaces {
				enis = append(enis, aws.ToString(ni.NetworkInterfaceId))
			}
		}
	}
	for n, op := range ops {
		k := int(op >> 3)
		inst := instances[k%len(instances)]
		switch op & 7 {
		case 0:
			inst.State = &ec2types.InstanceState{Name: ec2types.InstanceStateNameStopped, Code: aws.Int32(80)}
		case 1:
			inst.Tags = append(inst.Tags, ec2types.Tag{Key: aws.String("mirrorflow:exclude"), Value: aws.String("true")})
		case 2:
			inst.InstanceType = ec2types.InstanceTypeT2Micro
		case 3:
			if len(snap.TrafficMirrorTargets) > 0 {
				t := &snap.TrafficMirrorTargets[k%len(snap.TrafficMirrorTargets)]
				t.Tags = append(t.Tags, ec2types.Tag{Key: aws.String(placement.DrainingTagKey), Value: aws.String(placement.DrainingTagValue)})
			}
		case 4:
			if len(snap.TrafficMirrorTargets) > 1 {
				i := k % len(snap.TrafficMirrorTargets)
				snap.TrafficMirrorTargets = slices.Delete(snap.TrafficMirrorTargets, i, i+1)
			}
		case 5:
			if len(snap.TrafficMirrorTargets) > 0 {
				target := snap.TrafficMirrorTargets[(k/3)%len(snap.TrafficMirrorTargets)].TrafficMirrorTargetId
				s := mirrorflowSession(fmt.Sprintf("tms-0%016x", n), enis[k%len(enis)], aws.ToString(target))
				s.SessionNumber = aws.Int32(int32(1 + k%4))
				snap.TrafficMirrorSessions = append(snap.TrafficMirrorSessions, s)
			}
		case 6:
			snap.Config.Interfaces = []string{config.InterfacesPrimary, config.InterfacesAll}[k%2]
		case 7:
			if len(snap.Config.Rules) > 0 {
				i := k % len(snap.Config.Rules)
				snap.Config.Rules = slices.Delete(snap.Config.Rules, i, i+1)
			}
		}
	}
}

// FuzzCoverageAgreesWithPlan changes the scoped example account at random
// and checks that coverage never panics, lists each source interface once,
// and says of each what a plan's placement of it says: exists is
// mirrored, skipped is skipped, created and failed are unmirrored. Plans
// place one instance after another, so each runs after coverage, on the
// same account.
func FuzzCoverageAgreesWithPlan(f *testing.F) {
	for _, seed := range [][]byte{nil, {0x03, 0x0d, 0x15}, {0x06, 0x2d, 0x45, 0x51}, {0x0f, 0x1c, 0x22, 0x39, 0x40}, {0x07, 0x0f, 0x17, 0x1f, 0x26, 0x2e}} {
		f.Add(seed)
	}
	base := ec2account.Example(f, "scoped.json")
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 32 {
			t.Skip("a few dozen changes reach every rule")
		}
		snap := base.Clone()
		mutate(snap, ops)
		if err := snap.Config.Validate(); err != nil {
			t.Skip("the changes left an invalid configuration:", err)
		}
		a := ec2account.Start(t, snap, ec2sim.Options{Seed: 1})
		cfg := *snap.Config
		c := coverageOf(t, a, cfg)
		got := map[string]workflow.InterfaceCoverage{}
		for _, i := range c.Interfaces {
			if _, dup := got[i.NetworkInterfaceID]; dup {
				t.Fatalf("%s listed twice", i.NetworkInterfaceID)
			}
			got[i.NetworkInterfaceID] = i
		}

		ctx := context.Background()
		running, err := ec2api.InstancesAsList(ctx, a.Client, &ec2.DescribeInstancesInput{
			Filters: []ec2types.Filter{ec2api.Filter("instance-state-name", "running")},
		})
		if err != nil {
			t.Fatal(err)
		}
		h := New(a.Client, a.ELBv2, cfg)
		planned := 0
		for _, inst := range running {
			id := aws.ToString(inst.InstanceId)
			in, err := Run(ctx, h, startFor(id))
			if err != nil || in.Outcome == workflow.OutcomeSkipped {
				for _, i := range c.Interfaces {
					if i.InstanceID == id && i.Status != workflow.CoverageSkipped {
						t.Errorf("plan skips %s (%v, %s) but coverage says %s is %s", id, err, in.Reason, i.NetworkInterfaceID, i.Status)
					}
				}
				continue
			}
			for _, p := range in.Interfaces {
				eni := p.Source.NetworkInterfaceID
				want := map[workflow.Outcome]string{
					workflow.OutcomeExists: workflow.CoverageMirrored, workflow.OutcomeSkipped: workflow.CoverageSkipped,
					workflow.OutcomeCreated: workflow.CoverageUnmirrored, workflow.OutcomeFailed: workflow.CoverageUnmirrored,
				}[p.Outcome]
				if got[eni].Status != want {
					t.Errorf("plan says %s of %s is %s (%s); coverage says %q (%s)", eni, id, p.Outcome, p.Reason, got[eni].Status, got[eni].Reason)
				}
				planned++
			}
		}
		if want := len(c.Interfaces); planned > want {
			t.Errorf("plan placed %d interfaces, coverage lists %d", planned, want)
		}
	})
}
