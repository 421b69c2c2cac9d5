package elbv2sim

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

// query is one ELBv2 request: its action, its form-encoded parameters and
// the account's Options.PageSize.
type query struct {
	action   string
	form     url.Values
	pageSize int
}

type handler func(account *snapshot.Snapshot, q query) (any, error)

// handlers are the ELBv2 actions the simulator answers; any other is
// InvalidAction.
var handlers = map[string]handler{
	"DescribeLoadBalancers": describeLoadBalancers,
	"DescribeListeners":     describeListeners,
}

// Limits from the actions' API reference pages (ELBv2 API Reference,
// DescribeLoadBalancers and DescribeListeners): "You can specify up to 20
// load balancers in a single call", and PageSize "Valid Range: Minimum value
// of 1. Maximum value of 400." Without PageSize the simulator answers pages
// of 400, the default the ELB API version 1 reference states; version 2's
// states none.
const (
	maxLoadBalancerArns = 20
	minPageSize         = 1
	maxPageSize         = 400
)

// describeLoadBalancers selects by LoadBalancerArns.member.N or
// Names.member.N (all load balancers when neither is given), in the
// snapshot's order.
func describeLoadBalancers(account *snapshot.Snapshot, q query) (any, error) {
	arns := ec2sim.ListParam(q.form, "LoadBalancerArns.member")
	names := ec2sim.ListParam(q.form, "Names.member")
	switch {
	case len(arns) > 0 && len(names) > 0:
		return nil, errorf(ValidationError, "Load balancer names and load balancer ARNs cannot be specified at the same time")
	case len(arns) > maxLoadBalancerArns:
		return nil, errorf(ValidationError, "Up to %d load balancers can be described at a time, but %d were specified", maxLoadBalancerArns, len(arns))
	}
	for _, arn := range arns {
		if err := checkARN(arn, "loadbalancer", "load balancer"); err != nil {
			return nil, err
		}
	}
	items := account.LoadBalancers
	if len(arns) > 0 {
		var missing []string
		if items, missing = ec2sim.ByIDs(items, arns, loadBalancerARN); len(missing) > 0 {
			return nil, errorf(LoadBalancerNotFound, "One or more load balancers not found")
		}
	}
	if len(names) > 0 {
		var missing []string
		if items, missing = ec2sim.ByIDs(items, names, func(lb elbv2types.LoadBalancer) string { return aws.ToString(lb.LoadBalancerName) }); len(missing) > 0 {
			return nil, errorf(LoadBalancerNotFound, "Load balancers '[%s]' not found", strings.Join(missing, ", "))
		}
	}
	page, next, err := paginate(q, items)
	if err != nil {
		return nil, err
	}
	return &elasticloadbalancingv2.DescribeLoadBalancersOutput{LoadBalancers: page, NextMarker: next}, nil
}

// describeListeners answers the listeners of LoadBalancerArn or those named
// by ListenerArns.member.N: "You must specify either a load balancer or one
// or more listeners" (its API reference).
func describeListeners(account *snapshot.Snapshot, q query) (any, error) {
	lbARN := q.form.Get("LoadBalancerArn")
	arns := ec2sim.ListParam(q.form, "ListenerArns.member")
	var items []elbv2types.Listener
	switch {
	case lbARN != "" && len(arns) > 0:
		return nil, errorf(ValidationError, "Listener ARNs and a load balancer ARN cannot be specified at the same time")
	case lbARN != "":
		if err := checkARN(lbARN, "loadbalancer", "load balancer"); err != nil {
			return nil, err
		}
		if _, missing := ec2sim.ByIDs(account.LoadBalancers, []string{lbARN}, loadBalancerARN); len(missing) > 0 {
			return nil, errorf(LoadBalancerNotFound, "One or more load balancers not found")
		}
		for _, l := range account.Listeners {
			if aws.ToString(l.LoadBalancerArn) == lbARN {
				items = append(items, l)
			}
		}
	case len(arns) > 0:
		for _, arn := range arns {
			if err := checkARN(arn, "listener", "listener"); err != nil {
				return nil, err
			}
		}
		var missing []string
		if items, missing = ec2sim.ByIDs(account.Listeners, arns, func(l elbv2types.Listener) string { return aws.ToString(l.ListenerArn) }); len(missing) > 0 {
			return nil, errorf(ListenerNotFound, "One or more listeners not found")
		}
	default:
		return nil, errorf(ValidationError, "You must specify either listener ARNs or a load balancer ARN")
	}
	page, next, err := paginate(q, items)
	if err != nil {
		return nil, err
	}
	return &elasticloadbalancingv2.DescribeListenersOutput{Listeners: page, NextMarker: next}, nil
}

func loadBalancerARN(lb elbv2types.LoadBalancer) string { return aws.ToString(lb.LoadBalancerArn) }

// checkARN refuses what is not an ELBv2 ARN of resource (loadbalancer/...,
// listener/...) before looking it up, as ELBv2 does: "'…' is not a valid
// load balancer ARN" is a ValidationError, not a NotFound.
func checkARN(arn, resource, noun string) *apiError {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "elasticloadbalancing" || !strings.HasPrefix(parts[5], resource+"/") {
		return errorf(ValidationError, "'%s' is not a valid %s ARN", arn, noun)
	}
	return nil
}

// paginate applies PageSize and Marker to items: pages of PageSize, of the
// account's Options.PageSize when PageSize is absent, else of 400; a
// NextMarker while items remain. An empty answer is an empty list, which
// the SDK decodes as the CLI prints it ([]).
func paginate[T any](q query, items []T) ([]T, *string, error) {
	start := 0
	if m := q.form.Get("Marker"); m != "" {
		n, ok := ec2sim.PageOffset(q.action, m)
		if !ok || n > len(items) {
			return nil, nil, errorf(ValidationError, "The marker '%s' is not valid", m)
		}
		start = n
	}
	size := maxPageSize
	if q.pageSize > 0 {
		size = q.pageSize
	}
	if v := q.form.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return nil, nil, errorf(ValidationError, "1 validation error detected: Value '%s' at 'pageSize' failed to satisfy constraint: Member must be a number", v)
		case n < minPageSize:
			return nil, nil, errorf(ValidationError, "1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value greater than or equal to %d", n, minPageSize)
		case n > maxPageSize:
			return nil, nil, errorf(ValidationError, "1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to %d", n, maxPageSize)
		}
		size = n
	}
	page := append([]T{}, items[start:min(start+size, len(items))]...)
	if start+size >= len(items) {
		return page, nil, nil
	}
	next := ec2sim.PageToken(q.action, start+size)
	return page, &next, nil
}
