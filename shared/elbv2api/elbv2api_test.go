package elbv2api_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/ec2account"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/elbv2api"
)

// nlbARN is the ARN of the i-th Network Load Balancer of the test account.
func nlbARN(i int) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/sensors-%02d/%016x", i, i+1)
}

// accountOf holds n Network Load Balancers, the first with two listeners.
func accountOf(n int) *snapshot.Snapshot {
	snap := &snapshot.Snapshot{}
	for i := range n {
		snap.LoadBalancers = append(snap.LoadBalancers, elbv2types.LoadBalancer{
			LoadBalancerArn: aws.String(nlbARN(i)), LoadBalancerName: aws.String(fmt.Sprintf("sensors-%02d", i)),
			Type: elbv2types.LoadBalancerTypeEnumNetwork,
		})
	}
	for i, proto := range []elbv2types.ProtocolEnum{elbv2types.ProtocolEnumUdp, elbv2types.ProtocolEnumTcpUdp} {
		snap.Listeners = append(snap.Listeners, elbv2types.Listener{
			ListenerArn:     aws.String(fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/sensors-00/%016x/%016x", 1, i+1)),
			LoadBalancerArn: aws.String(nlbARN(0)), Port: aws.Int32(4789), Protocol: proto,
		})
	}
	return snap
}

func arnsOf(lbs []elbv2types.LoadBalancer) []string {
	out := make([]string, 0, len(lbs))
	for _, lb := range lbs {
		out = append(out, aws.ToString(lb.LoadBalancerArn))
	}
	return out
}

// TestLoadBalancersAsList checks the 20-ARN limit of DescribeLoadBalancers
// ("You can specify up to 20 load balancers in a single call"): more ARNs
// are asked in chunks, which the simulator would otherwise refuse with
// ValidationError as ELBv2 does.
func TestLoadBalancersAsList(t *testing.T) {
	const n = 45
	acct := ec2account.Start(t, accountOf(n), ec2sim.Options{})
	all := make([]string, n)
	for i := range all {
		all[i] = nlbARN(i)
	}
	tests := []struct {
		name string
		arns []string
		want []string
	}{
		{name: "no ARNs describe every load balancer of the account", arns: nil, want: all},
		{name: "20 ARNs fit in one call", arns: all[:20], want: all[:20]},
		{name: "45 ARNs are asked 20 at a time", arns: all, want: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := elbv2api.LoadBalancersAsList(context.Background(), acct.ELBv2, tt.arns)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, arnsOf(got)); diff != "" {
				t.Errorf("load balancers (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("an ARN of no load balancer fails the call with LoadBalancerNotFound", func(t *testing.T) {
		_, err := elbv2api.LoadBalancersAsList(context.Background(), acct.ELBv2, []string{nlbARN(n)})
		if err == nil || awserr.Code(err) != "LoadBalancerNotFound" {
			t.Fatalf("error = %v, want LoadBalancerNotFound", err)
		}
	})
}

func TestListenersAsList(t *testing.T) {
	acct := ec2account.Start(t, accountOf(2), ec2sim.Options{})
	got, err := elbv2api.ListenersAsList(context.Background(), acct.ELBv2, nlbARN(0))
	if err != nil || len(got) != 2 {
		t.Fatalf("listeners of the first load balancer: %d, %v; want its 2", len(got), err)
	}
	got, err = elbv2api.ListenersAsList(context.Background(), acct.ELBv2, nlbARN(1))
	if err != nil || len(got) != 0 {
		t.Fatalf("listeners of the second load balancer: %d, %v; want none", len(got), err)
	}
}
