package snapshot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/elbv2api"
)

// EC2 holds the EC2 calls Take makes, with the SDK's exact signatures so
// that *ec2.Client and the SDK's paginators fit it. Every one is a Describe
// or a Get: taking a snapshot can never change the account it reads.
type EC2 interface {
	ec2.DescribeInstancesAPIClient
	ec2.DescribeInstanceTypesAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeNetworkAclsAPIClient
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeTrafficMirrorTargetsAPIClient
	ec2.DescribeTrafficMirrorFiltersAPIClient
	ec2.DescribeTrafficMirrorSessionsAPIClient
	ec2.DescribeVpcEndpointsAPIClient
	ec2.DescribeManagedPrefixListsAPIClient
	ec2.GetManagedPrefixListEntriesAPIClient
}

// ELBv2 holds the Elastic Load Balancing calls Take makes, both Describes.
type ELBv2 interface {
	elasticloadbalancingv2.DescribeLoadBalancersAPIClient
	elasticloadbalancingv2.DescribeListenersAPIClient
}

var (
	_ EC2   = (*ec2.Client)(nil)
	_ ELBv2 = (*elasticloadbalancingv2.Client)(nil)
)

// Take reads the account and Region the clients are for into a Snapshot
// holding every key snapshot-format.md names, without Config (the caller
// knows the deployment; the account does not). EC2's own kinds are read
// whole: every instance in any state, every interface, group, ACL, subnet
// and traffic mirror resource. The rest is read for what those name, since
// that is all a placement looks up and an account may hold far more:
// the types of the instances, the prefix lists the groups' rules name, the
// Gateway Load Balancer endpoints and Network Load Balancers (with their
// listeners) the traffic mirror targets point at.
//
// The calls are made one after another, so a change made while they run
// may show half; take it again for a consistent view.
func Take(ctx context.Context, api EC2, lb ELBv2) (*Snapshot, error) {
	s := &Snapshot{}
	var err error
	if s.Reservations, err = reservationsAsList(ctx, api); err != nil {
		return nil, err
	}
	if s.NetworkInterfaces, err = ec2api.NetworkInterfacesAsList(ctx, api, &ec2.DescribeNetworkInterfacesInput{}); err != nil {
		return nil, err
	}
	if s.SecurityGroups, err = ec2api.SecurityGroupsAsList(ctx, api, &ec2.DescribeSecurityGroupsInput{}); err != nil {
		return nil, err
	}
	if s.NetworkAcls, err = ec2api.NetworkAclsAsList(ctx, api, &ec2.DescribeNetworkAclsInput{}); err != nil {
		return nil, err
	}
	if s.Subnets, err = ec2api.SubnetsAsList(ctx, api, &ec2.DescribeSubnetsInput{}); err != nil {
		return nil, err
	}
	if s.TrafficMirrorTargets, err = ec2api.TrafficMirrorTargetsAsList(ctx, api, &ec2.DescribeTrafficMirrorTargetsInput{}); err != nil {
		return nil, err
	}
	if s.TrafficMirrorFilters, err = trafficMirrorFiltersAsList(ctx, api); err != nil {
		return nil, err
	}
	if s.TrafficMirrorSessions, err = ec2api.TrafficMirrorSessionsAsList(ctx, api, &ec2.DescribeTrafficMirrorSessionsInput{}); err != nil {
		return nil, err
	}
	if s.InstanceTypes, err = instanceTypesInUse(ctx, api, s.Reservations); err != nil {
		return nil, err
	}
	if s.ManagedPrefixLists, s.PrefixListEntries, err = prefixListsNamed(ctx, api, s.SecurityGroups); err != nil {
		return nil, err
	}
	if s.VPCEndpoints, err = endpointsOfTargets(ctx, api, s.TrafficMirrorTargets); err != nil {
		return nil, err
	}
	if s.LoadBalancers, s.Listeners, err = loadBalancersOfTargets(ctx, lb, s.TrafficMirrorTargets); err != nil {
		return nil, err
	}
	return s, nil
}

// reservationsAsList returns every reservation, with its instances in any
// state, as describe-instances prints them: the snapshot keeps reservations,
// which ec2api.InstancesAsList flattens away.
func reservationsAsList(ctx context.Context, api ec2.DescribeInstancesAPIClient) ([]ec2types.Reservation, error) {
	p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{})
	return ec2api.All(ctx, p.HasMorePages, p.NextPage, "instances",
		func(o *ec2.DescribeInstancesOutput) []ec2types.Reservation { return o.Reservations })
}

func trafficMirrorFiltersAsList(ctx context.Context, api ec2.DescribeTrafficMirrorFiltersAPIClient) ([]ec2types.TrafficMirrorFilter, error) {
	p := ec2.NewDescribeTrafficMirrorFiltersPaginator(api, &ec2.DescribeTrafficMirrorFiltersInput{})
	return ec2api.All(ctx, p.HasMorePages, p.NextPage, "traffic mirror filters",
		func(o *ec2.DescribeTrafficMirrorFiltersOutput) []ec2types.TrafficMirrorFilter {
			return o.TrafficMirrorFilters
		})
}

// instanceTypesInUse describes the types the instances are of, for their
// Hypervisor. They are named by filter, not by InstanceTypes, so that a
// type EC2 no longer offers is left out rather than failing the call.
func instanceTypesInUse(ctx context.Context, api ec2.DescribeInstanceTypesAPIClient, reservations []ec2types.Reservation) ([]ec2types.InstanceTypeInfo, error) {
	var names []string
	for _, r := range reservations {
		for _, i := range r.Instances {
			if i.InstanceType != "" {
				names = append(names, string(i.InstanceType))
			}
		}
	}
	slices.Sort(names)
	types, err := ec2api.InChunks(names, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.InstanceTypeInfo, error) {
		return ec2api.InstanceTypesAsList(ctx, api, &ec2.DescribeInstanceTypesInput{
			Filters: []ec2types.Filter{ec2api.Filter("instance-type", chunk...)},
		})
	})
	// EC2 answers in an order of its own; by name, two snapshots of one
	// account diff cleanly.
	slices.SortFunc(types, func(a, b ec2types.InstanceTypeInfo) int {
		return strings.Compare(string(a.InstanceType), string(b.InstanceType))
	})
	return types, err
}

// prefixListsNamed describes the prefix lists that the groups' inbound or
// outbound rules name, and reads each one's entries.
func prefixListsNamed(ctx context.Context, api interface {
	ec2.DescribeManagedPrefixListsAPIClient
	ec2.GetManagedPrefixListEntriesAPIClient
}, groups []ec2types.SecurityGroup,
) ([]ec2types.ManagedPrefixList, map[string][]ec2types.PrefixListEntry, error) {
	var ids []string
	for _, g := range groups {
		for _, perm := range slices.Concat(g.IpPermissions, g.IpPermissionsEgress) {
			for _, pl := range perm.PrefixListIds {
				if id := aws.ToString(pl.PrefixListId); id != "" {
					ids = append(ids, id)
				}
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	slices.Sort(ids)
	lists, err := ec2api.InChunks(ids, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.ManagedPrefixList, error) {
		p := ec2.NewDescribeManagedPrefixListsPaginator(api, &ec2.DescribeManagedPrefixListsInput{
			Filters: []ec2types.Filter{ec2api.Filter("prefix-list-id", chunk...)},
		})
		return ec2api.All(ctx, p.HasMorePages, p.NextPage, "managed prefix lists",
			func(o *ec2.DescribeManagedPrefixListsOutput) []ec2types.ManagedPrefixList { return o.PrefixLists })
	})
	if err != nil {
		return nil, nil, err
	}
	entries := make(map[string][]ec2types.PrefixListEntry, len(lists))
	for _, pl := range lists {
		id := aws.ToString(pl.PrefixListId)
		p := ec2.NewGetManagedPrefixListEntriesPaginator(api, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: pl.PrefixListId})
		if entries[id], err = ec2api.All(ctx, p.HasMorePages, p.NextPage, "the entries of prefix list "+id,
			func(o *ec2.GetManagedPrefixListEntriesOutput) []ec2types.PrefixListEntry { return o.Entries }); err != nil {
			return nil, nil, err
		}
	}
	return lists, entries, nil
}

// endpointsOfTargets describes the Gateway Load Balancer endpoints the
// targets point at. They are named by filter, so an endpoint deleted under
// its target is simply absent, as the snapshot format says a missing
// resource is.
func endpointsOfTargets(ctx context.Context, api ec2.DescribeVpcEndpointsAPIClient, targets []ec2types.TrafficMirrorTarget) ([]ec2types.VpcEndpoint, error) {
	var ids []string
	for _, t := range targets {
		if id := aws.ToString(t.GatewayLoadBalancerEndpointId); id != "" {
			ids = append(ids, id)
		}
	}
	return ec2api.InChunks(ids, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.VpcEndpoint, error) {
		return ec2api.VPCEndpointsAsList(ctx, api, &ec2.DescribeVpcEndpointsInput{
			Filters: []ec2types.Filter{ec2api.Filter("vpc-endpoint-id", chunk...)},
		})
	})
}

// loadBalancersOfTargets describes the Network Load Balancers the targets
// point at, and their listeners. It lists the account's load balancers and
// keeps those, because naming a deleted one fails the whole call
// (LoadBalancerNotFound); without such targets it calls nothing, so an
// account without them needs no ELBv2 permission.
func loadBalancersOfTargets(ctx context.Context, api ELBv2, targets []ec2types.TrafficMirrorTarget) ([]elbv2types.LoadBalancer, []elbv2types.Listener, error) {
	named := map[string]bool{}
	for _, t := range targets {
		if arn := aws.ToString(t.NetworkLoadBalancerArn); arn != "" {
			named[arn] = true
		}
	}
	if len(named) == 0 {
		return nil, nil, nil
	}
	all, err := elbv2api.LoadBalancersAsList(ctx, api, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the load balancers traffic mirror targets name: %w", err)
	}
	var kept []elbv2types.LoadBalancer
	var listeners []elbv2types.Listener
	for _, b := range all {
		arn := aws.ToString(b.LoadBalancerArn)
		if !named[arn] {
			continue
		}
		kept = append(kept, b)
		ls, err := elbv2api.ListenersAsList(ctx, api, arn)
		if err != nil {
			return nil, nil, err
		}
		listeners = append(listeners, ls...)
	}
	return kept, listeners, nil
}
