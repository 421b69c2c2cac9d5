package placement

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

// SensorInstance reports whether inst is a sensor, and the target that makes
// it one: any of its interfaces, of whatever type and attached at whatever
// index, is a traffic mirror target's (candidate or not). Every interface of
// a sensor is skipped, not only the target's: mirroring a sensor's other
// interfaces would feed capture traffic back into the capture. When several
// interfaces are targets, the lowest target id is returned, so the reason
// does not depend on the order EC2 listed them in.
func SensorInstance(inst ec2types.Instance, targets []ec2types.TrafficMirrorTarget) (targetID string, ok bool) {
	for _, ni := range inst.NetworkInterfaces {
		t, found := SensorTarget(aws.ToString(ni.NetworkInterfaceId), targets)
		if !found {
			continue
		}
		if id := aws.ToString(t.TrafficMirrorTargetId); !ok || id < targetID {
			targetID, ok = id, true
		}
	}
	return targetID, ok
}

// OptedOut reports whether tags (an instance's) carry the ExcludeTag, key
// and value both, compared exactly as EC2 compares tags. An empty
// exclude.Key opts nothing out, as EC2 allows no empty key: a configuration
// that lost its ExcludeTag must not silently skip every instance.
func OptedOut(tags []ec2types.Tag, exclude config.Tag) bool {
	if exclude.Key == "" {
		return false
	}
	for _, t := range tags {
		if aws.ToString(t.Key) == exclude.Key && aws.ToString(t.Value) == exclude.Value {
			return true
		}
	}
	return false
}

// IPv6Only reports whether subnet is IPv6-only (Ipv6Native). AWS's Traffic
// Mirroring guide says under "Traffic Mirroring limitations", General
// limitations, IPv6 traffic: "Traffic Mirroring is not supported for
// IPv6-only subnets"
// (https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-network-limitations.html).
func IPv6Only(subnet ec2types.Subnet) bool {
	return aws.ToBool(subnet.Ipv6Native)
}

// Ineligible reports whether src cannot be a traffic mirror source at all,
// so that its placement is skipped rather than failed: nothing mirrorflow
// or a sensor can change would make the session possible. It is so when the
// instance type is one AWS excludes (SourceSupported) or, when the subnet of
// the source interface is known (subnetKnown), when that subnet is
// IPv6-only. reason names every cause that applies, with what a person can
// do about it; it is empty when skip is false. An unknown subnet is not
// judged: the session is attempted, and EC2 decides.
func Ineligible(src Source, subnet ec2types.Subnet, subnetKnown bool) (reason string, skip bool) {
	var causes []string
	if ok, why := SourceSupported(src.InstanceType); !ok {
		causes = append(causes, fmt.Sprintf("instance %s cannot be a traffic mirror source: %s; to mirror it, change it to an instance type that can be one",
			instanceName(src.InstanceID), why))
	}
	if subnetKnown && IPv6Only(subnet) {
		id := aws.ToString(subnet.SubnetId)
		if id == "" {
			id = src.SubnetID
		}
		causes = append(causes, fmt.Sprintf("network interface %s is in subnet %s, which is IPv6-only (Ipv6Native), and Traffic Mirroring is not supported for IPv6-only subnets (AWS Traffic Mirroring guide, Traffic Mirroring limitations); to mirror it, use an interface in a subnet with IPv4 (dual-stack or IPv4-only)",
			src.NetworkInterfaceID, id))
	}
	if len(causes) == 0 {
		return "", false
	}
	return strings.Join(causes, "; and "), true
}

// instanceName names an instance in a reason, even one described without
// an id.
func instanceName(id string) string {
	if id == "" {
		return "(no InstanceId)"
	}
	return id
}
