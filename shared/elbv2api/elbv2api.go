// Package elbv2api is the narrow Elastic Load Balancing (v2) surface
// mirrorflow calls, with the SDK's exact signatures so that
// *elasticloadbalancingv2.Client and the SDK's paginators fit it: a Network
// Load Balancer traffic mirror target's zones and its listeners.
package elbv2api

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// API holds only the ELBv2 operations mirrorflow calls.
type API interface {
	elasticloadbalancingv2.DescribeLoadBalancersAPIClient
	elasticloadbalancingv2.DescribeListenersAPIClient
}

var _ API = (*elasticloadbalancingv2.Client)(nil)

// MaxLoadBalancerARNs is the most load balancer ARNs one
// DescribeLoadBalancers call accepts (its API reference: LoadBalancerArns,
// "You can specify up to 20 load balancers in a single call").
const MaxLoadBalancerARNs = 20

// LoadBalancersAsList describes the load balancers of arns, 20 to a call,
// every page of each. An ARN of no load balancer fails the call with
// LoadBalancerNotFound, as it does in AWS; callers that must tolerate a
// deleted one ask first which exist (LoadBalancersAsList with none: all of
// the account's).
func LoadBalancersAsList(ctx context.Context, api elasticloadbalancingv2.DescribeLoadBalancersAPIClient, arns []string) ([]elbv2types.LoadBalancer, error) {
	page := func(in *elasticloadbalancingv2.DescribeLoadBalancersInput) ([]elbv2types.LoadBalancer, error) {
		p := elasticloadbalancingv2.NewDescribeLoadBalancersPaginator(api, in)
		return ec2api.All(ctx, p.HasMorePages, p.NextPage, "load balancers",
			func(o *elasticloadbalancingv2.DescribeLoadBalancersOutput) []elbv2types.LoadBalancer {
				return o.LoadBalancers
			})
	}
	if len(arns) == 0 {
		return page(&elasticloadbalancingv2.DescribeLoadBalancersInput{})
	}
	return ec2api.InChunks(arns, MaxLoadBalancerARNs, func(chunk []string) ([]elbv2types.LoadBalancer, error) {
		return page(&elasticloadbalancingv2.DescribeLoadBalancersInput{LoadBalancerArns: chunk})
	})
}

// ListenersAsList describes the listeners of one load balancer, every page.
// ELBv2 has no form of DescribeListeners for several load balancers, so a
// caller makes one call per Network Load Balancer target.
func ListenersAsList(ctx context.Context, api elasticloadbalancingv2.DescribeListenersAPIClient, loadBalancerARN string) ([]elbv2types.Listener, error) {
	p := elasticloadbalancingv2.NewDescribeListenersPaginator(api, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: &loadBalancerARN})
	return ec2api.All(ctx, p.HasMorePages, p.NextPage, "the listeners of "+loadBalancerARN,
		func(o *elasticloadbalancingv2.DescribeListenersOutput) []elbv2types.Listener { return o.Listeners })
}
