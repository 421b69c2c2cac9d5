package placement

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

// IsCandidate reports whether t is one of the configured sensors: with
// targetIDs non-empty, membership decides (an explicit list overrides tags);
// otherwise the target must carry sensorTag with the same Key and Value. An
// empty sensorTag.Key matches nothing, so a misconfiguration never turns
// every target in the account into a sensor.
func IsCandidate(t ec2types.TrafficMirrorTarget, targetIDs []string, sensorTag config.Tag) bool {
	id := aws.ToString(t.TrafficMirrorTargetId)
	if id == "" {
		return false
	}
	if len(targetIDs) > 0 {
		return slices.Contains(targetIDs, id)
	}
	if sensorTag.Key == "" {
		return false
	}
	for _, tag := range t.Tags {
		if aws.ToString(tag.Key) == sensorTag.Key && aws.ToString(tag.Value) == sensorTag.Value {
			return true
		}
	}
	return false
}

// SensorTarget reports whether the interface eniID is itself a traffic mirror
// target, candidate or not: EC2 refuses a session whose source is a target,
// and mirroring a sensor would feed its own capture back to it.
func SensorTarget(eniID string, targets []ec2types.TrafficMirrorTarget) (ec2types.TrafficMirrorTarget, bool) {
	if eniID == "" {
		return ec2types.TrafficMirrorTarget{}, false
	}
	for _, t := range targets {
		if aws.ToString(t.NetworkInterfaceId) == eniID {
			return t, true
		}
	}
	return ec2types.TrafficMirrorTarget{}, false
}

// ExistingSession returns the session whose NetworkInterfaceId is sourceENI
// and whose target is a candidate, meaning the instance is already mirrored.
// Sessions to non-candidate targets belong to someone else and are ignored.
// When several match, the one EC2 evaluates first (lowest SessionNumber, then
// session id) is returned so the answer does not depend on API order. A nil
// isCandidate accepts every target.
func ExistingSession(sourceENI string, sessions []ec2types.TrafficMirrorSession, isCandidate func(targetID string) bool) (ec2types.TrafficMirrorSession, bool) {
	var best ec2types.TrafficMirrorSession
	found := false
	for _, s := range sessions {
		if sourceENI == "" || aws.ToString(s.NetworkInterfaceId) != sourceENI {
			continue
		}
		if isCandidate != nil && !isCandidate(aws.ToString(s.TrafficMirrorTargetId)) {
			continue
		}
		if !found || compareSessions(s, best) < 0 {
			best, found = s, true
		}
	}
	return best, found
}

func compareSessions(a, b ec2types.TrafficMirrorSession) int {
	return cmp.Or(
		cmp.Compare(aws.ToInt32(a.SessionNumber), aws.ToInt32(b.SessionNumber)),
		cmp.Compare(aws.ToString(a.TrafficMirrorSessionId), aws.ToString(b.TrafficMirrorSessionId)),
	)
}

// ResolveSensors turns candidate targets into Sensors, sorted by target id.
// An interface target takes its zone, subnet, VPC, primary address and groups
// from its interface, and its capacity from the type of the instance the
// interface is attached to (10 when unattached or the instance is not
// described). A target whose interface is missing cannot receive traffic and
// is rejected with a reason; load-balancer targets carry only their ids.
func ResolveSensors(targets []ec2types.TrafficMirrorTarget, enis []ec2types.NetworkInterface, instances []ec2types.Instance) ([]Sensor, []Rejection) {
	eniByID := make(map[string]ec2types.NetworkInterface, len(enis))
	for _, e := range enis {
		eniByID[aws.ToString(e.NetworkInterfaceId)] = e
	}
	typeByInstance := make(map[string]string, len(instances))
	for _, in := range instances {
		typeByInstance[aws.ToString(in.InstanceId)] = string(in.InstanceType)
	}

	var sensors []Sensor
	var rejected []Rejection
	for _, t := range targets {
		id := aws.ToString(t.TrafficMirrorTargetId)
		typ := targetType(t)
		switch typ {
		case TargetNetworkLB, TargetGatewayLBE:
			sensors = append(sensors, Sensor{TargetID: id, Type: typ, MaxSources: MaxSources(typ, "")})
			continue
		case TargetNetworkInterface:
		default:
			rejected = append(rejected, Rejection{TargetID: id, Reason: fmt.Sprintf(
				"%s has target type %q, which mirrorflow does not know how to place on", id, typ)})
			continue
		}
		eniID := aws.ToString(t.NetworkInterfaceId)
		if eniID == "" {
			rejected = append(rejected, Rejection{TargetID: id, Reason: fmt.Sprintf(
				"%s is a network-interface target without a NetworkInterfaceId; delete and recreate the target", id)})
			continue
		}
		e, ok := eniByID[eniID]
		if !ok {
			rejected = append(rejected, Rejection{TargetID: id, Reason: fmt.Sprintf(
				"network interface %s of %s was not found (deleted, or not described); restore the interface or delete the target", eniID, id)})
			continue
		}
		ip := primaryInterfaceIP(e)
		if ip == "" {
			rejected = append(rejected, Rejection{TargetID: id, Reason: fmt.Sprintf(
				"network interface %s of %s has no private IPv4 address to receive VXLAN on", eniID, id)})
			continue
		}
		s := Sensor{
			TargetID:           id,
			Type:               typ,
			NetworkInterfaceID: eniID,
			SubnetID:           aws.ToString(e.SubnetId),
			VPCID:              aws.ToString(e.VpcId),
			AvailabilityZone:   aws.ToString(e.AvailabilityZone),
			PrivateIP:          ip,
			SecurityGroupIDs:   groupIDs(e.Groups),
		}
		if e.Attachment != nil {
			s.InstanceID = aws.ToString(e.Attachment.InstanceId)
			s.InstanceType = typeByInstance[s.InstanceID]
		}
		s.MaxSources = MaxSources(typ, s.InstanceType)
		sensors = append(sensors, s)
	}
	slices.SortStableFunc(sensors, func(a, b Sensor) int { return cmp.Compare(a.TargetID, b.TargetID) })
	sortRejections(rejected)
	return sensors, rejected
}

// targetType names a target's type; a target described without Type is
// classified by which id it carries, as EC2 sets exactly one of them.
func targetType(t ec2types.TrafficMirrorTarget) string {
	if t.Type != "" {
		return string(t.Type)
	}
	switch {
	case aws.ToString(t.NetworkLoadBalancerArn) != "":
		return TargetNetworkLB
	case aws.ToString(t.GatewayLoadBalancerEndpointId) != "":
		return TargetGatewayLBE
	default:
		return TargetNetworkInterface
	}
}

// isLoadBalancer reports whether s receives through a load balancer rather
// than an interface of its own, so it has no groups, subnet or zone to check.
func (s Sensor) isLoadBalancer() bool {
	return s.Type == TargetNetworkLB || s.Type == TargetGatewayLBE
}

// withNote returns s with note appended to a copy of its notes, so that
// filtering the same sensors twice never writes into a shared backing array.
func (s Sensor) withNote(note string) Sensor {
	s.Notes = append(slices.Clip(s.Notes), note)
	return s
}

func sortRejections(rs []Rejection) {
	slices.SortStableFunc(rs, func(a, b Rejection) int { return cmp.Compare(a.TargetID, b.TargetID) })
}
