package placement

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

func instanceNI(eni string, card, device *int32, ip string, groups ...string) ec2types.InstanceNetworkInterface {
	ni := ec2types.InstanceNetworkInterface{
		NetworkInterfaceId: aws.String(eni),
		SubnetId:           aws.String(srcSubnet),
		VpcId:              aws.String(vpcID),
		Attachment:         &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: device, NetworkCardIndex: card},
	}
	if ip != "" {
		ni.PrivateIpAddress = aws.String(ip)
	}
	for _, g := range groups {
		ni.Groups = append(ni.Groups, ec2types.GroupIdentifier{GroupId: aws.String(g)})
	}
	return ni
}

func testInstance(nis ...ec2types.InstanceNetworkInterface) ec2types.Instance {
	return ec2types.Instance{
		InstanceId:        aws.String("i-src"),
		InstanceType:      ec2types.InstanceTypeM5Large,
		Placement:         &ec2types.Placement{AvailabilityZone: aws.String(zoneA)},
		SubnetId:          aws.String(srcSubnet),
		VpcId:             aws.String(vpcID),
		PrivateIpAddress:  aws.String(srcIP),
		NetworkInterfaces: nis,
	}
}

func TestSourceFromInstance(t *testing.T) {
	i0, i1 := aws.Int32(0), aws.Int32(1)
	tests := []struct {
		name string
		inst ec2types.Instance
		want Source
	}{
		{
			name: "instance without a public IP is a valid source",
			inst: testInstance(instanceNI(srcENI, i0, i0, srcIP, srcGroup)),
			want: testSource(),
		},
		{
			name: "instance with a public IP mirrors its private address",
			inst: func() ec2types.Instance {
				in := testInstance(instanceNI(srcENI, i0, i0, srcIP, srcGroup))
				in.PublicIpAddress = aws.String("203.0.113.7")
				return in
			}(),
			want: testSource(),
		},
		{
			name: "primary interface is DeviceIndex 0 on NetworkCardIndex 0",
			inst: testInstance(
				instanceNI("eni-card1", i1, i0, "10.0.0.91", "sg-other"),
				instanceNI("eni-device1", i0, i1, "10.0.0.92", "sg-other"),
				instanceNI(srcENI, i0, i0, srcIP, srcGroup),
			),
			want: testSource(),
		},
		{
			name: "absent NetworkCardIndex means card 0",
			inst: testInstance(instanceNI(srcENI, nil, i0, srcIP, srcGroup)),
			want: testSource(),
		},
		{
			name: "primary address comes from the Primary entry when PrivateIpAddress is absent",
			inst: func() ec2types.Instance {
				ni := instanceNI(srcENI, i0, i0, "", srcGroup)
				ni.PrivateIpAddresses = []ec2types.InstancePrivateIpAddress{
					{PrivateIpAddress: aws.String("10.0.0.99"), Primary: aws.Bool(false)},
					{PrivateIpAddress: aws.String(srcIP), Primary: aws.Bool(true)},
				}
				return testInstance(ni)
			}(),
			want: testSource(),
		},
		{
			name: "subnet and VPC fall back to the instance's",
			inst: func() ec2types.Instance {
				ni := instanceNI(srcENI, i0, i0, srcIP, srcGroup)
				ni.SubnetId, ni.VpcId = nil, nil
				return testInstance(ni)
			}(),
			want: testSource(),
		},
		{
			name: "groups are sorted and repeated ones dropped",
			inst: testInstance(instanceNI(srcENI, i0, i0, srcIP, "sg-b", "sg-a", "sg-b")),
			want: func() Source {
				s := testSource()
				s.SecurityGroupIDs = []string{"sg-a", "sg-b"}
				return s
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SourceFromInstance(tt.inst)
			if err != nil {
				t.Fatalf("SourceFromInstance: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("source mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSourceFromInstanceErrors(t *testing.T) {
	i0, i1 := aws.Int32(0), aws.Int32(1)
	tests := []struct {
		name    string
		inst    ec2types.Instance
		wantMsg string
	}{
		{
			name:    "instance without interfaces has no primary interface",
			inst:    testInstance(),
			wantMsg: "instance i-src has no primary network interface (DeviceIndex 0 on NetworkCardIndex 0) among its 0 interfaces",
		},
		{
			name:    "only secondary interfaces is no primary interface",
			inst:    testInstance(instanceNI("eni-2", i0, i1, "10.0.0.2"), instanceNI("eni-3", i1, i0, "10.0.0.3")),
			wantMsg: "among its 2 interfaces",
		},
		{
			name: "interface without attachment is not primary",
			inst: func() ec2types.Instance {
				ni := instanceNI(srcENI, i0, i0, srcIP)
				ni.Attachment = nil
				return testInstance(ni)
			}(),
			wantMsg: "has no primary network interface",
		},
		{
			name:    "interface without DeviceIndex is not primary",
			inst:    testInstance(instanceNI(srcENI, i0, nil, srcIP)),
			wantMsg: "has no primary network interface",
		},
		{
			name: "primary interface without an id",
			inst: func() ec2types.Instance {
				ni := instanceNI(srcENI, i0, i0, srcIP)
				ni.NetworkInterfaceId = nil
				return testInstance(ni)
			}(),
			wantMsg: "instance i-src: primary network interface has no NetworkInterfaceId",
		},
		{
			name:    "primary interface without a private IPv4 says so",
			inst:    testInstance(instanceNI(srcENI, i0, i0, "")),
			wantMsg: "instance i-src: network interface eni-src has no primary private IPv4 address",
		},
		{
			name:    "an IPv6 address is not a primary private IPv4",
			inst:    testInstance(instanceNI(srcENI, i0, i0, "2001:db8::1")),
			wantMsg: `network interface eni-src has primary private address "2001:db8::1", which is not an IPv4 address`,
		},
		{
			name: "missing zone is an error",
			inst: func() ec2types.Instance {
				in := testInstance(instanceNI(srcENI, i0, i0, srcIP))
				in.Placement = nil
				return in
			}(),
			wantMsg: "instance i-src has no Placement.AvailabilityZone",
		},
		{
			name: "missing subnet is an error",
			inst: func() ec2types.Instance {
				ni := instanceNI(srcENI, i0, i0, srcIP)
				ni.SubnetId = nil
				in := testInstance(ni)
				in.SubnetId = nil
				return in
			}(),
			wantMsg: "network interface eni-src has no SubnetId",
		},
		{
			name: "instance without id is named as such",
			inst: func() ec2types.Instance {
				in := testInstance()
				in.InstanceId = nil
				return in
			}(),
			wantMsg: "instance (no InstanceId) has no primary network interface",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SourceFromInstance(tt.inst)
			if err == nil {
				t.Fatal("SourceFromInstance succeeded, want an error")
			}
			if !errors.Is(err, ErrIncompleteSource) {
				t.Errorf("error %q does not wrap ErrIncompleteSource", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}
