package steps

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// FilterByAvailabilityZone marks which sensors share the source's zone and,
// with LocalZoneOnly, drops the others. It makes no EC2 call: the zones came
// with the candidates.
func (h *Handlers) FilterByAvailabilityZone(_ context.Context, p workflow.Placement) (workflow.Placement, error) {
	const step = workflow.StepFilterByZone
	if decided(p) {
		return p, nil
	}
	if err := h.begin(step, p); err != nil {
		return h.fail(step, p, workflow.StepReport{}, err)
	}
	localOnly := p.Scope.LocalZoneOnly
	kept, rejected := placement.FilterByZone(*p.Source, p.Candidates, localOnly)
	same := 0
	for _, s := range kept {
		if s.SameZone {
			same++
		}
	}
	note := fmt.Sprintf("%d of %d sensor(s) in %s", same, len(p.Candidates), p.Source.AvailabilityZone)
	switch other := len(kept) - same; {
	case localOnly:
		note += fmt.Sprintf("; LocalZoneOnly drops %d in other zones", len(rejected))
	case other > 0:
		note += fmt.Sprintf("; %d kept as cross-zone fallback, used only if no same-zone sensor passes", other)
	}
	return h.filtered(p, step, kept, rejected, note)
}

// FilterBySecurityGroup keeps the sensors whose security groups admit VXLAN
// (UDP 4789) from the source's address. It describes the groups of every
// candidate in one DescribeSecurityGroups (group-id filter, so a deleted
// group rejects its sensor rather than failing the call; one per 200 groups)
// and fetches with GetManagedPrefixListEntries only the prefix lists a
// VXLAN-capable rule names, one call per list since EC2 has no batch form.
func (h *Handlers) FilterBySecurityGroup(ctx context.Context, p workflow.Placement) (workflow.Placement, error) {
	const step = workflow.StepFilterBySG
	if decided(p) {
		return p, nil
	}
	if err := h.begin(step, p); err != nil {
		return h.fail(step, p, workflow.StepReport{}, err)
	}
	var groupIDs []string
	for _, s := range p.Candidates {
		groupIDs = append(groupIDs, s.SecurityGroupIDs...)
	}
	var groups []ec2types.SecurityGroup
	if groupIDs = sortedUnique(groupIDs); len(groupIDs) > 0 {
		var err error
		groups, err = ec2api.InChunks(groupIDs, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.SecurityGroup, error) {
			return ec2api.SecurityGroupsAsList(ctx, h.EC2, &ec2.DescribeSecurityGroupsInput{
				Filters: []ec2types.Filter{ec2api.Filter("group-id", chunk...)},
			})
		})
		if err != nil {
			return h.fail(step, p, workflow.StepReport{Step: step}, steperr.FromEC2("describing the sensors' security groups", err))
		}
	}
	prefixLists := map[string][]string{}
	for _, id := range placement.PrefixListsReferenced(p.Candidates, groups) {
		cidrs, err := ec2api.PrefixListCIDRsAsList(ctx, h.EC2, id)
		if err != nil {
			return h.fail(step, p, workflow.StepReport{Step: step}, steperr.FromEC2("getting the entries of prefix list "+id, err))
		}
		prefixLists[id] = cidrs
	}
	kept, rejected := placement.FilterBySecurityGroup(*p.Source, p.Candidates, groups, prefixLists)
	note := fmt.Sprintf("%d of %d sensor(s) admit UDP 4789 from %s (%d group(s)", len(kept), len(p.Candidates), p.Source.PrivateIP, len(groups))
	if len(prefixLists) > 0 {
		note += fmt.Sprintf(", %d prefix list(s)", len(prefixLists))
	}
	return h.filtered(p, step, kept, rejected, note+" checked)")
}

// FilterByNetworkACL keeps the sensors whose path from the source the
// network ACLs allow, both ways across the subnet boundary. One
// DescribeNetworkAcls with a vpc-id filter (one per 200 VPCs) brings every
// ACL of the VPCs involved, default ACLs included, which is what a subnet
// without an explicit association uses.
func (h *Handlers) FilterByNetworkACL(ctx context.Context, p workflow.Placement) (workflow.Placement, error) {
	const step = workflow.StepFilterByNACL
	if decided(p) {
		return p, nil
	}
	if err := h.begin(step, p); err != nil {
		return h.fail(step, p, workflow.StepReport{}, err)
	}
	vpcIDs := []string{p.Source.VPCID}
	for _, s := range p.Candidates {
		vpcIDs = append(vpcIDs, s.VPCID)
	}
	var acls []ec2types.NetworkAcl
	if vpcIDs = sortedUnique(vpcIDs); len(vpcIDs) > 0 {
		var err error
		acls, err = ec2api.InChunks(vpcIDs, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.NetworkAcl, error) {
			return ec2api.NetworkAclsAsList(ctx, h.EC2, &ec2.DescribeNetworkAclsInput{
				Filters: []ec2types.Filter{ec2api.Filter("vpc-id", chunk...)},
			})
		})
		if err != nil {
			return h.fail(step, p, workflow.StepReport{Step: step}, steperr.FromEC2("describing the network ACLs", err))
		}
	}
	kept, rejected := placement.FilterByNetworkACL(*p.Source, p.Candidates, acls)
	sameSubnet := 0
	for _, s := range kept {
		if s.SubnetID != "" && s.SubnetID == p.Source.SubnetID {
			sameSubnet++
		}
	}
	note := fmt.Sprintf("%d of %d sensor(s) reachable through the network ACLs (%d ACL(s) checked", len(kept), len(p.Candidates), len(acls))
	if sameSubnet > 0 {
		note += fmt.Sprintf("; %d in the source's subnet cross no ACL", sameSubnet)
	}
	return h.filtered(p, step, kept, rejected, note+")")
}
