package placement

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

func tmt(id, eni string, tags ...string) ec2types.TrafficMirrorTarget {
	t := ec2types.TrafficMirrorTarget{
		TrafficMirrorTargetId: aws.String(id),
		Type:                  ec2types.TrafficMirrorTargetTypeNetworkInterface,
		NetworkInterfaceId:    aws.String(eni),
	}
	for i := 0; i+1 < len(tags); i += 2 {
		t.Tags = append(t.Tags, ec2types.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
	}
	return t
}

func TestIsCandidate(t *testing.T) {
	sensorTag := config.Tag{Key: "mirrorflow:sensor", Value: "true"}
	tests := []struct {
		name      string
		target    ec2types.TrafficMirrorTarget
		targetIDs []string
		tag       config.Tag
		want      bool
	}{
		{"listed TargetIds decide membership", tmt("tmt-1", "eni-1"), []string{"tmt-0", "tmt-1"}, sensorTag, true},
		{"target missing from TargetIds is not a candidate even with the tag", tmt("tmt-2", "eni-2", "mirrorflow:sensor", "true"), []string{"tmt-1"}, sensorTag, false},
		{"without TargetIds the sensor tag key and value decide", tmt("tmt-1", "eni-1", "Name", "x", "mirrorflow:sensor", "true"), nil, sensorTag, true},
		{"sensor tag with another value is not a candidate", tmt("tmt-1", "eni-1", "mirrorflow:sensor", "false"), nil, sensorTag, false},
		{"sensor tag value alone under another key is not a candidate", tmt("tmt-1", "eni-1", "other", "true"), nil, sensorTag, false},
		{"untagged target is not a candidate", tmt("tmt-1", "eni-1"), nil, sensorTag, false},
		{"empty sensor tag key matches no target", tmt("tmt-1", "eni-1", "", ""), nil, config.Tag{}, false},
		{"target without an id is never a candidate", ec2types.TrafficMirrorTarget{Tags: tmt("x", "y", "mirrorflow:sensor", "true").Tags}, nil, sensorTag, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsCandidate(tt.target, tt.targetIDs, tt.tag); got != tt.want {
				t.Errorf("IsCandidate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSensorTarget(t *testing.T) {
	nlb := ec2types.TrafficMirrorTarget{TrafficMirrorTargetId: aws.String("tmt-nlb"), Type: ec2types.TrafficMirrorTargetTypeNetworkLoadBalancer}
	targets := []ec2types.TrafficMirrorTarget{nlb, tmt("tmt-1", "eni-sensor1"), tmt("tmt-2", "eni-sensor2")}
	tests := []struct {
		name   string
		eni    string
		wantID string
		want   bool
	}{
		{"an interface that is a target is a sensor", "eni-sensor2", "tmt-2", true},
		{"an interface that is no target is not a sensor", "eni-app", "", false},
		{"an empty interface id never matches a load-balancer target", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SensorTarget(tt.eni, targets)
			if ok != tt.want || aws.ToString(got.TrafficMirrorTargetId) != tt.wantID {
				t.Errorf("SensorTarget(%q) = %q, %v; want %q, %v", tt.eni, aws.ToString(got.TrafficMirrorTargetId), ok, tt.wantID, tt.want)
			}
		})
	}
}

func TestExistingSession(t *testing.T) {
	candidates := func(id string) bool { return id == "tmt-1" || id == "tmt-2" }
	numbered := func(s ec2types.TrafficMirrorSession, n int32) ec2types.TrafficMirrorSession {
		s.SessionNumber = aws.Int32(n)
		return s
	}
	tests := []struct {
		name        string
		eni         string
		sessions    []ec2types.TrafficMirrorSession
		isCandidate func(string) bool
		wantID      string
	}{
		{"session to a candidate target means already mirrored", srcENI,
			[]ec2types.TrafficMirrorSession{session("tms-other", "tmt-1", "eni-other"), session("tms-1", "tmt-1", srcENI)}, candidates, "tms-1"},
		{"session to a target that is not a candidate is someone else's", srcENI,
			[]ec2types.TrafficMirrorSession{session("tms-1", "tmt-foreign", srcENI)}, candidates, ""},
		{"session of another interface does not count", srcENI,
			[]ec2types.TrafficMirrorSession{session("tms-1", "tmt-1", "eni-other")}, candidates, ""},
		{"of several, the lowest session number is the one EC2 evaluates first", srcENI,
			[]ec2types.TrafficMirrorSession{numbered(session("tms-a", "tmt-1", srcENI), 3), numbered(session("tms-b", "tmt-2", srcENI), 2)}, candidates, "tms-b"},
		{"equal session numbers fall back to the session id", srcENI,
			[]ec2types.TrafficMirrorSession{session("tms-b", "tmt-2", srcENI), session("tms-a", "tmt-1", srcENI)}, candidates, "tms-a"},
		{"nil isCandidate accepts every target", srcENI,
			[]ec2types.TrafficMirrorSession{session("tms-1", "tmt-foreign", srcENI)}, nil, "tms-1"},
		{"empty source interface matches no session", "",
			[]ec2types.TrafficMirrorSession{{TrafficMirrorSessionId: aws.String("tms-1"), TrafficMirrorTargetId: aws.String("tmt-1")}}, candidates, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExistingSession(tt.eni, tt.sessions, tt.isCandidate)
			if ok != (tt.wantID != "") || aws.ToString(got.TrafficMirrorSessionId) != tt.wantID {
				t.Errorf("ExistingSession = %q, %v; want %q", aws.ToString(got.TrafficMirrorSessionId), ok, tt.wantID)
			}
		})
	}
}

func sensorENI(id, instanceID string) ec2types.NetworkInterface {
	e := ec2types.NetworkInterface{
		NetworkInterfaceId: aws.String(id),
		SubnetId:           aws.String("subnet-sensor"),
		VpcId:              aws.String(vpcID),
		AvailabilityZone:   aws.String(zoneA),
		PrivateIpAddress:   aws.String("10.0.100.10"),
		Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String("sg-sensor")}},
	}
	if instanceID != "" {
		e.Attachment = &ec2types.NetworkInterfaceAttachment{InstanceId: aws.String(instanceID), DeviceIndex: aws.Int32(0)}
	}
	return e
}

func TestResolveSensors(t *testing.T) {
	instances := []ec2types.Instance{
		{InstanceId: aws.String("i-big"), InstanceType: ec2types.InstanceTypeC5n18xlarge},
		{InstanceId: aws.String("i-small"), InstanceType: ec2types.InstanceTypeC5nLarge},
	}
	withType := func(s Sensor, instanceID, typ string, max int) Sensor {
		s.InstanceID, s.InstanceType, s.MaxSources = instanceID, typ, max
		return s
	}
	tests := []struct {
		name         string
		targets      []ec2types.TrafficMirrorTarget
		enis         []ec2types.NetworkInterface
		wantSensors  []Sensor
		wantRejected []Rejection
	}{
		{
			name:        "interface on a listed large size accepts 100 sources",
			targets:     []ec2types.TrafficMirrorTarget{tmt("tmt-1", "eni-1")},
			enis:        []ec2types.NetworkInterface{sensorENI("eni-1", "i-big")},
			wantSensors: []Sensor{withType(testSensor("tmt-1", "eni-1"), "i-big", "c5n.18xlarge", 100)},
		},
		{
			name:        "interface on a smaller size accepts 10 sources",
			targets:     []ec2types.TrafficMirrorTarget{tmt("tmt-1", "eni-1")},
			enis:        []ec2types.NetworkInterface{sensorENI("eni-1", "i-small")},
			wantSensors: []Sensor{withType(testSensor("tmt-1", "eni-1"), "i-small", "c5n.large", 10)},
		},
		{
			name:        "unattached interface accepts 10 sources",
			targets:     []ec2types.TrafficMirrorTarget{tmt("tmt-1", "eni-1")},
			enis:        []ec2types.NetworkInterface{sensorENI("eni-1", "")},
			wantSensors: []Sensor{testSensor("tmt-1", "eni-1")},
		},
		{
			name:        "interface attached to an undescribed instance accepts 10 sources",
			targets:     []ec2types.TrafficMirrorTarget{tmt("tmt-1", "eni-1")},
			enis:        []ec2types.NetworkInterface{sensorENI("eni-1", "i-gone")},
			wantSensors: []Sensor{withType(testSensor("tmt-1", "eni-1"), "i-gone", "", 10)},
		},
		{
			name:        "target whose interface is missing is rejected",
			targets:     []ec2types.TrafficMirrorTarget{tmt("tmt-2", "eni-gone"), tmt("tmt-1", "eni-1")},
			enis:        []ec2types.NetworkInterface{sensorENI("eni-1", "")},
			wantSensors: []Sensor{testSensor("tmt-1", "eni-1")},
			wantRejected: []Rejection{{TargetID: "tmt-2",
				Reason: "network interface eni-gone of tmt-2 was not found (deleted, or not described); restore the interface or delete the target"}},
		},
		{
			name:    "interface target without an interface id is rejected",
			targets: []ec2types.TrafficMirrorTarget{{TrafficMirrorTargetId: aws.String("tmt-3"), Type: ec2types.TrafficMirrorTargetTypeNetworkInterface}},
			wantRejected: []Rejection{{TargetID: "tmt-3",
				Reason: "tmt-3 is a network-interface target without a NetworkInterfaceId; delete and recreate the target"}},
		},
		{
			name:    "interface without a private IPv4 is rejected",
			targets: []ec2types.TrafficMirrorTarget{tmt("tmt-1", "eni-1")},
			enis: func() []ec2types.NetworkInterface {
				e := sensorENI("eni-1", "")
				e.PrivateIpAddress = nil
				return []ec2types.NetworkInterface{e}
			}(),
			wantRejected: []Rejection{{TargetID: "tmt-1", Reason: "network interface eni-1 of tmt-1 has no private IPv4 address to receive VXLAN on"}},
		},
		{
			name:    "primary address comes from the Primary entry",
			targets: []ec2types.TrafficMirrorTarget{tmt("tmt-1", "eni-1")},
			enis: func() []ec2types.NetworkInterface {
				e := sensorENI("eni-1", "")
				e.PrivateIpAddress = nil
				e.PrivateIpAddresses = []ec2types.NetworkInterfacePrivateIpAddress{
					{PrivateIpAddress: aws.String("10.0.100.99")},
					{PrivateIpAddress: aws.String("10.0.100.10"), Primary: aws.Bool(true)},
				}
				return []ec2types.NetworkInterface{e}
			}(),
			wantSensors: []Sensor{testSensor("tmt-1", "eni-1")},
		},
		{
			name: "load-balancer targets have no limit and no interface, typed by the id they carry",
			targets: []ec2types.TrafficMirrorTarget{
				{TrafficMirrorTargetId: aws.String("tmt-nlb"), NetworkLoadBalancerArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/s/1")},
				{TrafficMirrorTargetId: aws.String("tmt-gwlbe"), GatewayLoadBalancerEndpointId: aws.String("vpce-1")},
			},
			wantSensors: []Sensor{lbSensor("tmt-gwlbe", TargetGatewayLBE), lbSensor("tmt-nlb", TargetNetworkLB)},
		},
		{
			name:        "target without Type is classified by its interface id",
			targets:     []ec2types.TrafficMirrorTarget{{TrafficMirrorTargetId: aws.String("tmt-1"), NetworkInterfaceId: aws.String("eni-1")}},
			enis:        []ec2types.NetworkInterface{sensorENI("eni-1", "")},
			wantSensors: []Sensor{testSensor("tmt-1", "eni-1")},
		},
		{
			name:         "unknown target type is rejected",
			targets:      []ec2types.TrafficMirrorTarget{{TrafficMirrorTargetId: aws.String("tmt-x"), Type: "carrier-pigeon"}},
			wantRejected: []Rejection{{TargetID: "tmt-x", Reason: `tmt-x has target type "carrier-pigeon", which mirrorflow does not know how to place on`}},
		},
		{
			name:        "sensors are sorted by target id",
			targets:     []ec2types.TrafficMirrorTarget{tmt("tmt-b", "eni-1"), tmt("tmt-a", "eni-1")},
			enis:        []ec2types.NetworkInterface{sensorENI("eni-1", "")},
			wantSensors: []Sensor{testSensor("tmt-a", "eni-1"), testSensor("tmt-b", "eni-1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sensors, rejected := ResolveSensors(tt.targets, tt.enis, instances)
			if diff := cmp.Diff(tt.wantSensors, sensors, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sensors mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRejected, rejected, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rejections mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaxSources(t *testing.T) {
	tests := []struct {
		name, targetType, instanceType string
		want                           int
	}{
		{"interface on a small size accepts 10", TargetNetworkInterface, "m5.large", 10},
		{"interface on m5.24xlarge accepts 100", TargetNetworkInterface, "m5.24xlarge", 100},
		{"interface on c5n.18xlarge accepts 100", TargetNetworkInterface, "c5n.18xlarge", 100},
		{"interface on p5.4xlarge, a listed small size, accepts 100", TargetNetworkInterface, "p5.4xlarge", 100},
		{"largest size of an unlisted family accepts 10", TargetNetworkInterface, "t3.2xlarge", 10},
		{"m5.16xlarge is not the listed size and accepts 10", TargetNetworkInterface, "m5.16xlarge", 10},
		{"instance type is matched regardless of case", TargetNetworkInterface, "R5.24XLARGE", 100},
		{"unknown instance type accepts 10", TargetNetworkInterface, "", 10},
		{"Network Load Balancer has no limit", TargetNetworkLB, "", 0},
		{"Gateway Load Balancer endpoint has no limit", TargetGatewayLBE, "m5.24xlarge", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaxSources(tt.targetType, tt.instanceType); got != tt.want {
				t.Errorf("MaxSources(%q, %q) = %d, want %d", tt.targetType, tt.instanceType, got, tt.want)
			}
		})
	}
}
