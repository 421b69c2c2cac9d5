package ec2sim

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// instanceIDShape is what EC2 accepts as an instance id before looking it
// up: "i-" and 8 or 17 hex digits; anything else is Malformed, not NotFound.
var instanceIDShape = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// MaxResults ranges, from each action's EC2 API reference page.
var (
	rangeInstances     = pageRange{5, 1000}
	rangeInstanceTypes = pageRange{5, 100}
	rangeInterfaces    = pageRange{5, 1000}
	rangeGroups        = pageRange{5, 1000}
	rangeACLs          = pageRange{5, 100}
	rangeSubnets       = pageRange{5, 1000}
	rangeTrafficMirror = pageRange{5, 1000}
	rangePrefixList    = pageRange{1, 100}
)

// notFound answers ids that match nothing the way EC2 does: one code per
// resource type, naming every missing id.
func notFound(code, noun string, missing []string) *apiError {
	if len(missing) == 1 {
		return errorf(code, "The %s ID '%s' does not exist", noun, missing[0])
	}
	return errorf(code, "The %s IDs '%s' do not exist", noun, strings.Join(missing, ", "))
}

// byIDs keeps the items whose id is in ids (all when ids is empty) and
// reports the ids that matched none.
func byIDs[T any](items []T, ids []string, id func(T) string) ([]T, []string) {
	if len(ids) == 0 {
		return items, nil
	}
	want := map[string]bool{}
	for _, i := range ids {
		want[i] = true
	}
	var out []T
	found := map[string]bool{}
	for _, it := range items {
		if want[id(it)] {
			out = append(out, it)
			found[id(it)] = true
		}
	}
	var missing []string
	for _, i := range ids {
		if !found[i] {
			missing = append(missing, i)
		}
	}
	return out, missing
}

func (s *Sim) describeInstances(r request) (any, *apiError) {
	ids := r.list("InstanceId")
	if len(ids) > 0 && r.has("MaxResults") {
		return nil, errorf(awserr.InvalidParameterCombination, "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	for _, id := range ids {
		if !instanceIDShape.MatchString(id) {
			return nil, errorf(awserr.InvalidInstanceIDMalformed, "Invalid id: \"%s\"", id)
		}
	}
	var all []ec2types.Instance
	for _, res := range s.state.Reservations {
		all = append(all, res.Instances...)
	}
	if _, missing := byIDs(all, ids, func(i ec2types.Instance) string { return deref(i.InstanceId) }); len(missing) > 0 {
		return nil, notFound(awserr.InvalidInstanceIDNotFound, "instance", missing)
	}
	filters := r.filters()
	var reservations []ec2types.Reservation
	for _, res := range s.state.Reservations {
		kept, _ := byIDs(res.Instances, ids, func(i ec2types.Instance) string { return deref(i.InstanceId) })
		kept, aerr := filterItems(kept, filters, instanceFields, func(i ec2types.Instance) []ec2types.Tag { return i.Tags })
		if aerr != nil {
			return nil, aerr
		}
		if len(kept) > 0 {
			res.Instances = kept
			reservations = append(reservations, res)
		}
	}
	page, next, aerr := paginate(r, reservations, rangeInstances, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeInstancesOutput{Reservations: nonNil(page), NextToken: next}, nil
}

func instanceFields(i ec2types.Instance, name string) ([]string, bool) {
	switch name {
	case "instance-id":
		return strs(i.InstanceId), true
	case "instance-type":
		return []string{string(i.InstanceType)}, true
	case "instance-state-name":
		if i.State == nil {
			return nil, true
		}
		return []string{string(i.State.Name)}, true
	case "instance-state-code":
		if i.State == nil {
			return nil, true
		}
		return num(i.State.Code), true
	case "vpc-id":
		return strs(i.VpcId), true
	case "subnet-id":
		return strs(i.SubnetId), true
	case "availability-zone":
		if i.Placement == nil {
			return nil, true
		}
		return strs(i.Placement.AvailabilityZone), true
	case "private-ip-address":
		return strs(i.PrivateIpAddress), true
	case "hypervisor":
		return []string{string(i.Hypervisor)}, true
	case "network-interface.network-interface-id":
		var out []string
		for _, n := range i.NetworkInterfaces {
			out = append(out, strs(n.NetworkInterfaceId)...)
		}
		return out, true
	case "instance.group-id", "group-id":
		var out []string
		for _, g := range i.SecurityGroups {
			out = append(out, strs(g.GroupId)...)
		}
		return out, true
	}
	return nil, false
}

func (s *Sim) describeInstanceTypes(r request) (any, *apiError) {
	ids := r.list("InstanceType")
	all := s.instanceTypes()
	items, missing := byIDs(all, ids, func(t ec2types.InstanceTypeInfo) string { return string(t.InstanceType) })
	if len(missing) > 0 {
		return nil, errorf(awserr.InvalidInstanceType, "The following supplied instance types do not exist: [%s]", strings.Join(missing, ", "))
	}
	items, aerr := filterItems(items, r.filters(), instanceTypeFields, nil)
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangeInstanceTypes, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeInstanceTypesOutput{InstanceTypes: nonNil(page), NextToken: next}, nil
}

// instanceTypes is the snapshot's InstanceTypes plus, for each type an
// instance uses that the snapshot does not list, what the instance itself
// says of it (its hypervisor): a real account can describe every type, and
// a snapshot should not have to repeat them.
func (s *Sim) instanceTypes() []ec2types.InstanceTypeInfo {
	out := append([]ec2types.InstanceTypeInfo(nil), s.state.InstanceTypes...)
	listed := map[ec2types.InstanceType]bool{}
	for _, t := range out {
		listed[t.InstanceType] = true
	}
	for _, res := range s.state.Reservations {
		for _, i := range res.Instances {
			if i.InstanceType == "" || listed[i.InstanceType] {
				continue
			}
			listed[i.InstanceType] = true
			out = append(out, ec2types.InstanceTypeInfo{
				InstanceType: i.InstanceType,
				Hypervisor:   ec2types.InstanceTypeHypervisor(i.Hypervisor),
			})
		}
	}
	return out
}

func instanceTypeFields(t ec2types.InstanceTypeInfo, name string) ([]string, bool) {
	switch name {
	case "instance-type":
		return []string{string(t.InstanceType)}, true
	case "hypervisor":
		return []string{string(t.Hypervisor)}, true
	case "current-generation":
		return boolean(t.CurrentGeneration), true
	}
	return nil, false
}

func (s *Sim) describeNetworkInterfaces(r request) (any, *apiError) {
	ids := r.list("NetworkInterfaceId")
	if len(ids) > 0 && r.has("MaxResults") {
		return nil, errorf(awserr.InvalidParameterCombination, "The parameter NetworkInterfaceIds cannot be used with the parameter maxResults")
	}
	items, missing := byIDs(s.state.NetworkInterfaces, ids, func(n ec2types.NetworkInterface) string { return deref(n.NetworkInterfaceId) })
	if len(missing) > 0 {
		return nil, notFound(awserr.InvalidNetworkInterfaceNotFound, "network interface", missing)
	}
	items, aerr := filterItems(items, r.filters(), interfaceFields, func(n ec2types.NetworkInterface) []ec2types.Tag { return n.TagSet })
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangeInterfaces, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: nonNil(page), NextToken: next}, nil
}

func interfaceFields(n ec2types.NetworkInterface, name string) ([]string, bool) {
	switch name {
	case "network-interface-id":
		return strs(n.NetworkInterfaceId), true
	case "attachment.instance-id":
		if n.Attachment == nil {
			return nil, true
		}
		return strs(n.Attachment.InstanceId), true
	case "attachment.status":
		if n.Attachment == nil {
			return nil, true
		}
		return []string{string(n.Attachment.Status)}, true
	case "vpc-id":
		return strs(n.VpcId), true
	case "subnet-id":
		return strs(n.SubnetId), true
	case "availability-zone":
		return strs(n.AvailabilityZone), true
	case "private-ip-address":
		return strs(n.PrivateIpAddress), true
	case "addresses.private-ip-address":
		var out []string
		for _, a := range n.PrivateIpAddresses {
			out = append(out, strs(a.PrivateIpAddress)...)
		}
		return out, true
	case "group-id":
		var out []string
		for _, g := range n.Groups {
			out = append(out, strs(g.GroupId)...)
		}
		return out, true
	case "interface-type":
		return []string{string(n.InterfaceType)}, true
	case "status":
		return []string{string(n.Status)}, true
	case "owner-id":
		return strs(n.OwnerId), true
	case "description":
		return strs(n.Description), true
	}
	return nil, false
}

func (s *Sim) describeSecurityGroups(r request) (any, *apiError) {
	ids := r.list("GroupId")
	if len(ids) > 0 && r.has("MaxResults") {
		return nil, errorf(awserr.InvalidParameterCombination, "The parameter groupIds cannot be used with the parameter maxResults")
	}
	items, missing := byIDs(s.state.SecurityGroups, ids, func(g ec2types.SecurityGroup) string { return deref(g.GroupId) })
	if len(missing) > 0 {
		return nil, errorf(awserr.InvalidGroupNotFound, "The security group '%s' does not exist", strings.Join(missing, ", "))
	}
	items, missing = byIDs(items, r.list("GroupName"), func(g ec2types.SecurityGroup) string { return deref(g.GroupName) })
	if len(missing) > 0 {
		return nil, errorf(awserr.InvalidGroupNotFound, "The security group '%s' does not exist in default VPC", strings.Join(missing, ", "))
	}
	items, aerr := filterItems(items, r.filters(), groupFields, func(g ec2types.SecurityGroup) []ec2types.Tag { return g.Tags })
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangeGroups, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: nonNil(page), NextToken: next}, nil
}

func groupFields(g ec2types.SecurityGroup, name string) ([]string, bool) {
	switch name {
	case "group-id":
		return strs(g.GroupId), true
	case "group-name":
		return strs(g.GroupName), true
	case "vpc-id":
		return strs(g.VpcId), true
	case "owner-id":
		return strs(g.OwnerId), true
	case "description":
		return strs(g.Description), true
	}
	return nil, false
}

func (s *Sim) describeNetworkACLs(r request) (any, *apiError) {
	items, missing := byIDs(s.state.NetworkAcls, r.list("NetworkAclId"), func(a ec2types.NetworkAcl) string { return deref(a.NetworkAclId) })
	if len(missing) > 0 {
		return nil, notFound(awserr.InvalidNetworkACLNotFound, "network ACL", missing)
	}
	items, aerr := filterItems(items, r.filters(), aclFields, func(a ec2types.NetworkAcl) []ec2types.Tag { return a.Tags })
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangeACLs, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeNetworkAclsOutput{NetworkAcls: nonNil(page), NextToken: next}, nil
}

func aclFields(a ec2types.NetworkAcl, name string) ([]string, bool) {
	switch name {
	case "network-acl-id":
		return strs(a.NetworkAclId), true
	case "vpc-id":
		return strs(a.VpcId), true
	case "default":
		return boolean(a.IsDefault), true
	case "owner-id":
		return strs(a.OwnerId), true
	case "association.subnet-id":
		var out []string
		for _, as := range a.Associations {
			out = append(out, strs(as.SubnetId)...)
		}
		return out, true
	case "association.network-acl-id":
		var out []string
		for _, as := range a.Associations {
			out = append(out, strs(as.NetworkAclId)...)
		}
		return out, true
	}
	return nil, false
}

func (s *Sim) describeSubnets(r request) (any, *apiError) {
	items, missing := byIDs(s.state.Subnets, r.list("SubnetId"), func(n ec2types.Subnet) string { return deref(n.SubnetId) })
	if len(missing) > 0 {
		return nil, notFound(awserr.InvalidSubnetNotFound, "subnet", missing)
	}
	items, aerr := filterItems(items, r.filters(), subnetFields, func(n ec2types.Subnet) []ec2types.Tag { return n.Tags })
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangeSubnets, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeSubnetsOutput{Subnets: nonNil(page), NextToken: next}, nil
}

func subnetFields(n ec2types.Subnet, name string) ([]string, bool) {
	switch name {
	case "subnet-id":
		return strs(n.SubnetId), true
	case "vpc-id":
		return strs(n.VpcId), true
	case "availability-zone":
		return strs(n.AvailabilityZone), true
	case "availability-zone-id":
		return strs(n.AvailabilityZoneId), true
	case "cidr-block", "cidr":
		return strs(n.CidrBlock), true
	case "state":
		return []string{string(n.State)}, true
	case "owner-id":
		return strs(n.OwnerId), true
	case "default-for-az":
		return boolean(n.DefaultForAz), true
	}
	return nil, false
}

func (s *Sim) describeTrafficMirrorTargets(r request) (any, *apiError) {
	items, missing := byIDs(s.state.TrafficMirrorTargets, r.list("TrafficMirrorTargetId"), func(t ec2types.TrafficMirrorTarget) string { return deref(t.TrafficMirrorTargetId) })
	if len(missing) > 0 {
		return nil, notFound(awserr.InvalidTrafficMirrorTargetID, "traffic mirror target", missing)
	}
	items, aerr := filterItems(items, r.filters(), targetFields, nil)
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangeTrafficMirror, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeTrafficMirrorTargetsOutput{TrafficMirrorTargets: nonNil(page), NextToken: next}, nil
}

func targetFields(t ec2types.TrafficMirrorTarget, name string) ([]string, bool) {
	switch name {
	case "traffic-mirror-target-id":
		return strs(t.TrafficMirrorTargetId), true
	case "network-interface-id":
		return strs(t.NetworkInterfaceId), true
	case "network-load-balancer-arn":
		return strs(t.NetworkLoadBalancerArn), true
	case "gateway-load-balancer-endpoint-id":
		return strs(t.GatewayLoadBalancerEndpointId), true
	case "owner-id":
		return strs(t.OwnerId), true
	case "description":
		return strs(t.Description), true
	}
	return nil, false
}

func (s *Sim) describeTrafficMirrorFilters(r request) (any, *apiError) {
	items, missing := byIDs(s.state.TrafficMirrorFilters, r.list("TrafficMirrorFilterId"), func(f ec2types.TrafficMirrorFilter) string { return deref(f.TrafficMirrorFilterId) })
	if len(missing) > 0 {
		return nil, notFound(awserr.InvalidTrafficMirrorFilterID, "traffic mirror filter", missing)
	}
	items, aerr := filterItems(items, r.filters(), mirrorFilterFields, nil)
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangeTrafficMirror, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeTrafficMirrorFiltersOutput{TrafficMirrorFilters: nonNil(page), NextToken: next}, nil
}

func mirrorFilterFields(f ec2types.TrafficMirrorFilter, name string) ([]string, bool) {
	switch name {
	case "traffic-mirror-filter-id":
		return strs(f.TrafficMirrorFilterId), true
	case "description":
		return strs(f.Description), true
	}
	return nil, false
}

func (s *Sim) describeTrafficMirrorSessions(r request) (any, *apiError) {
	items, missing := byIDs(s.state.TrafficMirrorSessions, r.list("TrafficMirrorSessionId"), func(t ec2types.TrafficMirrorSession) string { return deref(t.TrafficMirrorSessionId) })
	if len(missing) > 0 {
		return nil, notFound(awserr.InvalidTrafficMirrorSessionID, "traffic mirror session", missing)
	}
	items, aerr := filterItems(items, r.filters(), sessionFields, nil)
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangeTrafficMirror, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeTrafficMirrorSessionsOutput{TrafficMirrorSessions: nonNil(page), NextToken: next}, nil
}

func sessionFields(t ec2types.TrafficMirrorSession, name string) ([]string, bool) {
	switch name {
	case "traffic-mirror-session-id":
		return strs(t.TrafficMirrorSessionId), true
	case "traffic-mirror-target-id":
		return strs(t.TrafficMirrorTargetId), true
	case "traffic-mirror-filter-id":
		return strs(t.TrafficMirrorFilterId), true
	case "network-interface-id":
		return strs(t.NetworkInterfaceId), true
	case "session-number":
		return num(t.SessionNumber), true
	case "virtual-network-id":
		return num(t.VirtualNetworkId), true
	case "packet-length":
		return num(t.PacketLength), true
	case "owner-id":
		return strs(t.OwnerId), true
	case "description":
		return strs(t.Description), true
	}
	return nil, false
}

func (s *Sim) describeManagedPrefixLists(r request) (any, *apiError) {
	items, missing := byIDs(s.prefixLists(), r.list("PrefixListId"), func(pl ec2types.ManagedPrefixList) string { return deref(pl.PrefixListId) })
	if len(missing) > 0 {
		return nil, errorf(awserr.InvalidPrefixListNotFound, "The prefix list ID '%s' does not exist", strings.Join(missing, ", "))
	}
	items, aerr := filterItems(items, r.filters(), prefixListFields, nil)
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(r, items, rangePrefixList, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeManagedPrefixListsOutput{PrefixLists: nonNil(page), NextToken: next}, nil
}

// prefixLists is the snapshot's ManagedPrefixLists plus, for each key of
// PrefixListEntries it does not list, a prefix list of that id and no more:
// GetManagedPrefixListEntries answers for either, so a list that has
// entries exists, and a snapshot should not have to say so twice.
func (s *Sim) prefixLists() []ec2types.ManagedPrefixList {
	out := append([]ec2types.ManagedPrefixList(nil), s.state.ManagedPrefixLists...)
	listed := map[string]bool{}
	for _, pl := range out {
		listed[deref(pl.PrefixListId)] = true
	}
	for _, id := range slices.Sorted(maps.Keys(s.state.PrefixListEntries)) {
		if !listed[id] {
			out = append(out, ec2types.ManagedPrefixList{PrefixListId: &id})
		}
	}
	return out
}

// prefixListFields are the filters DescribeManagedPrefixLists' API
// reference documents; it documents no tag filters.
func prefixListFields(pl ec2types.ManagedPrefixList, name string) ([]string, bool) {
	switch name {
	case "prefix-list-id":
		return strs(pl.PrefixListId), true
	case "prefix-list-name":
		return strs(pl.PrefixListName), true
	case "owner-id":
		return strs(pl.OwnerId), true
	}
	return nil, false
}

func (s *Sim) getManagedPrefixListEntries(r request) (any, *apiError) {
	if aerr := r.required("PrefixListId"); aerr != nil {
		return nil, aerr
	}
	id := r.str("PrefixListId")
	entries, ok := s.state.PrefixListEntries[id]
	if !ok {
		for _, pl := range s.state.ManagedPrefixLists {
			ok = ok || deref(pl.PrefixListId) == id
		}
	}
	if !ok {
		return nil, errorf(awserr.InvalidPrefixListNotFound, "The prefix list ID '%s' does not exist", id)
	}
	page, next, aerr := paginate(r, entries, rangePrefixList, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.GetManagedPrefixListEntriesOutput{Entries: nonNil(page), NextToken: next}, nil
}

// nonNil makes an empty answer an empty list, as EC2 sends <xSet/>.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
