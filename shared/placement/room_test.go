package placement

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testNLBARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/sensors/0123456789abcdef"

func TestLive(t *testing.T) {
	interfaces := map[string]bool{"eni-1": true}
	loadBalancers := map[string]bool{testNLBARN: true}
	endpoints := map[string]bool{"vpce-1": true}
	nlb := func(arn string) ec2types.TrafficMirrorTarget {
		return ec2types.TrafficMirrorTarget{TrafficMirrorTargetId: aws.String("tmt-nlb"), Type: ec2types.TrafficMirrorTargetTypeNetworkLoadBalancer, NetworkLoadBalancerArn: aws.String(arn)}
	}
	gwlbe := func(id string) ec2types.TrafficMirrorTarget {
		return ec2types.TrafficMirrorTarget{TrafficMirrorTargetId: aws.String("tmt-gwlbe"), Type: ec2types.TrafficMirrorTargetTypeGatewayLoadBalancerEndpoint, GatewayLoadBalancerEndpointId: aws.String(id)}
	}
	tests := []struct {
		name   string
		target ec2types.TrafficMirrorTarget
		want   bool
	}{
		{"an interface target is live while its interface exists", tmt("tmt-1", "eni-1"), true},
		{"an interface target whose interface is gone is not live", tmt("tmt-2", "eni-gone"), false},
		{"a Network Load Balancer target is live while its load balancer exists", nlb(testNLBARN), true},
		{"a Network Load Balancer target whose load balancer is gone is not live", nlb(testNLBARN + "0"), false},
		{"a Gateway Load Balancer endpoint target is live while its endpoint exists", gwlbe("vpce-1"), true},
		{"a Gateway Load Balancer endpoint target whose endpoint is gone is not live", gwlbe("vpce-gone"), false},
		{"a target is looked up by the id its type names, not another it carries",
			ec2types.TrafficMirrorTarget{Type: ec2types.TrafficMirrorTargetTypeNetworkLoadBalancer, NetworkInterfaceId: aws.String("eni-1")}, false},
		{"a target without Type is classified by the id it carries",
			ec2types.TrafficMirrorTarget{GatewayLoadBalancerEndpointId: aws.String("vpce-1")}, true},
		{"a target of an unknown type points at nothing",
			ec2types.TrafficMirrorTarget{Type: "carrier-pigeon", NetworkInterfaceId: aws.String("eni-1")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Live(tt.target, interfaces, loadBalancers, endpoints); got != tt.want {
				t.Errorf("Live = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDraining(t *testing.T) {
	tests := []struct {
		name   string
		target ec2types.TrafficMirrorTarget
		want   bool
	}{
		{"a target tagged mirrorflow:draining = true is draining", tmt("tmt-1", "eni-1", "Name", "s1", "mirrorflow:draining", "true"), true},
		{"mirrorflow:draining with another value is not draining", tmt("tmt-1", "eni-1", "mirrorflow:draining", "false"), false},
		{"the draining tag is compared exactly, case included", tmt("tmt-1", "eni-1", "mirrorflow:draining", "True"), false},
		{"an untagged target is not draining", tmt("tmt-1", "eni-1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Draining(tt.target); got != tt.want {
				t.Errorf("Draining = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoomOnSource(t *testing.T) {
	// ours marks a session as mirrorflow's, as the ManagedBy tag does.
	ours := func(s ec2types.TrafficMirrorSession) ec2types.TrafficMirrorSession {
		s.Tags = append(s.Tags, ec2types.Tag{Key: aws.String("ManagedBy"), Value: aws.String("mirrorflow")})
		return s
	}
	managedBy := func(s ec2types.TrafficMirrorSession) bool {
		for _, tag := range s.Tags {
			if aws.ToString(tag.Key) == "ManagedBy" && aws.ToString(tag.Value) == "mirrorflow" {
				return true
			}
		}
		return false
	}
	candidate := func(id string) bool { return id == "tmt-1" || id == "tmt-2" }
	numbered := func(id, target string, n int32) ec2types.TrafficMirrorSession {
		s := session(id, target, srcENI)
		s.SessionNumber = aws.Int32(n)
		return s
	}
	const fullReason = "eni-src already has 3 sessions, EC2's limit per source interface (tms-a (number 1) → tmt-x, tms-b (number 2) → tmt-y, tms-c (number 3) → tmt-1); delete one of them to mirror it here"
	tests := []struct {
		name          string
		eni           string
		sessions      []ec2types.TrafficMirrorSession
		sessionNumber int32
		candidate     func(string) bool
		managedBy     func(ec2types.TrafficMirrorSession) bool
		wantStale     []string
		wantReason    string
	}{
		{
			name: "an interface without sessions has room",
			eni:  srcENI, sessionNumber: 1, candidate: candidate, managedBy: managedBy,
		},
		{
			name: "sessions of other interfaces do not count",
			eni:  srcENI, sessionNumber: 1, candidate: candidate, managedBy: managedBy,
			sessions: []ec2types.TrafficMirrorSession{session("tms-o1", "tmt-x", "eni-other"), session("tms-o2", "tmt-y", "eni-other"), session("tms-o3", "tmt-z", "eni-other")},
		},
		{
			name: "two sessions on other numbers leave room for a third",
			eni:  srcENI, sessionNumber: 1, candidate: candidate, managedBy: managedBy,
			sessions: []ec2types.TrafficMirrorSession{numbered("tms-a", "tmt-x", 2), numbered("tms-b", "tmt-y", 3)},
		},
		{
			name: "an interface with 3 sessions cannot get another, and the reason lists them in number order",
			eni:  srcENI, sessionNumber: 4, candidate: candidate, managedBy: managedBy,
			sessions:   []ec2types.TrafficMirrorSession{numbered("tms-c", "tmt-1", 3), numbered("tms-a", "tmt-x", 1), numbered("tms-b", "tmt-y", 2)},
			wantReason: fullReason,
		},
		{
			name: "mirrorflow's session to a target that is no longer a candidate is stale and does not count for the quota",
			eni:  srcENI, sessionNumber: 4, candidate: candidate, managedBy: managedBy,
			sessions:  []ec2types.TrafficMirrorSession{numbered("tms-a", "tmt-x", 1), numbered("tms-b", "tmt-y", 2), ours(numbered("tms-c", "tmt-retired", 3))},
			wantStale: []string{"tms-c"},
		},
		{
			name: "someone else's session to a target that is not a candidate is not stale and counts",
			eni:  srcENI, sessionNumber: 4, candidate: candidate, managedBy: managedBy,
			sessions:   []ec2types.TrafficMirrorSession{numbered("tms-a", "tmt-x", 1), numbered("tms-b", "tmt-y", 2), numbered("tms-c", "tmt-1", 3)},
			wantReason: fullReason,
		},
		{
			name: "mirrorflow's session to a candidate is not stale and counts",
			eni:  srcENI, sessionNumber: 4, candidate: candidate, managedBy: managedBy,
			sessions:   []ec2types.TrafficMirrorSession{numbered("tms-a", "tmt-x", 1), numbered("tms-b", "tmt-y", 2), ours(numbered("tms-c", "tmt-1", 3))},
			wantReason: fullReason,
		},
		{
			name: "a session that holds the session number leaves no room, naming it and its target",
			eni:  srcENI, sessionNumber: 2, candidate: candidate, managedBy: managedBy,
			sessions:   []ec2types.TrafficMirrorSession{numbered("tms-a", "tmt-x", 1), numbered("tms-b", "tmt-y", 2)},
			wantReason: "session number 2 is held on eni-src by tms-b (number 2) → tmt-y; EC2 refuses a second session with that number on one interface, and mirrorflow does not take another number because the numbers decide which session (so which sensor) gets each packet; give that session or this rule's SessionNumber another number",
		},
		{
			name: "a stale session holding the session number frees it",
			eni:  srcENI, sessionNumber: 1, candidate: candidate, managedBy: managedBy,
			sessions:  []ec2types.TrafficMirrorSession{ours(numbered("tms-a", "tmt-draining", 1)), numbered("tms-b", "tmt-y", 2)},
			wantStale: []string{"tms-a"},
		},
		{
			name: "when the quota and the number both block, the quota is the reason",
			eni:  srcENI, sessionNumber: 2, candidate: candidate, managedBy: managedBy,
			sessions:   []ec2types.TrafficMirrorSession{numbered("tms-c", "tmt-1", 3), numbered("tms-a", "tmt-x", 1), numbered("tms-b", "tmt-y", 2)},
			wantReason: fullReason,
		},
		{
			name: "stale sessions are returned in session-number order even when there is no room",
			eni:  srcENI, sessionNumber: 9, candidate: candidate, managedBy: managedBy,
			sessions: []ec2types.TrafficMirrorSession{
				ours(numbered("tms-s2", "tmt-gone", 7)), numbered("tms-c", "tmt-1", 3), ours(numbered("tms-s1", "tmt-gone", 5)),
				numbered("tms-a", "tmt-x", 1), numbered("tms-b", "tmt-y", 2),
			},
			wantStale:  []string{"tms-s1", "tms-s2"},
			wantReason: fullReason,
		},
		{
			name: "without managedBy no session is mirrorflow's, so none is stale",
			eni:  srcENI, sessionNumber: 1, candidate: candidate,
			sessions:   []ec2types.TrafficMirrorSession{ours(numbered("tms-a", "tmt-gone", 1))},
			wantReason: "session number 1 is held on eni-src by tms-a (number 1) → tmt-gone; EC2 refuses a second session with that number on one interface, and mirrorflow does not take another number because the numbers decide which session (so which sensor) gets each packet; give that session or this rule's SessionNumber another number",
		},
		{
			name: "without candidate every target is a candidate, so none is stale",
			eni:  srcENI, sessionNumber: 2, managedBy: managedBy,
			sessions: []ec2types.TrafficMirrorSession{ours(numbered("tms-a", "tmt-gone", 1))},
		},
		{
			name: "an empty interface id has no sessions",
			eni:  "", sessionNumber: 1, candidate: candidate, managedBy: managedBy,
			sessions: []ec2types.TrafficMirrorSession{{TrafficMirrorSessionId: aws.String("tms-a"), SessionNumber: aws.Int32(1)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stale, reason, ok := RoomOnSource(tt.eni, tt.sessions, tt.sessionNumber, tt.candidate, tt.managedBy)
			var staleIDs []string
			for _, s := range stale {
				staleIDs = append(staleIDs, aws.ToString(s.TrafficMirrorSessionId))
			}
			if diff := cmp.Diff(tt.wantStale, staleIDs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("stale mismatch (-want +got):\n%s", diff)
			}
			if ok != (tt.wantReason == "") || reason != tt.wantReason {
				t.Errorf("RoomOnSource = %q, %v;\nwant %q, %v", reason, ok, tt.wantReason, tt.wantReason == "")
			}
		})
	}
}
