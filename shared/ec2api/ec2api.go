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
	CreateTrafficMirrorSession(ctx context.Context, params *ec2.CreateTrafficMirrorSessionInput, optFns ...func(*ec2.Options)) (*ec2.CreateTrafficMirrorSessionOutput, error)
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

// InstancesAsList returns every instance the query matches, across reservations and pages.
func InstancesAsList(ctx context.Context, api ec2.DescribeInstancesAPIClient, in *ec2.DescribeInstancesInput) ([]ec2types.Instance, error) {
	var out []ec2types.Instance
	p := ec2.NewDescribeInstancesPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing instances: %w", err)
		}
		for _, r := range page.Reservations {
			out = append(out, r.Instances...)
		}
	}
	return out, nil
}

// InstanceTypesAsList returns every instance type the query matches.
func InstanceTypesAsList(ctx context.Context, api ec2.DescribeInstanceTypesAPIClient, in *ec2.DescribeInstanceTypesInput) ([]ec2types.InstanceTypeInfo, error) {
	var out []ec2types.InstanceTypeInfo
	p := ec2.NewDescribeInstanceTypesPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing instance types: %w", err)
		}
		out = append(out, page.InstanceTypes...)
	}
	return out, nil
}

// NetworkInterfacesAsList returns every network interface the query matches.
func NetworkInterfacesAsList(ctx context.Context, api ec2.DescribeNetworkInterfacesAPIClient, in *ec2.DescribeNetworkInterfacesInput) ([]ec2types.NetworkInterface, error) {
	var out []ec2types.NetworkInterface
	p := ec2.NewDescribeNetworkInterfacesPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing network interfaces: %w", err)
		}
		out = append(out, page.NetworkInterfaces...)
	}
	return out, nil
}

// SecurityGroupsAsList returns every security group the query matches.
func SecurityGroupsAsList(ctx context.Context, api ec2.DescribeSecurityGroupsAPIClient, in *ec2.DescribeSecurityGroupsInput) ([]ec2types.SecurityGroup, error) {
	var out []ec2types.SecurityGroup
	p := ec2.NewDescribeSecurityGroupsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing security groups: %w", err)
		}
		out = append(out, page.SecurityGroups...)
	}
	return out, nil
}

// NetworkAclsAsList returns every network ACL the query matches.
func NetworkAclsAsList(ctx context.Context, api ec2.DescribeNetworkAclsAPIClient, in *ec2.DescribeNetworkAclsInput) ([]ec2types.NetworkAcl, error) {
	var out []ec2types.NetworkAcl
	p := ec2.NewDescribeNetworkAclsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing network ACLs: %w", err)
		}
		out = append(out, page.NetworkAcls...)
	}
	return out, nil
}

// SubnetsAsList returns every subnet the query matches.
func SubnetsAsList(ctx context.Context, api ec2.DescribeSubnetsAPIClient, in *ec2.DescribeSubnetsInput) ([]ec2types.Subnet, error) {
	var out []ec2types.Subnet
	p := ec2.NewDescribeSubnetsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing subnets: %w", err)
		}
		out = append(out, page.Subnets...)
	}
	return out, nil
}

// TrafficMirrorTargetsAsList returns every traffic mirror target the query matches.
func TrafficMirrorTargetsAsList(ctx context.Context, api ec2.DescribeTrafficMirrorTargetsAPIClient, in *ec2.DescribeTrafficMirrorTargetsInput) ([]ec2types.TrafficMirrorTarget, error) {
	var out []ec2types.TrafficMirrorTarget
	p := ec2.NewDescribeTrafficMirrorTargetsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing traffic mirror targets: %w", err)
		}
		out = append(out, page.TrafficMirrorTargets...)
	}
	return out, nil
}

// TrafficMirrorSessionsAsList returns every traffic mirror session the query matches.
func TrafficMirrorSessionsAsList(ctx context.Context, api ec2.DescribeTrafficMirrorSessionsAPIClient, in *ec2.DescribeTrafficMirrorSessionsInput) ([]ec2types.TrafficMirrorSession, error) {
	var out []ec2types.TrafficMirrorSession
	p := ec2.NewDescribeTrafficMirrorSessionsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing traffic mirror sessions: %w", err)
		}
		out = append(out, page.TrafficMirrorSessions...)
	}
	return out, nil
}

// PrefixListCIDRsAsList returns the CIDRs of one managed prefix list.
// EC2 has no batch form of GetManagedPrefixListEntries, so callers call it
// once per prefix list that a rule actually names.
func PrefixListCIDRsAsList(ctx context.Context, api ec2.GetManagedPrefixListEntriesAPIClient, prefixListID string) ([]string, error) {
	var out []string
	p := ec2.NewGetManagedPrefixListEntriesPaginator(api, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: &prefixListID})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("getting entries of prefix list %s: %w", prefixListID, err)
		}
		for _, e := range page.Entries {
			if e.Cidr != nil {
				out = append(out, *e.Cidr)
			}
		}
	}
	return out, nil
}
