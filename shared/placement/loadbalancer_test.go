package placement

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func nlbTarget(id, arn string) ec2types.TrafficMirrorTarget {
	return ec2types.TrafficMirrorTarget{TrafficMirrorTargetId: aws.String(id), Type: ec2types.TrafficMirrorTargetTypeNetworkLoadBalancer, NetworkLoadBalancerArn: aws.String(arn)}
}

func gwlbeTarget(id, endpointID string) ec2types.TrafficMirrorTarget {
	return ec2types.TrafficMirrorTarget{TrafficMirrorTargetId: aws.String(id), Type: ec2types.TrafficMirrorTargetTypeGatewayLoadBalancerEndpoint, GatewayLoadBalancerEndpointId: aws.String(endpointID)}
}

func loadBalancer(arn string, zones ...string) elbv2types.LoadBalancer {
	lb := elbv2types.LoadBalancer{LoadBalancerArn: aws.String(arn), Type: elbv2types.LoadBalancerTypeEnumNetwork, VpcId: aws.String(vpcID)}
	for _, z := range zones {
		lb.AvailabilityZones = append(lb.AvailabilityZones, elbv2types.AvailabilityZone{ZoneName: aws.String(z), SubnetId: aws.String("subnet-" + z)})
	}
	return lb
}

func listener(lbARN string, proto elbv2types.ProtocolEnum, port int32) elbv2types.Listener {
	return elbv2types.Listener{LoadBalancerArn: aws.String(lbARN), Protocol: proto, Port: aws.Int32(port)}
}

func gwlbEndpoint(id string, subnets ...string) ec2types.VpcEndpoint {
	return ec2types.VpcEndpoint{VpcEndpointId: aws.String(id), VpcEndpointType: ec2types.VpcEndpointTypeGatewayLoadBalancer, VpcId: aws.String(vpcID), SubnetIds: subnets}
}

func TestResolveLoadBalancerSensors(t *testing.T) {
	const otherARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/other/fedcba9876543210"
	udp := listener(testNLBARN, elbv2types.ProtocolEnumUdp, VXLANPort)
	subnets := []ec2types.Subnet{
		{SubnetId: aws.String("subnet-gw-a"), AvailabilityZone: aws.String(zoneA)},
		{SubnetId: aws.String("subnet-gw-b"), AvailabilityZone: aws.String(zoneB)},
	}
	nlbSensor := func(id, zone string, zones ...string) Sensor {
		return Sensor{TargetID: id, Type: TargetNetworkLB, VPCID: vpcID, AvailabilityZone: zone, Zones: zones}
	}
	gwlbeSensor := func(id, subnet, zone string) Sensor {
		return Sensor{TargetID: id, Type: TargetGatewayLBE, VPCID: vpcID, SubnetID: subnet, AvailabilityZone: zone}
	}
	noListener := "load balancer " + testNLBARN + " of tmt-nlb has no UDP or TCP_UDP listener on port 4789%s, and AWS drops mirrored packets sent to a Network Load Balancer without one, with no error; add a UDP listener on port 4789 to it"
	tests := []struct {
		name         string
		targets      []ec2types.TrafficMirrorTarget
		lbs          []elbv2types.LoadBalancer
		listeners    []elbv2types.Listener
		endpoints    []ec2types.VpcEndpoint
		wantSensors  []Sensor
		wantRejected []Rejection
	}{
		{
			name:        "a Network Load Balancer target is in every zone of its load balancer, sorted, with no limit on sources",
			targets:     []ec2types.TrafficMirrorTarget{nlbTarget("tmt-nlb", testNLBARN)},
			lbs:         []elbv2types.LoadBalancer{loadBalancer(testNLBARN, zoneB, zoneA)},
			listeners:   []elbv2types.Listener{udp},
			wantSensors: []Sensor{nlbSensor("tmt-nlb", "", zoneA, zoneB)},
		},
		{
			name:        "a Network Load Balancer in one zone is in that zone",
			targets:     []ec2types.TrafficMirrorTarget{nlbTarget("tmt-nlb", testNLBARN)},
			lbs:         []elbv2types.LoadBalancer{loadBalancer(testNLBARN, zoneB)},
			listeners:   []elbv2types.Listener{udp},
			wantSensors: []Sensor{nlbSensor("tmt-nlb", zoneB)},
		},
		{
			name:        "a TCP_UDP listener on port 4789 receives mirrored traffic",
			targets:     []ec2types.TrafficMirrorTarget{nlbTarget("tmt-nlb", testNLBARN)},
			lbs:         []elbv2types.LoadBalancer{loadBalancer(testNLBARN, zoneA)},
			listeners:   []elbv2types.Listener{listener(testNLBARN, elbv2types.ProtocolEnumTcpUdp, VXLANPort)},
			wantSensors: []Sensor{nlbSensor("tmt-nlb", zoneA)},
		},
		{
			name:    "a Network Load Balancer without a UDP listener on port 4789 is rejected, saying what to add",
			targets: []ec2types.TrafficMirrorTarget{nlbTarget("tmt-nlb", testNLBARN)},
			lbs:     []elbv2types.LoadBalancer{loadBalancer(testNLBARN, zoneA)},
			listeners: []elbv2types.Listener{
				listener(testNLBARN, elbv2types.ProtocolEnumUdp, 4790),
				listener(testNLBARN, elbv2types.ProtocolEnumTcp, 80),
			},
			wantRejected: []Rejection{{TargetID: "tmt-nlb", Reason: fmt.Sprintf(noListener, "")}},
		},
		{
			name:         "a TCP listener on port 4789 does not receive UDP and is named",
			targets:      []ec2types.TrafficMirrorTarget{nlbTarget("tmt-nlb", testNLBARN)},
			lbs:          []elbv2types.LoadBalancer{loadBalancer(testNLBARN, zoneA)},
			listeners:    []elbv2types.Listener{listener(testNLBARN, elbv2types.ProtocolEnumTcp, VXLANPort)},
			wantRejected: []Rejection{{TargetID: "tmt-nlb", Reason: fmt.Sprintf(noListener, " (its listener on port 4789 is TCP, which does not receive UDP)")}},
		},
		{
			name:         "another load balancer's UDP listener on port 4789 does not count",
			targets:      []ec2types.TrafficMirrorTarget{nlbTarget("tmt-nlb", testNLBARN)},
			lbs:          []elbv2types.LoadBalancer{loadBalancer(testNLBARN, zoneA), loadBalancer(otherARN, zoneA)},
			listeners:    []elbv2types.Listener{listener(otherARN, elbv2types.ProtocolEnumUdp, VXLANPort)},
			wantRejected: []Rejection{{TargetID: "tmt-nlb", Reason: fmt.Sprintf(noListener, "")}},
		},
		{
			name:      "a Network Load Balancer target whose load balancer is gone is rejected as gone",
			targets:   []ec2types.TrafficMirrorTarget{nlbTarget("tmt-nlb", testNLBARN)},
			lbs:       []elbv2types.LoadBalancer{loadBalancer(otherARN, zoneA)},
			listeners: []elbv2types.Listener{udp},
			wantRejected: []Rejection{{TargetID: "tmt-nlb",
				Reason: "load balancer " + testNLBARN + " of tmt-nlb was not found (deleted, or not described); restore the load balancer or delete the target"}},
		},
		{
			name:    "a Network Load Balancer target without its ARN is rejected",
			targets: []ec2types.TrafficMirrorTarget{{TrafficMirrorTargetId: aws.String("tmt-nlb"), Type: ec2types.TrafficMirrorTargetTypeNetworkLoadBalancer}},
			wantRejected: []Rejection{{TargetID: "tmt-nlb",
				Reason: "tmt-nlb is a network-load-balancer target without a NetworkLoadBalancerArn; delete and recreate the target"}},
		},
		{
			name:        "a Gateway Load Balancer endpoint target is in its endpoint's subnet's zone and needs no listener",
			targets:     []ec2types.TrafficMirrorTarget{gwlbeTarget("tmt-gwlbe", "vpce-1")},
			endpoints:   []ec2types.VpcEndpoint{gwlbEndpoint("vpce-1", "subnet-gw-b")},
			wantSensors: []Sensor{gwlbeSensor("tmt-gwlbe", "subnet-gw-b", zoneB)},
		},
		{
			name:        "a Gateway Load Balancer endpoint whose subnet is not described has no known zone",
			targets:     []ec2types.TrafficMirrorTarget{gwlbeTarget("tmt-gwlbe", "vpce-1")},
			endpoints:   []ec2types.VpcEndpoint{gwlbEndpoint("vpce-1", "subnet-unknown")},
			wantSensors: []Sensor{gwlbeSensor("tmt-gwlbe", "subnet-unknown", "")},
		},
		{
			name:      "a Gateway Load Balancer endpoint target whose endpoint is gone is rejected as gone",
			targets:   []ec2types.TrafficMirrorTarget{gwlbeTarget("tmt-gwlbe", "vpce-gone")},
			endpoints: []ec2types.VpcEndpoint{gwlbEndpoint("vpce-1", "subnet-gw-a")},
			wantRejected: []Rejection{{TargetID: "tmt-gwlbe",
				Reason: "Gateway Load Balancer endpoint vpce-gone of tmt-gwlbe was not found (deleted, or not described); restore the endpoint or delete the target"}},
		},
		{
			name:    "a Gateway Load Balancer endpoint target without its endpoint id is rejected",
			targets: []ec2types.TrafficMirrorTarget{{TrafficMirrorTargetId: aws.String("tmt-gwlbe"), Type: ec2types.TrafficMirrorTargetTypeGatewayLoadBalancerEndpoint}},
			wantRejected: []Rejection{{TargetID: "tmt-gwlbe",
				Reason: "tmt-gwlbe is a gateway-load-balancer-endpoint target without a GatewayLoadBalancerEndpointId; delete and recreate the target"}},
		},
		{
			name: "targets without Type are classified by the id they carry",
			targets: []ec2types.TrafficMirrorTarget{
				{TrafficMirrorTargetId: aws.String("tmt-nlb"), NetworkLoadBalancerArn: aws.String(testNLBARN)},
				{TrafficMirrorTargetId: aws.String("tmt-gwlbe"), GatewayLoadBalancerEndpointId: aws.String("vpce-1")},
			},
			lbs:         []elbv2types.LoadBalancer{loadBalancer(testNLBARN, zoneA)},
			listeners:   []elbv2types.Listener{udp},
			endpoints:   []ec2types.VpcEndpoint{gwlbEndpoint("vpce-1", "subnet-gw-a")},
			wantSensors: []Sensor{gwlbeSensor("tmt-gwlbe", "subnet-gw-a", zoneA), nlbSensor("tmt-nlb", zoneA)},
		},
		{
			name: "interface targets and unknown types are left to ResolveSensors",
			targets: []ec2types.TrafficMirrorTarget{
				tmt("tmt-1", "eni-1"),
				{TrafficMirrorTargetId: aws.String("tmt-x"), Type: "carrier-pigeon"},
			},
		},
		{
			name: "sensors and rejections are sorted by target id",
			targets: []ec2types.TrafficMirrorTarget{
				nlbTarget("tmt-d", otherARN), gwlbeTarget("tmt-c", "vpce-1"), nlbTarget("tmt-b", testNLBARN), gwlbeTarget("tmt-a", "vpce-gone"),
			},
			lbs:         []elbv2types.LoadBalancer{loadBalancer(testNLBARN, zoneA)},
			listeners:   []elbv2types.Listener{udp},
			endpoints:   []ec2types.VpcEndpoint{gwlbEndpoint("vpce-1", "subnet-gw-a")},
			wantSensors: []Sensor{nlbSensor("tmt-b", zoneA), gwlbeSensor("tmt-c", "subnet-gw-a", zoneA)},
			wantRejected: []Rejection{
				{TargetID: "tmt-a", Reason: "Gateway Load Balancer endpoint vpce-gone of tmt-a was not found (deleted, or not described); restore the endpoint or delete the target"},
				{TargetID: "tmt-d", Reason: "load balancer " + otherARN + " of tmt-d was not found (deleted, or not described); restore the load balancer or delete the target"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sensors, rejected := ResolveLoadBalancerSensors(tt.targets, tt.lbs, tt.listeners, tt.endpoints, subnets)
			if diff := cmp.Diff(tt.wantSensors, sensors, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sensors mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRejected, rejected, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rejections mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadBalancerSensorsThroughTheFilters runs resolved load-balancer
// sensors through the zone, security-group and ACL filters: their zones are
// now checked, and the checks that do not apply to a target without an
// interface of its own are still noted.
func TestLoadBalancerSensorsThroughTheFilters(t *testing.T) {
	sgNote := func(typ string) string {
		return "security groups not checked: a " + typ + " target has no network interface of its own; make sure the appliances behind it admit UDP 4789 from 10.0.0.25"
	}
	aclNote := func(typ string) string {
		return "network ACLs not checked: a " + typ + " target has no subnet of its own here; make sure the ACLs of its subnets allow UDP 4789 from 10.0.0.25"
	}
	tests := []struct {
		name          string
		sensor        Sensor
		localZoneOnly bool
		wantSameZone  bool
		wantNotes     []string
	}{
		{
			name:          "a Network Load Balancer in the source's zone among others is same-zone, with groups and ACLs noted",
			sensor:        Sensor{TargetID: "tmt-nlb", Type: TargetNetworkLB, VPCID: vpcID, Zones: []string{zoneA, zoneB}},
			localZoneOnly: true,
			wantSameZone:  true,
			wantNotes:     []string{sgNote(TargetNetworkLB), aclNote(TargetNetworkLB)},
		},
		{
			name:         "a Gateway Load Balancer endpoint in another zone is a fallback, with groups and ACLs noted",
			sensor:       Sensor{TargetID: "tmt-gwlbe", Type: TargetGatewayLBE, VPCID: vpcID, SubnetID: "subnet-gw-b", AvailabilityZone: zoneB},
			wantSameZone: false,
			wantNotes:    []string{sgNote(TargetGatewayLBE), aclNote(TargetGatewayLBE)},
		},
		{
			name:          "a Gateway Load Balancer endpoint whose zone is unknown is kept with the zone noted as unchecked",
			sensor:        Sensor{TargetID: "tmt-gwlbe", Type: TargetGatewayLBE, VPCID: vpcID, SubnetID: "subnet-unknown"},
			localZoneOnly: true,
			wantSameZone:  true,
			wantNotes:     []string{"zone not checked: a gateway-load-balancer-endpoint target has no zone of its own", sgNote(TargetGatewayLBE), aclNote(TargetGatewayLBE)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := testSource()
			kept, rejected := FilterByZone(src, []Sensor{tt.sensor}, tt.localZoneOnly)
			kept2, rejected2 := FilterBySecurityGroup(src, kept, nil, nil)
			kept3, rejected3 := FilterByNetworkACL(src, kept2, nil)
			if len(rejected)+len(rejected2)+len(rejected3) != 0 || len(kept3) != 1 {
				t.Fatalf("kept %v, rejected %v %v %v; want the sensor kept", kept3, rejected, rejected2, rejected3)
			}
			want := tt.sensor
			want.SameZone, want.Notes = tt.wantSameZone, tt.wantNotes
			if diff := cmp.Diff(want, kept3[0]); diff != "" {
				t.Errorf("sensor mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
