package placement

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// DrainingTagKey, with the value DrainingTagValue on a traffic mirror
// target, says a person is moving the target's sources elsewhere before
// maintenance: the target is never a candidate for a new session, and its
// existing sessions are stale.
const (
	DrainingTagKey   = "mirrorflow:draining"
	DrainingTagValue = "true"
)

// maxSessionsPerSource is EC2's quota of sessions per source network
// interface: the Traffic Mirroring guide's quotas table gives "Maximum
// number of sessions per source network interface" as 3, not adjustable
// (https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-quotas.html).
const maxSessionsPerSource = 3

// Live reports whether what t points at still exists: its interface, its
// Network Load Balancer or its Gateway Load Balancer endpoint, looked up by
// id (ARN for a load balancer) in the sets the caller described. AWS stops
// mirroring to a target whose resource is deleted, so such a target is no
// candidate: a session to it mirrors nothing. A target of an unknown type,
// or without the id its type needs, points at nothing.
func Live(t ec2types.TrafficMirrorTarget, interfaces, loadBalancers, endpoints map[string]bool) bool {
	switch targetType(t) {
	case TargetNetworkInterface:
		return present(interfaces, aws.ToString(t.NetworkInterfaceId))
	case TargetNetworkLB:
		return present(loadBalancers, aws.ToString(t.NetworkLoadBalancerArn))
	case TargetGatewayLBE:
		return present(endpoints, aws.ToString(t.GatewayLoadBalancerEndpointId))
	}
	return false
}

func present(set map[string]bool, id string) bool {
	return id != "" && set[id]
}

// Draining reports whether t carries DrainingTagKey = DrainingTagValue,
// compared exactly as EC2 compares tags.
func Draining(t ec2types.TrafficMirrorTarget) bool {
	for _, tag := range t.Tags {
		if aws.ToString(tag.Key) == DrainingTagKey && aws.ToString(tag.Value) == DrainingTagValue {
			return true
		}
	}
	return false
}

// RoomOnSource decides whether the interface eni can get a new session
// numbered sessionNumber. Of eni's sessions, the stale ones are mirrorflow's
// (managedBy) to a target that is not a candidate (candidate already folds
// in Live and Draining): they are deleted just before the new session is
// created, so they count neither for EC2's quota of 3 sessions per source
// interface nor for the session number, and are returned, ordered as EC2
// evaluates them (session number, then id), whatever ok is. Of the others,
// 3 leave no room (EC2 refuses a 4th); nor does one that holds
// sessionNumber, since EC2 refuses two sessions with the same number on an
// interface, and another number is not taken instead: the numbers order the
// sessions EC2 evaluates for each packet, which is mirrored once, by the
// first session whose filter accepts it, so a different number would change
// which sensor gets each packet. reason, empty when ok, names those
// sessions and their targets. A nil managedBy owns no session and a nil
// candidate accepts every target: either way nothing is stale.
func RoomOnSource(eni string, sessions []ec2types.TrafficMirrorSession, sessionNumber int32,
	candidate func(targetID string) bool, managedBy func(ec2types.TrafficMirrorSession) bool,
) (stale []ec2types.TrafficMirrorSession, reason string, ok bool) {
	var others []ec2types.TrafficMirrorSession
	for _, s := range sessions {
		if eni == "" || aws.ToString(s.NetworkInterfaceId) != eni {
			continue
		}
		if managedBy != nil && managedBy(s) && candidate != nil && !candidate(aws.ToString(s.TrafficMirrorTargetId)) {
			stale = append(stale, s)
			continue
		}
		others = append(others, s)
	}
	slices.SortStableFunc(stale, compareSessions)
	slices.SortStableFunc(others, compareSessions)

	if len(others) >= maxSessionsPerSource {
		list := make([]string, len(others))
		for i, s := range others {
			list[i] = describeSession(s)
		}
		return stale, fmt.Sprintf(
			"%s already has %d sessions, EC2's limit per source interface (%s); delete one of them to mirror it here",
			eni, len(others), strings.Join(list, ", ")), false
	}
	for _, s := range others {
		if s.SessionNumber != nil && *s.SessionNumber == sessionNumber {
			return stale, fmt.Sprintf(
				"session number %d is held on %s by %s; EC2 refuses a second session with that number on one interface, and mirrorflow does not take another number because the numbers decide which session (so which sensor) gets each packet; give that session or this rule's SessionNumber another number",
				sessionNumber, eni, describeSession(s)), false
		}
	}
	return stale, "", true
}

// describeSession names a session in a reason: "tms-1 (number 2) → tmt-1".
func describeSession(s ec2types.TrafficMirrorSession) string {
	n := "no number"
	if s.SessionNumber != nil {
		n = fmt.Sprintf("number %d", *s.SessionNumber)
	}
	return fmt.Sprintf("%s (%s) → %s", aws.ToString(s.TrafficMirrorSessionId), n, aws.ToString(s.TrafficMirrorTargetId))
}
