package placement

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ResolveLoadBalancerSensors turns the load-balancer targets among targets
// into Sensors with their zones, sorted by target id; interface targets, and
// targets of a type mirrorflow does not know, are ResolveSensors's and are
// left out. Neither kind has a limit on sources (MaxSources 0), and neither
// has an interface of its own, so the security-group and ACL filters keep
// them with a note, as they keep ResolveSensors's.
//
// A Network Load Balancer target receives in the zones of its load
// balancer's AvailabilityZones, and must have a listener whose protocol is
// UDP or TCP_UDP on port 4789: the Traffic Mirroring guide, "Traffic mirror
// targets", Network Load Balancer, Considerations: "Traffic mirroring can't
// occur unless the load balancer has UDP listeners on port 4789. If you
// remove the UDP listeners, Traffic Mirroring fails without an error
// indication"
// (https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-targets.html).
// A target without one is rejected with what to add, since a session to it
// would be created and mirror nothing. A Gateway Load Balancer endpoint
// target receives in its endpoint's subnet's zone (a subnet not in subnets
// leaves its zone unknown, and the zone step then keeps it with a note); its
// load balancer listens on every port, so it has no listener to check. A
// target whose load balancer or endpoint is not in lbs or endpoints is
// rejected as gone: AWS stops mirroring to a target whose resource is
// deleted.
func ResolveLoadBalancerSensors(targets []ec2types.TrafficMirrorTarget, lbs []elbv2types.LoadBalancer, listeners []elbv2types.Listener,
	endpoints []ec2types.VpcEndpoint, subnets []ec2types.Subnet,
) (sensors []Sensor, rejected []Rejection) {
	lbByARN := make(map[string]elbv2types.LoadBalancer, len(lbs))
	for _, lb := range lbs {
		lbByARN[aws.ToString(lb.LoadBalancerArn)] = lb
	}
	listenersByLB := make(map[string][]elbv2types.Listener)
	for _, l := range listeners {
		arn := aws.ToString(l.LoadBalancerArn)
		listenersByLB[arn] = append(listenersByLB[arn], l)
	}
	endpointByID := make(map[string]ec2types.VpcEndpoint, len(endpoints))
	for _, e := range endpoints {
		endpointByID[aws.ToString(e.VpcEndpointId)] = e
	}
	zoneBySubnet := make(map[string]string, len(subnets))
	for _, s := range subnets {
		zoneBySubnet[aws.ToString(s.SubnetId)] = aws.ToString(s.AvailabilityZone)
	}

	for _, t := range targets {
		id := aws.ToString(t.TrafficMirrorTargetId)
		typ := targetType(t)
		var s Sensor
		var reason string
		switch typ {
		case TargetNetworkLB:
			s, reason = resolveNLB(t, lbByARN, listenersByLB)
		case TargetGatewayLBE:
			s, reason = resolveGWLBE(t, endpointByID, zoneBySubnet)
		default:
			continue
		}
		if reason != "" {
			rejected = append(rejected, Rejection{TargetID: id, Reason: reason})
			continue
		}
		s.TargetID, s.Type, s.MaxSources = id, typ, MaxSources(typ, "")
		sensors = append(sensors, s)
	}
	slices.SortStableFunc(sensors, func(a, b Sensor) int { return cmp.Compare(a.TargetID, b.TargetID) })
	sortRejections(rejected)
	return sensors, rejected
}

// resolveNLB gives a Network Load Balancer target its VPC and zones, or the
// reason it cannot receive.
func resolveNLB(t ec2types.TrafficMirrorTarget, lbByARN map[string]elbv2types.LoadBalancer, listenersByLB map[string][]elbv2types.Listener) (Sensor, string) {
	id := aws.ToString(t.TrafficMirrorTargetId)
	arn := aws.ToString(t.NetworkLoadBalancerArn)
	if arn == "" {
		return Sensor{}, fmt.Sprintf("%s is a network-load-balancer target without a NetworkLoadBalancerArn; delete and recreate the target", id)
	}
	lb, ok := lbByARN[arn]
	if !ok {
		return Sensor{}, fmt.Sprintf("load balancer %s of %s was not found (deleted, or not described); restore the load balancer or delete the target", arn, id)
	}
	if !listensForVXLAN(listenersByLB[arn]) {
		return Sensor{}, fmt.Sprintf(
			"load balancer %s of %s has no UDP or TCP_UDP listener on port %d%s, and AWS drops mirrored packets sent to a Network Load Balancer without one, with no error; add a UDP listener on port %d to it",
			arn, id, VXLANPort, otherListenersOnPort(listenersByLB[arn]), VXLANPort)
	}
	var zones []string
	for _, az := range lb.AvailabilityZones {
		if z := aws.ToString(az.ZoneName); z != "" {
			zones = append(zones, z)
		}
	}
	s := Sensor{VPCID: aws.ToString(lb.VpcId)}
	s.AvailabilityZone, s.Zones = zonesOf(zones)
	return s, ""
}

// listensForVXLAN reports whether one of a load balancer's listeners
// receives UDP on the VXLAN port: protocol UDP or TCP_UDP, port 4789.
func listensForVXLAN(ls []elbv2types.Listener) bool {
	return slices.ContainsFunc(ls, func(l elbv2types.Listener) bool {
		return aws.ToInt32(l.Port) == VXLANPort &&
			(l.Protocol == elbv2types.ProtocolEnumUdp || l.Protocol == elbv2types.ProtocolEnumTcpUdp)
	})
}

// otherListenersOnPort names, for the reason, the listeners that are on
// port 4789 with a protocol that does not receive UDP (a TCP listener is
// the usual slip), so that a person sees which one to change.
func otherListenersOnPort(ls []elbv2types.Listener) string {
	var protos []string
	for _, l := range ls {
		if aws.ToInt32(l.Port) == VXLANPort {
			protos = append(protos, string(l.Protocol))
		}
	}
	if len(protos) == 0 {
		return ""
	}
	slices.Sort(protos)
	return fmt.Sprintf(" (its listener on port %d is %s, which does not receive UDP)", VXLANPort, strings.Join(slices.Compact(protos), " and "))
}

// resolveGWLBE gives a Gateway Load Balancer endpoint target its VPC, subnet
// and zone, or the reason it cannot receive.
func resolveGWLBE(t ec2types.TrafficMirrorTarget, endpointByID map[string]ec2types.VpcEndpoint, zoneBySubnet map[string]string) (Sensor, string) {
	id := aws.ToString(t.TrafficMirrorTargetId)
	epID := aws.ToString(t.GatewayLoadBalancerEndpointId)
	if epID == "" {
		return Sensor{}, fmt.Sprintf("%s is a gateway-load-balancer-endpoint target without a GatewayLoadBalancerEndpointId; delete and recreate the target", id)
	}
	ep, ok := endpointByID[epID]
	if !ok {
		return Sensor{}, fmt.Sprintf("Gateway Load Balancer endpoint %s of %s was not found (deleted, or not described); restore the endpoint or delete the target", epID, id)
	}
	var zones []string
	for _, sub := range ep.SubnetIds {
		if z := zoneBySubnet[sub]; z != "" {
			zones = append(zones, z)
		}
	}
	s := Sensor{VPCID: aws.ToString(ep.VpcId)}
	if len(ep.SubnetIds) == 1 {
		s.SubnetID = ep.SubnetIds[0]
	}
	s.AvailabilityZone, s.Zones = zonesOf(zones)
	return s, ""
}

// zonesOf returns zones, sorted and without repeats, as a Sensor holds them:
// one zone in AvailabilityZone, several in Zones.
func zonesOf(zones []string) (zone string, several []string) {
	zones = slices.Compact(slices.Sorted(slices.Values(zones)))
	switch len(zones) {
	case 0:
		return "", nil
	case 1:
		return zones[0], nil
	default:
		return "", zones
	}
}
