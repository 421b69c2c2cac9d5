// Package placement decides where an instance's traffic is mirrored. It is
// pure: functions over the SDK's ec2types and the plain values below, no
// network, so every rule of "What a placement must decide" is a table test.
package placement

// Source is the network interface to mirror: an instance's primary interface.
type Source struct {
	InstanceID         string   `json:"instanceId"`
	InstanceType       string   `json:"instanceType,omitempty"`
	NetworkInterfaceID string   `json:"networkInterfaceId"`
	SubnetID           string   `json:"subnetId"`
	VPCID              string   `json:"vpcId"`
	AvailabilityZone   string   `json:"availabilityZone"`
	PrivateIP          string   `json:"privateIp"`
	SecurityGroupIDs   []string `json:"securityGroupIds"`
}

// Target types, as EC2 names them in TrafficMirrorTarget.Type.
const (
	TargetNetworkInterface = "network-interface"
	TargetNetworkLB        = "network-load-balancer"
	TargetGatewayLBE       = "gateway-load-balancer-endpoint"
)

// Sensor is a candidate traffic mirror target, resolved to where it
// receives: for an interface target, its interface's zone, subnet, address
// and groups. ResolveSensors gives load-balancer targets only their ids;
// ResolveLoadBalancerSensors adds their zones.
type Sensor struct {
	TargetID           string   `json:"targetId"`
	Type               string   `json:"type"`
	NetworkInterfaceID string   `json:"networkInterfaceId,omitempty"`
	SubnetID           string   `json:"subnetId,omitempty"`
	VPCID              string   `json:"vpcId,omitempty"`
	AvailabilityZone   string   `json:"availabilityZone,omitempty"`
	PrivateIP          string   `json:"privateIp,omitempty"`
	SecurityGroupIDs   []string `json:"securityGroupIds,omitempty"`
	InstanceID         string   `json:"instanceId,omitempty"`
	InstanceType       string   `json:"instanceType,omitempty"`
	// Zones lists, sorted, the zones of a target that receives in several
	// (a Network Load Balancer enabled in more than one), AvailabilityZone
	// then being empty: the zone step counts such a sensor as same-zone
	// when the source's zone is any of them.
	Zones []string `json:"zones,omitempty"`
	// MaxSources is how many distinct source interfaces the target accepts;
	// 0 means no limit (load-balancer and GWLB endpoint targets).
	MaxSources int `json:"maxSources"`
	// SameZone is set by the zone step: the sensor is in the source's zone.
	// Sensors in other zones are kept only as a fallback when LocalZoneOnly is off.
	SameZone bool `json:"sameZone"`
	// Notes records checks a filter kept the sensor without applying, such
	// as security groups and network ACLs for a load-balancer target, which
	// has no interface of its own; PickLeastLoaded repeats them in Pick.Note
	// so that a person reading the decision knows what was not verified.
	Notes []string `json:"notes,omitempty"`
}

// Rejection says why one candidate sensor was not kept, in words a person
// can act on ("sg-0abc: no inbound rule admits UDP 4789 from 10.0.0.25").
type Rejection struct {
	TargetID string `json:"targetId"`
	Reason   string `json:"reason"`
}
