package snapshot_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

// cliTargets is what the AWS CLI prints for `aws elbv2 describe-load-balancers`,
// `aws elbv2 describe-listeners` and `aws ec2 describe-vpc-endpoints`, merged
// as snapshot-format.md says, trimmed to a few fields each. The CLI prints
// times either with a Z or with an offset and microseconds; both are kept.
const cliTargets = `{
  "LoadBalancers": [
    {
      "LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/sensors/50dc6c495c0c9188",
      "DNSName": "sensors-50dc6c495c0c9188.elb.us-east-1.amazonaws.com",
      "CreatedTime": "2026-03-04T05:06:07.890Z",
      "LoadBalancerName": "sensors",
      "Scheme": "internal",
      "VpcId": "vpc-0a1b2c3d",
      "State": {"Code": "active"},
      "Type": "network",
      "AvailabilityZones": [
        {"ZoneName": "us-east-1a", "SubnetId": "subnet-0123456789abcdef0", "LoadBalancerAddresses": []},
        {"ZoneName": "us-east-1b", "SubnetId": "subnet-0123456789abcdef1", "LoadBalancerAddresses": []}
      ],
      "IpAddressType": "ipv4"
    },
    {
      "LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/gwy/inspect/6a7b8c9d0e1f2a3b",
      "CreatedTime": "2025-12-31T23:59:59.123000+00:00",
      "LoadBalancerName": "inspect",
      "Type": "gateway",
      "AvailabilityZones": [{"ZoneName": "us-east-1c", "SubnetId": "subnet-0123456789abcdef2"}]
    }
  ],
  "Listeners": [
    {
      "ListenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/sensors/50dc6c495c0c9188/f2f7dc8efc522ab2",
      "LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/sensors/50dc6c495c0c9188",
      "Port": 4789,
      "Protocol": "UDP",
      "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/vxlan/943f017f100becff", "Order": 1}]
    }
  ],
  "VpcEndpoints": [
    {
      "VpcEndpointId": "vpce-0a1b2c3d4e5f60718",
      "VpcEndpointType": "GatewayLoadBalancer",
      "VpcId": "vpc-0a1b2c3d",
      "ServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
      "State": "available",
      "SubnetIds": ["subnet-0123456789abcdef2"],
      "NetworkInterfaceIds": ["eni-0f1e2d3c4b5a69788"],
      "CreationTimestamp": "2026-01-02T03:04:05.000Z",
      "Tags": [{"Key": "Name", "Value": "inspect"}],
      "OwnerId": "123456789012"
    }
  ]
}`

// TestDecodesLoadBalancersListenersAndEndpoints checks that the CLI's JSON
// lands in the SDK's fields, times included.
func TestDecodesLoadBalancersListenersAndEndpoints(t *testing.T) {
	s, err := snapshot.Parse("targets.json", []byte(cliTargets))
	if err != nil {
		t.Fatal(err)
	}
	wantCreated := []time.Time{
		time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC),
		time.Date(2025, 12, 31, 23, 59, 59, 123_000_000, time.UTC),
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"load balancers keep the CLI's order", len(s.LoadBalancers), 2},
		{"a load balancer's type is its Type", s.LoadBalancers[0].Type, elbv2types.LoadBalancerTypeEnumNetwork},
		{"a load balancer's zones are its AvailabilityZones' ZoneName", []string{*s.LoadBalancers[0].AvailabilityZones[0].ZoneName, *s.LoadBalancers[0].AvailabilityZones[1].ZoneName}, []string{"us-east-1a", "us-east-1b"}},
		{"each zone keeps its SubnetId", *s.LoadBalancers[0].AvailabilityZones[1].SubnetId, "subnet-0123456789abcdef1"},
		{"CreatedTime with a Z is read as UTC", s.LoadBalancers[0].CreatedTime.Equal(wantCreated[0]), true},
		{"CreatedTime with an offset and microseconds is read too", s.LoadBalancers[1].CreatedTime.Equal(wantCreated[1]), true},
		{"a listener names its load balancer", *s.Listeners[0].LoadBalancerArn, *s.LoadBalancers[0].LoadBalancerArn},
		{"a listener's Protocol is the ELBv2 enum as printed", s.Listeners[0].Protocol, elbv2types.ProtocolEnumUdp},
		{"a listener's Port is a number", aws.ToInt32(s.Listeners[0].Port), int32(4789)},
		{"an endpoint's type is VpcEndpointType", s.VPCEndpoints[0].VpcEndpointType, ec2types.VpcEndpointTypeGatewayLoadBalancer},
		{"an endpoint's subnets are SubnetIds", s.VPCEndpoints[0].SubnetIds, []string{"subnet-0123456789abcdef2"}},
		{"an endpoint's CreationTimestamp is a time", s.VPCEndpoints[0].CreationTimestamp.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCloneCopiesLoadBalancersAndEndpoints is TestCloneIsAJSONRoundTrip for
// the new keys, whose times (time.Time keeps its state in unexported fields)
// the example accounts do not have.
func TestCloneCopiesLoadBalancersAndEndpoints(t *testing.T) {
	orig, err := snapshot.Parse("targets.json", []byte(cliTargets))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(orig)
	clone := orig.Clone()
	got, _ := json.Marshal(clone)
	if string(got) != string(want) {
		t.Fatalf("the clone encodes differently:\n%s", cmp.Diff(string(want), string(got)))
	}
	if !clone.LoadBalancers[0].CreatedTime.Equal(*orig.LoadBalancers[0].CreatedTime) || clone.LoadBalancers[0].CreatedTime == orig.LoadBalancers[0].CreatedTime {
		t.Errorf("CreatedTime: clone %v (%p), original %v (%p); want an equal time behind another pointer",
			clone.LoadBalancers[0].CreatedTime, clone.LoadBalancers[0].CreatedTime, orig.LoadBalancers[0].CreatedTime, orig.LoadBalancers[0].CreatedTime)
	}
	*clone.LoadBalancers[0].CreatedTime = time.Time{}
	clone.LoadBalancers[0].AvailabilityZones[0].ZoneName = aws.String("us-east-1z")
	*clone.Listeners[0].Port = 1
	clone.VPCEndpoints[0].SubnetIds[0] = "subnet-changed"
	*clone.VPCEndpoints[0].CreationTimestamp = time.Time{}
	if after, _ := json.Marshal(orig); string(after) != string(want) {
		t.Errorf("changing the clone changed the original:\n%s", cmp.Diff(string(want), string(after)))
	}
}

func TestMergeLoadBalancersListenersAndEndpoints(t *testing.T) {
	lb := func(arn, name string) elbv2types.LoadBalancer {
		return elbv2types.LoadBalancer{LoadBalancerArn: aws.String(arn), LoadBalancerName: aws.String(name)}
	}
	listener := func(arn string, port int32) elbv2types.Listener {
		return elbv2types.Listener{ListenerArn: aws.String(arn), Port: aws.Int32(port)}
	}
	endpoint := func(id, subnet string) ec2types.VpcEndpoint {
		return ec2types.VpcEndpoint{VpcEndpointId: aws.String(id), SubnetIds: []string{subnet}}
	}
	tests := []struct {
		name      string
		have, add snapshot.Snapshot
		want      snapshot.Snapshot
	}{
		{name: "a load balancer is known by its ARN, not its name",
			have: snapshot.Snapshot{LoadBalancers: []elbv2types.LoadBalancer{lb("arn:lb/1", "a"), lb("arn:lb/2", "b")}},
			add:  snapshot.Snapshot{LoadBalancers: []elbv2types.LoadBalancer{lb("arn:lb/1", "renamed"), lb("arn:lb/3", "b")}},
			want: snapshot.Snapshot{LoadBalancers: []elbv2types.LoadBalancer{lb("arn:lb/1", "renamed"), lb("arn:lb/2", "b"), lb("arn:lb/3", "b")}}},
		{name: "a listener with a known ARN is replaced in place, a new one appended",
			have: snapshot.Snapshot{Listeners: []elbv2types.Listener{listener("arn:l/1", 80), listener("arn:l/2", 443)}},
			add:  snapshot.Snapshot{Listeners: []elbv2types.Listener{listener("arn:l/1", 4789), listener("arn:l/3", 6081)}},
			want: snapshot.Snapshot{Listeners: []elbv2types.Listener{listener("arn:l/1", 4789), listener("arn:l/2", 443), listener("arn:l/3", 6081)}}},
		{name: "a VPC endpoint is known by its VpcEndpointId",
			have: snapshot.Snapshot{VPCEndpoints: []ec2types.VpcEndpoint{endpoint("vpce-1", "subnet-a")}},
			add:  snapshot.Snapshot{VPCEndpoints: []ec2types.VpcEndpoint{endpoint("vpce-1", "subnet-b"), endpoint("vpce-2", "subnet-c")}},
			want: snapshot.Snapshot{VPCEndpoints: []ec2types.VpcEndpoint{endpoint("vpce-1", "subnet-b"), endpoint("vpce-2", "subnet-c")}}},
		{name: "merging nothing keeps what there is",
			have: snapshot.Snapshot{LoadBalancers: []elbv2types.LoadBalancer{lb("arn:lb/1", "a")}, VPCEndpoints: []ec2types.VpcEndpoint{endpoint("vpce-1", "subnet-a")}},
			want: snapshot.Snapshot{LoadBalancers: []elbv2types.LoadBalancer{lb("arn:lb/1", "a")}, VPCEndpoints: []ec2types.VpcEndpoint{endpoint("vpce-1", "subnet-a")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.have.Merge(&tt.add)
			want, _ := json.Marshal(tt.want)
			got, _ := json.Marshal(tt.have)
			if string(got) != string(want) {
				t.Errorf("merged (-want +got):\n%s", cmp.Diff(string(want), string(got)))
			}
		})
	}
}

// TestLoadBalancerTimesInYAML checks that a YAML snapshot's unquoted
// timestamps land in the same time fields as JSON's strings.
func TestLoadBalancerTimesInYAML(t *testing.T) {
	s, err := snapshot.Parse("targets.yaml", []byte(`LoadBalancers:
- LoadBalancerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/sensors/50dc6c495c0c9188
  CreatedTime: 2026-03-04T05:06:07.890Z
VpcEndpoints:
- VpcEndpointId: vpce-0a1b2c3d4e5f60718
  CreationTimestamp: "2026-01-02T03:04:05Z"
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.LoadBalancers[0].CreatedTime, time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC); got == nil || !got.Equal(want) {
		t.Errorf("CreatedTime = %v, want %v", got, want)
	}
	if got, want := s.VPCEndpoints[0].CreationTimestamp, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); got == nil || !got.Equal(want) {
		t.Errorf("CreationTimestamp = %v, want %v", got, want)
	}
}
