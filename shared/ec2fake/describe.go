package ec2fake

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The filter names each Describe accepts are those the EC2 API reference
// documents for it; any other name fails with InvalidParameterValue, as in
// EC2, so a step cannot come to depend on a filter EC2 would refuse. The
// traffic mirror Describes document no tag filters, so the fake refuses them.

// DescribeInstances implements ec2api.API.
func (f *EC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeInstancesInput{}
	}
	if err := f.begin(ctx, DescribeInstances, in, in.DryRun); err != nil {
		return nil, err
	}
	if len(in.InstanceIds) > 0 && in.MaxResults != nil {
		return nil, apiError(CodeInvalidParameterCombination, "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	for _, id := range in.InstanceIds {
		if !instanceIDShape.MatchString(id) {
			return nil, apiError(CodeInstanceMalformed, "Invalid id: \"%s\"", id)
		}
	}
	items, err := query[ec2types.Instance]{
		ids: in.InstanceIds, notFound: CodeInstanceNotFound, noun: "instance ID",
		filters: in.Filters, field: instanceField, tags: func(v ec2types.Instance) []ec2types.Tag { return v.Tags },
	}.run(f.instances)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(items, in.MaxResults, in.NextToken, describeBounds, f.PageSize)
	if err != nil {
		return nil, err
	}
	// EC2 answers in reservations; keep each instance in its own.
	var out []ec2types.Reservation
	index := map[string]int{}
	for _, inst := range page {
		rid := f.reservationOf[deref(inst.InstanceId)]
		i, ok := index[rid]
		if !ok {
			i = len(out)
			index[rid] = i
			r := ec2types.Reservation{OwnerId: &f.OwnerID}
			if rid != "" {
				r.ReservationId = &rid
			}
			out = append(out, r)
		}
		out[i].Instances = append(out[i].Instances, inst)
	}
	return &ec2.DescribeInstancesOutput{Reservations: out, NextToken: next}, nil
}

func instanceField(name string, v ec2types.Instance) ([]string, bool) {
	switch name {
	case "instance-id":
		return str(v.InstanceId), true
	case "instance-state-name":
		if v.State == nil {
			return nil, true
		}
		return []string{string(v.State.Name)}, true
	case "instance-type":
		return []string{string(v.InstanceType)}, true
	case "availability-zone":
		if v.Placement == nil {
			return nil, true
		}
		return str(v.Placement.AvailabilityZone), true
	case "subnet-id":
		return str(v.SubnetId), true
	case "vpc-id":
		return str(v.VpcId), true
	case "private-ip-address":
		return str(v.PrivateIpAddress), true
	case "instance.group-id":
		var out []string
		for _, g := range v.SecurityGroups {
			out = append(out, str(g.GroupId)...)
		}
		return out, true
	case "network-interface.network-interface-id", "network-interface.subnet-id", "network-interface.vpc-id":
		var out []string
		for _, ni := range v.NetworkInterfaces {
			switch name {
			case "network-interface.network-interface-id":
				out = append(out, str(ni.NetworkInterfaceId)...)
			case "network-interface.subnet-id":
				out = append(out, str(ni.SubnetId)...)
			default:
				out = append(out, str(ni.VpcId)...)
			}
		}
		return out, true
	}
	return nil, false
}

// DescribeInstanceTypes implements ec2api.API.
func (f *EC2) DescribeInstanceTypes(ctx context.Context, in *ec2.DescribeInstanceTypesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeInstanceTypesInput{}
	}
	if err := f.begin(ctx, DescribeInstanceTypes, in, in.DryRun); err != nil {
		return nil, err
	}
	ids := make([]string, len(in.InstanceTypes))
	for i, t := range in.InstanceTypes {
		ids[i] = string(t)
	}
	items, err := query[ec2types.InstanceTypeInfo]{
		ids: ids, notFound: CodeInstanceTypeInvalid, noun: "instance type",
		filters: in.Filters, field: instanceTypeField,
	}.run(f.instanceTypes)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(items, in.MaxResults, in.NextToken, pageBounds{5, 100}, f.PageSize)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeInstanceTypesOutput{InstanceTypes: page, NextToken: next}, nil
}

func instanceTypeField(name string, v ec2types.InstanceTypeInfo) ([]string, bool) {
	switch name {
	case "instance-type":
		return []string{string(v.InstanceType)}, true
	case "hypervisor":
		return []string{string(v.Hypervisor)}, true
	}
	return nil, false
}

// DescribeNetworkInterfaces implements ec2api.API.
func (f *EC2) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeNetworkInterfacesInput{}
	}
	if err := f.begin(ctx, DescribeNetworkInterfaces, in, in.DryRun); err != nil {
		return nil, err
	}
	if len(in.NetworkInterfaceIds) > 0 && in.MaxResults != nil {
		return nil, apiError(CodeInvalidParameterCombination, "The parameter NetworkInterfaceIds cannot be used with the parameter maxResults")
	}
	items, err := query[ec2types.NetworkInterface]{
		ids: in.NetworkInterfaceIds, notFound: CodeNetworkInterfaceNotFound, noun: "networkInterface ID",
		filters: in.Filters, field: networkInterfaceField, tags: func(v ec2types.NetworkInterface) []ec2types.Tag { return v.TagSet },
	}.run(f.interfaces)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(items, in.MaxResults, in.NextToken, describeBounds, f.PageSize)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: page, NextToken: next}, nil
}

func networkInterfaceField(name string, v ec2types.NetworkInterface) ([]string, bool) {
	switch name {
	case "network-interface-id":
		return str(v.NetworkInterfaceId), true
	case "vpc-id":
		return str(v.VpcId), true
	case "subnet-id":
		return str(v.SubnetId), true
	case "availability-zone":
		return str(v.AvailabilityZone), true
	case "private-ip-address":
		return str(v.PrivateIpAddress), true
	case "status":
		return []string{string(v.Status)}, true
	case "owner-id":
		return str(v.OwnerId), true
	case "attachment.instance-id":
		if v.Attachment == nil {
			return nil, true
		}
		return str(v.Attachment.InstanceId), true
	case "group-id":
		var out []string
		for _, g := range v.Groups {
			out = append(out, str(g.GroupId)...)
		}
		return out, true
	}
	return nil, false
}

// DescribeSecurityGroups implements ec2api.API.
func (f *EC2) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeSecurityGroupsInput{}
	}
	if err := f.begin(ctx, DescribeSecurityGroups, in, in.DryRun); err != nil {
		return nil, err
	}
	items, err := query[ec2types.SecurityGroup]{
		ids: in.GroupIds, notFound: CodeGroupNotFound, noun: "security group",
		filters: in.Filters, field: securityGroupField, tags: func(v ec2types.SecurityGroup) []ec2types.Tag { return v.Tags },
	}.run(f.groups)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(items, in.MaxResults, in.NextToken, describeBounds, f.PageSize)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: page, NextToken: next}, nil
}

func securityGroupField(name string, v ec2types.SecurityGroup) ([]string, bool) {
	switch name {
	case "group-id":
		return str(v.GroupId), true
	case "group-name":
		return str(v.GroupName), true
	case "vpc-id":
		return str(v.VpcId), true
	case "owner-id":
		return str(v.OwnerId), true
	}
	return nil, false
}

// DescribeNetworkAcls implements ec2api.API.
func (f *EC2) DescribeNetworkAcls(ctx context.Context, in *ec2.DescribeNetworkAclsInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeNetworkAclsInput{}
	}
	if err := f.begin(ctx, DescribeNetworkAcls, in, in.DryRun); err != nil {
		return nil, err
	}
	items, err := query[ec2types.NetworkAcl]{
		ids: in.NetworkAclIds, notFound: CodeNetworkACLNotFound, noun: "network ACL",
		filters: in.Filters, field: networkACLField, tags: func(v ec2types.NetworkAcl) []ec2types.Tag { return v.Tags },
	}.run(f.acls)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(items, in.MaxResults, in.NextToken, networkACLBound, f.PageSize)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkAclsOutput{NetworkAcls: page, NextToken: next}, nil
}

func networkACLField(name string, v ec2types.NetworkAcl) ([]string, bool) {
	switch name {
	case "network-acl-id":
		return str(v.NetworkAclId), true
	case "vpc-id":
		return str(v.VpcId), true
	case "default":
		return []string{strconv.FormatBool(deref(v.IsDefault))}, true
	case "owner-id":
		return str(v.OwnerId), true
	case "association.subnet-id", "association.association-id":
		var out []string
		for _, a := range v.Associations {
			if name == "association.subnet-id" {
				out = append(out, str(a.SubnetId)...)
			} else {
				out = append(out, str(a.NetworkAclAssociationId)...)
			}
		}
		return out, true
	}
	return nil, false
}

// DescribeSubnets implements ec2api.API.
func (f *EC2) DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeSubnetsInput{}
	}
	if err := f.begin(ctx, DescribeSubnets, in, in.DryRun); err != nil {
		return nil, err
	}
	items, err := query[ec2types.Subnet]{
		ids: in.SubnetIds, notFound: CodeSubnetNotFound, noun: "subnet ID",
		filters: in.Filters, field: subnetField, tags: func(v ec2types.Subnet) []ec2types.Tag { return v.Tags },
	}.run(f.subnets)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(items, in.MaxResults, in.NextToken, describeBounds, f.PageSize)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSubnetsOutput{Subnets: page, NextToken: next}, nil
}

func subnetField(name string, v ec2types.Subnet) ([]string, bool) {
	switch name {
	case "subnet-id":
		return str(v.SubnetId), true
	case "vpc-id":
		return str(v.VpcId), true
	case "availability-zone":
		return str(v.AvailabilityZone), true
	case "cidr-block":
		return str(v.CidrBlock), true
	case "default-for-az":
		return []string{strconv.FormatBool(deref(v.DefaultForAz))}, true
	}
	return nil, false
}

// DescribeTrafficMirrorTargets implements ec2api.API.
func (f *EC2) DescribeTrafficMirrorTargets(ctx context.Context, in *ec2.DescribeTrafficMirrorTargetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeTrafficMirrorTargetsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeTrafficMirrorTargetsInput{}
	}
	if err := f.begin(ctx, DescribeTrafficMirrorTargets, in, in.DryRun); err != nil {
		return nil, err
	}
	items, err := query[ec2types.TrafficMirrorTarget]{
		ids: in.TrafficMirrorTargetIds, notFound: CodeTrafficMirrorTargetNotFound, noun: "traffic mirror target",
		filters: in.Filters, field: targetField,
	}.run(f.targets)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(items, in.MaxResults, in.NextToken, describeBounds, f.PageSize)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeTrafficMirrorTargetsOutput{TrafficMirrorTargets: page, NextToken: next}, nil
}

func targetField(name string, v ec2types.TrafficMirrorTarget) ([]string, bool) {
	switch name {
	case "traffic-mirror-target-id":
		return str(v.TrafficMirrorTargetId), true
	case "network-interface-id":
		return str(v.NetworkInterfaceId), true
	case "network-load-balancer-arn":
		return str(v.NetworkLoadBalancerArn), true
	case "owner-id":
		return str(v.OwnerId), true
	case "description":
		return str(v.Description), true
	}
	return nil, false
}

// DescribeTrafficMirrorSessions implements ec2api.API.
func (f *EC2) DescribeTrafficMirrorSessions(ctx context.Context, in *ec2.DescribeTrafficMirrorSessionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeTrafficMirrorSessionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeTrafficMirrorSessionsInput{}
	}
	if err := f.begin(ctx, DescribeTrafficMirrorSessions, in, in.DryRun); err != nil {
		return nil, err
	}
	items, err := query[ec2types.TrafficMirrorSession]{
		ids: in.TrafficMirrorSessionIds, notFound: CodeTrafficMirrorSessionNotFound, noun: "traffic mirror session",
		filters: in.Filters, field: sessionField,
	}.run(f.sessions)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(items, in.MaxResults, in.NextToken, describeBounds, f.PageSize)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeTrafficMirrorSessionsOutput{TrafficMirrorSessions: page, NextToken: next}, nil
}

func sessionField(name string, v ec2types.TrafficMirrorSession) ([]string, bool) {
	num := func(p *int32) []string {
		if p == nil {
			return nil
		}
		return []string{strconv.Itoa(int(*p))}
	}
	switch name {
	case "traffic-mirror-session-id":
		return str(v.TrafficMirrorSessionId), true
	case "traffic-mirror-target-id":
		return str(v.TrafficMirrorTargetId), true
	case "traffic-mirror-filter-id":
		return str(v.TrafficMirrorFilterId), true
	case "network-interface-id":
		return str(v.NetworkInterfaceId), true
	case "owner-id":
		return str(v.OwnerId), true
	case "description":
		return str(v.Description), true
	case "session-number":
		return num(v.SessionNumber), true
	case "virtual-network-id":
		return num(v.VirtualNetworkId), true
	case "packet-length":
		return num(v.PacketLength), true
	}
	return nil, false
}

// GetManagedPrefixListEntries implements ec2api.API.
func (f *EC2) GetManagedPrefixListEntries(ctx context.Context, in *ec2.GetManagedPrefixListEntriesInput, _ ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.GetManagedPrefixListEntriesInput{}
	}
	if err := f.begin(ctx, GetManagedPrefixListEntries, in, in.DryRun); err != nil {
		return nil, err
	}
	id := deref(in.PrefixListId)
	if id == "" {
		return nil, apiError(CodeMissingParameter, "The request must contain the parameter PrefixListId")
	}
	entries, ok := f.prefixLists[id]
	if !ok {
		return nil, apiError(CodePrefixListNotFound, "The prefix list ID '%s' does not exist", id)
	}
	page, next, err := paginate(entries, in.MaxResults, in.NextToken, prefixListBound, f.PageSize)
	if err != nil {
		return nil, err
	}
	return &ec2.GetManagedPrefixListEntriesOutput{Entries: page, NextToken: next}, nil
}
