package placement

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// InterfaceError says why one interface of an instance cannot be a mirror
// source. SourcesOf returns one per such interface, joined, so a caller can
// report each interface as skipped with its own reason while placing the
// others; each wraps ErrIncompleteSource.
type InterfaceError struct {
	InstanceID         string
	NetworkInterfaceID string
	Err                error
}

var _ error = (*InterfaceError)(nil)

// Error is the cause's message, which already names the instance and the
// interface.
func (e *InterfaceError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, which wraps ErrIncompleteSource.
func (e *InterfaceError) Unwrap() error { return e.Err }

// SourcesOf returns the interfaces of inst that are mirror sources, one
// Source each, as the configuration's Interfaces says. With all false it is
// the primary interface alone, exactly as SourceFromInstance finds and fills
// it (and fails). With all true it is every attached interface whose
// InterfaceType is "interface" or absent, since AWS's Traffic Mirroring guide
// says a source is "the network interface of type interface" (EFA, trunk and
// branch interfaces are not), in device-index order, then network-card
// index, each filled as SourceFromInstance fills the primary: zone from the
// instance's placement, address, subnet, VPC and groups from the interface.
// An interface that is detaching or detached is left out, as its session
// would follow it away from the instance.
//
// With all true, one incomplete interface does not hide the others: the
// complete ones are returned together with an error joining an
// *InterfaceError (wrapping ErrIncompleteSource) for each interface that
// cannot be a source, so that each is placed or skipped on its own. Only
// the primary interface takes its subnet and VPC from the instance when it
// lacks them; another interface may be in another subnet (or, attached
// across VPCs, another VPC), so it must name its own subnet and its VPC is
// left empty when absent. An instance without a zone, or with no interface
// of type interface, has no source: no Source and an error wrapping
// ErrIncompleteSource.
func SourcesOf(inst ec2types.Instance, all bool) ([]Source, error) {
	if !all {
		s, err := SourceFromInstance(inst)
		if err != nil {
			return nil, err
		}
		return []Source{s}, nil
	}
	id := aws.ToString(inst.InstanceId)
	if id == "" {
		id = "(no InstanceId)"
	}
	zone := ""
	if inst.Placement != nil {
		zone = aws.ToString(inst.Placement.AvailabilityZone)
	}
	if zone == "" {
		return nil, fmt.Errorf("instance %s has no Placement.AvailabilityZone: %w", id, ErrIncompleteSource)
	}
	nis := sourceInterfaces(inst.NetworkInterfaces)
	if len(nis) == 0 {
		return nil, fmt.Errorf("instance %s has no attached network interface of type interface among its %d interfaces: %w",
			id, len(inst.NetworkInterfaces), ErrIncompleteSource)
	}
	var sources []Source
	var errs []error
	for _, ni := range nis {
		var s Source
		var err error
		if isPrimary(ni) {
			s, err = SourceFromInstance(inst)
		} else {
			s, err = secondarySource(inst, id, zone, ni)
		}
		if err != nil {
			errs = append(errs, &InterfaceError{InstanceID: aws.ToString(inst.InstanceId), NetworkInterfaceID: aws.ToString(ni.NetworkInterfaceId), Err: err})
			continue
		}
		sources = append(sources, s)
	}
	return sources, errors.Join(errs...)
}

// SourceInterfaceIDs lists the interfaces of inst that would be sources,
// complete or not, as SourcesOf chooses them: the primary one, or with all
// every attached interface of type interface; in device order.
func SourceInterfaceIDs(inst ec2types.Instance, all bool) []string {
	var ids []string
	for _, ni := range sourceInterfaces(inst.NetworkInterfaces) {
		if all || isPrimary(ni) {
			ids = append(ids, aws.ToString(ni.NetworkInterfaceId))
		}
	}
	return ids
}

// sourceInterfaces returns the interfaces that can be sources, attached and
// of type interface (or untyped, as EC2 omits it for plain ENA interfaces),
// sorted by device index and then network card, so that placements and
// messages follow the order the instance numbers its interfaces in.
func sourceInterfaces(nis []ec2types.InstanceNetworkInterface) []ec2types.InstanceNetworkInterface {
	var out []ec2types.InstanceNetworkInterface
	for _, ni := range nis {
		if ni.Attachment == nil || ni.Attachment.DeviceIndex == nil {
			continue
		}
		switch ni.Attachment.Status {
		case ec2types.AttachmentStatusDetaching, ec2types.AttachmentStatusDetached:
			continue
		}
		if t := aws.ToString(ni.InterfaceType); t != "" && t != string(ec2types.NetworkInterfaceTypeInterface) {
			continue
		}
		out = append(out, ni)
	}
	slices.SortStableFunc(out, func(a, b ec2types.InstanceNetworkInterface) int {
		return cmp.Or(
			cmp.Compare(aws.ToInt32(a.Attachment.DeviceIndex), aws.ToInt32(b.Attachment.DeviceIndex)),
			cmp.Compare(aws.ToInt32(a.Attachment.NetworkCardIndex), aws.ToInt32(b.Attachment.NetworkCardIndex)),
		)
	})
	return out
}

// isPrimary reports whether ni is the instance's primary interface, as
// primaryInterface finds it: DeviceIndex 0 on network card 0.
func isPrimary(ni ec2types.InstanceNetworkInterface) bool {
	return ni.Attachment != nil && ni.Attachment.DeviceIndex != nil &&
		aws.ToInt32(ni.Attachment.DeviceIndex) == 0 && aws.ToInt32(ni.Attachment.NetworkCardIndex) == 0
}

// secondarySource fills a Source for an interface other than the primary,
// with SourceFromInstance's checks but none of its fallbacks to the
// instance's subnet and VPC, which are the primary interface's.
func secondarySource(inst ec2types.Instance, id, zone string, ni ec2types.InstanceNetworkInterface) (Source, error) {
	where := fmt.Sprintf("device index %d on network card %d", aws.ToInt32(ni.Attachment.DeviceIndex), aws.ToInt32(ni.Attachment.NetworkCardIndex))
	eni := aws.ToString(ni.NetworkInterfaceId)
	if eni == "" {
		return Source{}, fmt.Errorf("instance %s: network interface at %s has no NetworkInterfaceId: %w", id, where, ErrIncompleteSource)
	}
	ip := primaryInstanceIP(ni)
	if ip == "" {
		return Source{}, fmt.Errorf("instance %s: network interface %s has no primary private IPv4 address: %w", id, eni, ErrIncompleteSource)
	}
	if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
		return Source{}, fmt.Errorf("instance %s: network interface %s has primary private address %q, which is not an IPv4 address: %w", id, eni, ip, ErrIncompleteSource)
	}
	subnet := aws.ToString(ni.SubnetId)
	if subnet == "" {
		return Source{}, fmt.Errorf("instance %s: network interface %s (%s) has no SubnetId: %w", id, eni, where, ErrIncompleteSource)
	}
	return Source{
		InstanceID:         aws.ToString(inst.InstanceId),
		InstanceType:       string(inst.InstanceType),
		NetworkInterfaceID: eni,
		SubnetID:           subnet,
		VPCID:              aws.ToString(ni.VpcId),
		AvailabilityZone:   zone,
		PrivateIP:          ip,
		SecurityGroupIDs:   groupIDs(ni.Groups),
	}, nil
}
