// Package burstaccount builds the account an Auto Scaling group's worst day
// happens in: many running instances that all need a session at once, and
// sensors with a fixed number of free source slots between them, spread
// over three Availability Zones. The burst tests and benchmarks place every
// instance of it at once; only the sizes differ, so it is built, not stored.
package burstaccount

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/config"
)

// Zones are the account's Availability Zones; instances and sensors are
// dealt round-robin over them, so each zone has its share of both.
var Zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// The account's fixed resources.
const (
	OwnerID       = "123456789012"
	VPCID         = "vpc-0b0b0b0b0b0b0b0b0"
	FilterID      = "tmf-0b0b0b0b0b0b0b0b0"
	appGroupID    = "sg-0a0a0a0a0a0a0a0a0"
	sensorGroupID = "sg-05e5e5e5e5e5e5e5e"
	aclID         = "acl-0b0b0b0b0b0b0b0b0"
)

// New returns an account with the given number of running instances, none
// mirrored yet, and of sensors: interface targets tagged with the default
// sensor tag, each on an interface of no instance, so each accepts 10
// sources ("Traffic Mirroring quotas"). The sensors' security group admits
// VXLAN from the VPC and the default network ACL allows everything, so
// every sensor is reachable from every instance and the only limit is room.
func New(instances, sensors int) *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		Name: fmt.Sprintf("burst-%dx%d", instances, sensors),
		Config: &config.Config{
			FilterID: FilterID, SensorTag: config.DefaultSensorTag, SessionNumber: 1,
		},
		TrafficMirrorFilters: []ec2types.TrafficMirrorFilter{{TrafficMirrorFilterId: aws.String(FilterID), Description: aws.String("everything")}},
		SecurityGroups: []ec2types.SecurityGroup{
			{GroupId: aws.String(appGroupID), GroupName: aws.String("app"), VpcId: aws.String(VPCID), OwnerId: aws.String(OwnerID)},
			{GroupId: aws.String(sensorGroupID), GroupName: aws.String("sensor"), VpcId: aws.String(VPCID), OwnerId: aws.String(OwnerID),
				IpPermissions: []ec2types.IpPermission{{
					IpProtocol: aws.String("udp"), FromPort: aws.Int32(4789), ToPort: aws.Int32(4789),
					IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}},
				}}},
		},
		NetworkAcls: []ec2types.NetworkAcl{{
			NetworkAclId: aws.String(aclID), VpcId: aws.String(VPCID), IsDefault: aws.Bool(true), OwnerId: aws.String(OwnerID),
			Entries: []ec2types.NetworkAclEntry{allowAll(false), allowAll(true)},
		}},
	}
	for z, zone := range Zones {
		s.Subnets = append(s.Subnets,
			ec2types.Subnet{SubnetId: aws.String(appSubnet(z)), VpcId: aws.String(VPCID), AvailabilityZone: aws.String(zone),
				CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/20", 16*z)), State: ec2types.SubnetStateAvailable, OwnerId: aws.String(OwnerID)},
			ec2types.Subnet{SubnetId: aws.String(sensorSubnet(z)), VpcId: aws.String(VPCID), AvailabilityZone: aws.String(zone),
				CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/22", 48+4*z)), State: ec2types.SubnetStateAvailable, OwnerId: aws.String(OwnerID)})
	}
	for i := range instances {
		z := i % len(Zones)
		s.Reservations = append(s.Reservations, instance(i, z, fmt.Sprintf("10.0.%d.%d", 16*z+(i/len(Zones))/250, 4+(i/len(Zones))%250)))
	}
	for i := range sensors {
		z := i % len(Zones)
		eni, ip := id("eni", 0x5e000+i), fmt.Sprintf("10.0.%d.%d", 48+4*z+(i/len(Zones))/250, 4+(i/len(Zones))%250)
		s.NetworkInterfaces = append(s.NetworkInterfaces, ec2types.NetworkInterface{
			NetworkInterfaceId: aws.String(eni), SubnetId: aws.String(sensorSubnet(z)), VpcId: aws.String(VPCID),
			AvailabilityZone: aws.String(Zones[z]), PrivateIpAddress: aws.String(ip), OwnerId: aws.String(OwnerID),
			PrivateIpAddresses: []ec2types.NetworkInterfacePrivateIpAddress{{Primary: aws.Bool(true), PrivateIpAddress: aws.String(ip)}},
			Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String(sensorGroupID), GroupName: aws.String("sensor")}},
			InterfaceType:      ec2types.NetworkInterfaceTypeInterface, Status: ec2types.NetworkInterfaceStatusInUse,
		})
		s.TrafficMirrorTargets = append(s.TrafficMirrorTargets, ec2types.TrafficMirrorTarget{
			TrafficMirrorTargetId: aws.String(id("tmt", 0x5e000+i)), NetworkInterfaceId: aws.String(eni),
			Type: ec2types.TrafficMirrorTargetTypeNetworkInterface, OwnerId: aws.String(OwnerID),
			Tags: []ec2types.Tag{{Key: aws.String(config.DefaultSensorTag.Key), Value: aws.String(config.DefaultSensorTag.Value)}},
		})
	}
	return s
}

// instance is the i-th instance, running in zone z with one interface.
func instance(i, z int, ip string) ec2types.Reservation {
	eni := id("eni", 0xa0000+i)
	return ec2types.Reservation{
		ReservationId: aws.String(id("r", 0xa0000+i)), OwnerId: aws.String(OwnerID),
		Instances: []ec2types.Instance{{
			InstanceId: aws.String(id("i", 0xa0000+i)), InstanceType: ec2types.InstanceTypeM5Large,
			State:     &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning, Code: aws.Int32(16)},
			Placement: &ec2types.Placement{AvailabilityZone: aws.String(Zones[z])},
			SubnetId:  aws.String(appSubnet(z)), VpcId: aws.String(VPCID), PrivateIpAddress: aws.String(ip),
			Hypervisor: ec2types.HypervisorTypeXen,
			NetworkInterfaces: []ec2types.InstanceNetworkInterface{{
				NetworkInterfaceId: aws.String(eni), SubnetId: aws.String(appSubnet(z)), VpcId: aws.String(VPCID),
				PrivateIpAddress: aws.String(ip),
				Attachment:       &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0), NetworkCardIndex: aws.Int32(0), Status: ec2types.AttachmentStatusAttached},
				Groups:           []ec2types.GroupIdentifier{{GroupId: aws.String(appGroupID), GroupName: aws.String("app")}},
			}},
			SecurityGroups: []ec2types.GroupIdentifier{{GroupId: aws.String(appGroupID), GroupName: aws.String("app")}},
		}},
	}
}

func allowAll(egress bool) ec2types.NetworkAclEntry {
	return ec2types.NetworkAclEntry{RuleNumber: aws.Int32(100), Egress: aws.Bool(egress), Protocol: aws.String("-1"),
		RuleAction: ec2types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0")}
}

func appSubnet(z int) string    { return id("subnet", 0xa00+z) }
func sensorSubnet(z int) string { return id("subnet", 0x5e0+z) }

// id is an EC2-shaped id: prefix, a dash and 17 hex digits.
func id(prefix string, n int) string { return fmt.Sprintf("%s-%017x", prefix, n) }
