// Package ec2api is the narrow EC2 surface mirrorflow calls, with the SDK's
// exact signatures so that *ec2.Client and the SDK's paginators fit it, plus
// one ...AsList helper per Describe call built on the SDK paginators (never a
// hand-written NextToken loop).
package ec2api

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// API holds only the EC2 operations mirrorflow calls.
type API interface {
	ec2.DescribeInstancesAPIClient
	ec2.DescribeInstanceTypesAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeNetworkAclsAPIClient
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeTrafficMirrorTargetsAPIClient
	ec2.DescribeTrafficMirrorSessionsAPIClient
	ec2.GetManagedPrefixListEntriesAPIClient
	ec2.DescribeVpcEndpointsAPIClient
	CreateTrafficMirrorSession(ctx context.Context, params *ec2.CreateTrafficMirrorSessionInput, optFns ...func(*ec2.Options)) (*ec2.CreateTrafficMirrorSessionOutput, error)
	DeleteTrafficMirrorSession(ctx context.Context, params *ec2.DeleteTrafficMirrorSessionInput, optFns ...func(*ec2.Options)) (*ec2.DeleteTrafficMirrorSessionOutput, error)
}

var _ API = (*ec2.Client)(nil)

// Filter builds one EC2 Describe filter.
func Filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: &name, Values: values}
}

// MaxFilterValues is the most filter values EC2 accepts in one Describe
// request. Beyond it EC2 refuses the whole call with FilterLimitExceeded,
// "The maximum number of filter values specified on a single call is 200"
// (EC2 API reference, "Error codes for the Amazon EC2 API").
const MaxFilterValues = 200

// InChunks calls describe with the distinct values in chunks of at most
// size, in order, and concatenates the answers, so that a filter built from
// every candidate stays within MaxFilterValues however large the account;
// up to size distinct values cost exactly one call. describe is typically an
// ...AsList call whose only filter is the chunk, since EC2 counts the values
// of every filter in the request, and filters on the resources' own ids, so
// no two chunks describe the same resource. The first error stops it: a
// partial answer would silently drop candidates.
func InChunks[T any](values []string, size int, describe func(chunk []string) ([]T, error)) ([]T, error) {
	if size < 1 {
		return nil, fmt.Errorf("describing in chunks of %d values: the size must be at least 1", size)
	}
	seen := make(map[string]bool, len(values))
	distinct := make([]string, 0, len(values))
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			distinct = append(distinct, v)
		}
	}
	var out []T
	for start := 0; start < len(distinct); start += size {
		end := min(start+size, len(distinct))
		items, err := describe(distinct[start:end])
		if err != nil {
			if len(distinct) <= size {
				return nil, err // one call: the caller's context says it all
			}
			return nil, fmt.Errorf("describing values %d-%d of %d: %w", start+1, end, len(distinct), err)
		}
		out = append(out, items...)
	}
	return out, nil
}

// All walks an SDK paginator, given as its HasMorePages and NextPage
// methods, and returns the items of every page in order; what names the
// resources for the error. It is the one loop every ...AsList helper runs,
// for any service's paginator (Opt is that service's Options).
func All[Out, Opt, T any](ctx context.Context, more func() bool, next func(context.Context, ...func(*Opt)) (*Out, error), what string, items func(*Out) []T) ([]T, error) {
	var out []T
	for more() {
		page, err := next(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing %s: %w", what, err)
		}
		out = append(out, items(page)...)
	}
	return out, nil
}

// InstancesAsList returns every instance the query matches, across reservations and pages.
func InstancesAsList(ctx context.Context, api ec2.DescribeInstancesAPIClient, in *ec2.DescribeInstancesInput) ([]ec2types.Instance, error) {
	p := ec2.NewDescribeInstancesPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "instances", func(o *ec2.DescribeInstancesOutput) []ec2types.Instance {
		var out []ec2types.Instance
		for _, r := range o.Reservations {
			out = append(out, r.Instances...)
		}
		return out
	})
}

// InstanceTypesAsList returns every instance type the query matches.
func InstanceTypesAsList(ctx context.Context, api ec2.DescribeInstanceTypesAPIClient, in *ec2.DescribeInstanceTypesInput) ([]ec2types.InstanceTypeInfo, error) {
	p := ec2.NewDescribeInstanceTypesPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "instance types",
		func(o *ec2.DescribeInstanceTypesOutput) []ec2types.InstanceTypeInfo { return o.InstanceTypes })
}

// NetworkInterfacesAsList returns every network interface the query matches.
func NetworkInterfacesAsList(ctx context.Context, api ec2.DescribeNetworkInterfacesAPIClient, in *ec2.DescribeNetworkInterfacesInput) ([]ec2types.NetworkInterface, error) {
	p := ec2.NewDescribeNetworkInterfacesPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "network interfaces",
		func(o *ec2.DescribeNetworkInterfacesOutput) []ec2types.NetworkInterface { return o.NetworkInterfaces })
}

// SecurityGroupsAsList returns every security group the query matches.
func SecurityGroupsAsList(ctx context.Context, api ec2.DescribeSecurityGroupsAPIClient, in *ec2.DescribeSecurityGroupsInput) ([]ec2types.SecurityGroup, error) {
	p := ec2.NewDescribeSecurityGroupsPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "security groups",
		func(o *ec2.DescribeSecurityGroupsOutput) []ec2types.SecurityGroup { return o.SecurityGroups })
}

// NetworkAclsAsList returns every network ACL the query matches.
func NetworkAclsAsList(ctx context.Context, api ec2.DescribeNetworkAclsAPIClient, in *ec2.DescribeNetworkAclsInput) ([]ec2types.NetworkAcl, error) {
	p := ec2.NewDescribeNetworkAclsPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "network ACLs",
		func(o *ec2.DescribeNetworkAclsOutput) []ec2types.NetworkAcl { return o.NetworkAcls })
}

// SubnetsAsList returns every subnet the query matches.
func SubnetsAsList(ctx context.Context, api ec2.DescribeSubnetsAPIClient, in *ec2.DescribeSubnetsInput) ([]ec2types.Subnet, error) {
	p := ec2.NewDescribeSubnetsPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "subnets",
		func(o *ec2.DescribeSubnetsOutput) []ec2types.Subnet { return o.Subnets })
}

// TrafficMirrorTargetsAsList returns every traffic mirror target the query matches.
func TrafficMirrorTargetsAsList(ctx context.Context, api ec2.DescribeTrafficMirrorTargetsAPIClient, in *ec2.DescribeTrafficMirrorTargetsInput) ([]ec2types.TrafficMirrorTarget, error) {
	p := ec2.NewDescribeTrafficMirrorTargetsPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "traffic mirror targets",
		func(o *ec2.DescribeTrafficMirrorTargetsOutput) []ec2types.TrafficMirrorTarget {
			return o.TrafficMirrorTargets
		})
}

// TrafficMirrorSessionsAsList returns every traffic mirror session the query matches.
func TrafficMirrorSessionsAsList(ctx context.Context, api ec2.DescribeTrafficMirrorSessionsAPIClient, in *ec2.DescribeTrafficMirrorSessionsInput) ([]ec2types.TrafficMirrorSession, error) {
	p := ec2.NewDescribeTrafficMirrorSessionsPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "traffic mirror sessions",
		func(o *ec2.DescribeTrafficMirrorSessionsOutput) []ec2types.TrafficMirrorSession {
			return o.TrafficMirrorSessions
		})
}

// VPCEndpointsAsList returns every VPC endpoint the query matches: the
// Gateway Load Balancer endpoints that traffic mirror targets point at.
func VPCEndpointsAsList(ctx context.Context, api ec2.DescribeVpcEndpointsAPIClient, in *ec2.DescribeVpcEndpointsInput) ([]ec2types.VpcEndpoint, error) {
	p := ec2.NewDescribeVpcEndpointsPaginator(api, in)
	return All(ctx, p.HasMorePages, p.NextPage, "VPC endpoints",
		func(o *ec2.DescribeVpcEndpointsOutput) []ec2types.VpcEndpoint { return o.VpcEndpoints })
}

// PrefixListCIDRsAsList returns the CIDRs of one managed prefix list.
// EC2 has no batch form of GetManagedPrefixListEntries, so callers call it
// once per prefix list that a rule actually names.
func PrefixListCIDRsAsList(ctx context.Context, api ec2.GetManagedPrefixListEntriesAPIClient, prefixListID string) ([]string, error) {
	p := ec2.NewGetManagedPrefixListEntriesPaginator(api, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: &prefixListID})
	return All(ctx, p.HasMorePages, p.NextPage,
		"the entries of prefix list "+prefixListID, func(o *ec2.GetManagedPrefixListEntriesOutput) []string {
			var out []string
			for _, e := range o.Entries {
				if e.Cidr != nil {
					out = append(out, *e.Cidr)
				}
			}
			return out
		})
}
