package steps

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/elbv2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
)

// pointees is what a set of traffic mirror targets point at, as EC2 and
// ELBv2 describe them now: their interfaces, Network Load Balancers and
// Gateway Load Balancer endpoints. Whatever is missing is gone.
type pointees struct {
	interfaces    []ec2types.NetworkInterface
	loadBalancers []elbv2types.LoadBalancer
	endpoints     []ec2types.VpcEndpoint
}

// describePointees describes what targets point at, one batched call per
// kind: interfaces and endpoints by filter (a vanished one is simply not in
// the answer), load balancers by ARN, 20 to a call.
func (h *Handlers) describePointees(ctx context.Context, targets []ec2types.TrafficMirrorTarget) (pointees, error) {
	var enis, arns, endpoints []string
	for _, t := range targets {
		enis = append(enis, aws.ToString(t.NetworkInterfaceId))
		arns = append(arns, aws.ToString(t.NetworkLoadBalancerArn))
		endpoints = append(endpoints, aws.ToString(t.GatewayLoadBalancerEndpointId))
	}
	var out pointees
	var err error
	if enis = sortedUnique(enis); len(enis) > 0 {
		out.interfaces, err = ec2api.InChunks(enis, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.NetworkInterface, error) {
			return ec2api.NetworkInterfacesAsList(ctx, h.EC2, &ec2.DescribeNetworkInterfacesInput{
				Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", chunk...)},
			})
		})
		if err != nil {
			return pointees{}, steperr.FromEC2("describing the sensors' network interfaces", err)
		}
	}
	if endpoints = sortedUnique(endpoints); len(endpoints) > 0 {
		out.endpoints, err = ec2api.InChunks(endpoints, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.VpcEndpoint, error) {
			return ec2api.VPCEndpointsAsList(ctx, h.EC2, &ec2.DescribeVpcEndpointsInput{
				Filters: []ec2types.Filter{ec2api.Filter("vpc-endpoint-id", chunk...)},
			})
		})
		if err != nil {
			return pointees{}, steperr.FromEC2("describing the sensors' Gateway Load Balancer endpoints", err)
		}
	}
	if arns = sortedUnique(arns); len(arns) > 0 {
		if out.loadBalancers, err = h.loadBalancers(ctx, arns); err != nil {
			return pointees{}, err
		}
	}
	return out, nil
}

// loadBalancers describes the load balancers of arns. DescribeLoadBalancers
// fails the whole call when one ARN is gone (LoadBalancerNotFound), so then
// it lists the account's load balancers instead and the gone one is simply
// missing, as a vanished interface is.
func (h *Handlers) loadBalancers(ctx context.Context, arns []string) ([]elbv2types.LoadBalancer, error) {
	if h.ELBv2 == nil {
		return nil, &steperr.InvalidConfiguration{Err: errors.New("a Network Load Balancer target needs an Elastic Load Balancing client, and the step has none")}
	}
	lbs, err := elbv2api.LoadBalancersAsList(ctx, h.ELBv2, arns)
	var gone *elbv2types.LoadBalancerNotFoundException
	if errors.As(err, &gone) {
		lbs, err = elbv2api.LoadBalancersAsList(ctx, h.ELBv2, nil)
	}
	if err != nil {
		return nil, steperr.FromEC2("describing the sensors' Network Load Balancers", err)
	}
	return lbs, nil
}

// live says, for each target, whether what it points at still exists.
func (pt pointees) live(targets []ec2types.TrafficMirrorTarget) map[string]bool {
	enis, lbs, endpoints := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, e := range pt.interfaces {
		enis[aws.ToString(e.NetworkInterfaceId)] = true
	}
	for _, lb := range pt.loadBalancers {
		lbs[aws.ToString(lb.LoadBalancerArn)] = true
	}
	for _, e := range pt.endpoints {
		endpoints[aws.ToString(e.VpcEndpointId)] = true
	}
	out := make(map[string]bool, len(targets))
	for _, t := range targets {
		out[aws.ToString(t.TrafficMirrorTargetId)] = placement.Live(t, enis, lbs, endpoints)
	}
	return out
}

// liveTargets says which of the targets that sessions go to still point at
// something: only those need asking, and usually a new instance has none.
func (h *Handlers) liveTargets(ctx context.Context, targets []ec2types.TrafficMirrorTarget, sessions []ec2types.TrafficMirrorSession) (map[string]bool, error) {
	used := map[string]bool{}
	for _, s := range sessions {
		used[aws.ToString(s.TrafficMirrorTargetId)] = true
	}
	var asked []ec2types.TrafficMirrorTarget
	for _, t := range targets {
		if used[aws.ToString(t.TrafficMirrorTargetId)] {
			asked = append(asked, t)
		}
	}
	if len(asked) == 0 {
		return map[string]bool{}, nil
	}
	pt, err := h.describePointees(ctx, asked)
	if err != nil {
		return nil, err
	}
	return pt.live(asked), nil
}
