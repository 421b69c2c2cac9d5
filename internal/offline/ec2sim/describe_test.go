package ec2sim_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// TestDescribeRoundTrip proves the wire format: every kind the snapshot
// holds comes back through the SDK's deserializer equal to the snapshot.
func TestDescribeRoundTrip(t *testing.T) {
	for _, name := range []string{"three-zones.json", "sg-blocked.json", "full-sensor.json", "nacl-deny.json"} {
		t.Run(name, func(t *testing.T) {
			snap := load(t, name)
			client := start(t, ec2sim.New(snap, ec2sim.Options{}))
			ctx := context.Background()
			opt := sdktest.IgnoreUnexported(snap.Reservations, snap.NetworkInterfaces, snap.SecurityGroups, snap.NetworkAcls,
				snap.Subnets, snap.TrafficMirrorTargets, snap.TrafficMirrorFilters, snap.TrafficMirrorSessions,
				snap.InstanceTypes, snap.PrefixListEntries)

			res, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			check(t, "reservations", err, snap.Reservations, res.Reservations, opt)
			enis, err := ec2api.NetworkInterfacesAsList(ctx, client, &ec2.DescribeNetworkInterfacesInput{})
			check(t, "network interfaces", err, snap.NetworkInterfaces, enis, opt)
			groups, err := ec2api.SecurityGroupsAsList(ctx, client, &ec2.DescribeSecurityGroupsInput{})
			check(t, "security groups", err, snap.SecurityGroups, groups, opt)
			acls, err := ec2api.NetworkAclsAsList(ctx, client, &ec2.DescribeNetworkAclsInput{})
			check(t, "network ACLs", err, snap.NetworkAcls, acls, opt)
			subnets, err := ec2api.SubnetsAsList(ctx, client, &ec2.DescribeSubnetsInput{})
			check(t, "subnets", err, snap.Subnets, subnets, opt)
			targets, err := ec2api.TrafficMirrorTargetsAsList(ctx, client, &ec2.DescribeTrafficMirrorTargetsInput{})
			check(t, "targets", err, snap.TrafficMirrorTargets, targets, opt)
			sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{})
			check(t, "sessions", err, nilIfEmpty(snap.TrafficMirrorSessions), nilIfEmpty(sessions), opt)
			filters, err := client.DescribeTrafficMirrorFilters(ctx, &ec2.DescribeTrafficMirrorFiltersInput{})
			check(t, "filters", err, snap.TrafficMirrorFilters, filters.TrafficMirrorFilters, opt)
			if len(snap.InstanceTypes) > 0 {
				var names []ec2types.InstanceType
				for _, it := range snap.InstanceTypes {
					names = append(names, it.InstanceType)
				}
				types, err := ec2api.InstanceTypesAsList(ctx, client, &ec2.DescribeInstanceTypesInput{InstanceTypes: names})
				check(t, "instance types", err, snap.InstanceTypes, types, opt)
			}
			for id, entries := range snap.PrefixListEntries {
				cidrs, err := ec2api.PrefixListCIDRsAsList(ctx, client, id)
				var want []string
				for _, e := range entries {
					want = append(want, *e.Cidr)
				}
				check(t, "prefix list "+id, err, want, cidrs, opt)
			}
		})
	}
}

func check[T any](t *testing.T, what string, err error, want, got T, opt cmp.Option) {
	t.Helper()
	if err != nil {
		t.Fatalf("describing %s: %v", what, err)
	}
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("%s differ from the snapshot (-snapshot +described):\n%s", what, diff)
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
