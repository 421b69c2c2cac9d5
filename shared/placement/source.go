package placement

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ErrIncompleteSource is wrapped by SourceFromInstance's errors, so a caller
// can report the instance as skipped (EC2 described it without what a mirror
// session needs) rather than treat it as a failure of the workflow.
var ErrIncompleteSource = errors.New("instance cannot be a mirror source")

// SourceFromInstance picks the instance's primary interface (DeviceIndex 0 on
// NetworkCardIndex 0), its subnet, VPC, zone (Placement.AvailabilityZone),
// primary private IPv4 and groups. Only the primary interface is mirrored
// because it carries the instance's own address, the one the sensor's
// security groups and ACLs are written for. An instance with no public IP is
// a valid source; a missing interface, private IPv4 or zone is an error
// naming what is missing.
func SourceFromInstance(inst ec2types.Instance) (Source, error) {
	id := aws.ToString(inst.InstanceId)
	if id == "" {
		id = "(no InstanceId)"
	}
	ni, ok := primaryInterface(inst.NetworkInterfaces)
	if !ok {
		return Source{}, fmt.Errorf("instance %s has no primary network interface (DeviceIndex 0 on NetworkCardIndex 0) among its %d interfaces: %w",
			id, len(inst.NetworkInterfaces), ErrIncompleteSource)
	}
	eni := aws.ToString(ni.NetworkInterfaceId)
	if eni == "" {
		return Source{}, fmt.Errorf("instance %s: primary network interface has no NetworkInterfaceId: %w", id, ErrIncompleteSource)
	}
	ip := primaryInstanceIP(ni)
	if ip == "" {
		return Source{}, fmt.Errorf("instance %s: network interface %s has no primary private IPv4 address: %w", id, eni, ErrIncompleteSource)
	}
	if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
		return Source{}, fmt.Errorf("instance %s: network interface %s has primary private address %q, which is not an IPv4 address: %w", id, eni, ip, ErrIncompleteSource)
	}
	zone := ""
	if inst.Placement != nil {
		zone = aws.ToString(inst.Placement.AvailabilityZone)
	}
	if zone == "" {
		return Source{}, fmt.Errorf("instance %s has no Placement.AvailabilityZone: %w", id, ErrIncompleteSource)
	}
	subnet := aws.ToString(ni.SubnetId)
	if subnet == "" {
		subnet = aws.ToString(inst.SubnetId)
	}
	if subnet == "" {
		return Source{}, fmt.Errorf("instance %s: network interface %s has no SubnetId: %w", id, eni, ErrIncompleteSource)
	}
	vpc := aws.ToString(ni.VpcId)
	if vpc == "" {
		vpc = aws.ToString(inst.VpcId)
	}
	return Source{
		InstanceID:         aws.ToString(inst.InstanceId),
		InstanceType:       string(inst.InstanceType),
		NetworkInterfaceID: eni,
		SubnetID:           subnet,
		VPCID:              vpc,
		AvailabilityZone:   zone,
		PrivateIP:          ip,
		SecurityGroupIDs:   groupIDs(ni.Groups),
	}, nil
}

// primaryInterface finds the interface at DeviceIndex 0 on network card 0. A
// missing NetworkCardIndex is card 0: instances with one card omit it.
func primaryInterface(nis []ec2types.InstanceNetworkInterface) (ec2types.InstanceNetworkInterface, bool) {
	for _, ni := range nis {
		if ni.Attachment == nil || ni.Attachment.DeviceIndex == nil {
			continue
		}
		if aws.ToInt32(ni.Attachment.DeviceIndex) == 0 && aws.ToInt32(ni.Attachment.NetworkCardIndex) == 0 {
			return ni, true
		}
	}
	return ec2types.InstanceNetworkInterface{}, false
}

// primaryInstanceIP prefers PrivateIpAddress, which EC2 sets to the primary
// address, and falls back to the entry marked Primary.
func primaryInstanceIP(ni ec2types.InstanceNetworkInterface) string {
	if ip := aws.ToString(ni.PrivateIpAddress); ip != "" {
		return ip
	}
	for _, a := range ni.PrivateIpAddresses {
		if aws.ToBool(a.Primary) {
			return aws.ToString(a.PrivateIpAddress)
		}
	}
	return ""
}

// primaryInterfaceIP is primaryInstanceIP for a described network interface.
func primaryInterfaceIP(ni ec2types.NetworkInterface) string {
	if ip := aws.ToString(ni.PrivateIpAddress); ip != "" {
		return ip
	}
	for _, a := range ni.PrivateIpAddresses {
		if aws.ToBool(a.Primary) {
			return aws.ToString(a.PrivateIpAddress)
		}
	}
	return ""
}

// groupIDs returns the distinct group ids, sorted so that decisions and
// messages do not depend on the order EC2 listed them in.
func groupIDs(gs []ec2types.GroupIdentifier) []string {
	var ids []string
	for _, g := range gs {
		if id := aws.ToString(g.GroupId); id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
