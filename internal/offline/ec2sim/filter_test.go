package ec2sim_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// TestFilters runs each Describe filter mirrorflow or a person would use
// against full-sensor.json and compares the ids that come back.
func TestFilters(t *testing.T) {
	snap := load(t, "full-sensor.json")
	client := start(t, ec2sim.New(snap, ec2sim.Options{}))
	ctx := context.Background()
	f := ec2api.Filter

	inst := snap.Reservations[0].Instances[0]
	api0 := *inst.InstanceId
	api0ENI := *inst.NetworkInterfaces[0].NetworkInterfaceId
	appSG := *inst.SecurityGroups[0].GroupId
	appSubnet := *inst.SubnetId
	vpc := *inst.VpcId
	sensorA, sensorB := snap.TrafficMirrorTargets[0], snap.TrafficMirrorTargets[1]
	session0 := snap.TrafficMirrorSessions[0]
	filterID := *snap.TrafficMirrorFilters[0].TrafficMirrorFilterId
	acl := *snap.NetworkAcls[0].NetworkAclId

	instances := func(filters ...ec2types.Filter) ([]string, error) {
		out, err := ec2api.InstancesAsList(ctx, client, &ec2.DescribeInstancesInput{Filters: filters})
		var ids []string
		for _, i := range out {
			ids = append(ids, *i.InstanceId)
		}
		return ids, err
	}
	enis := func(filters ...ec2types.Filter) ([]string, error) {
		out, err := ec2api.NetworkInterfacesAsList(ctx, client, &ec2.DescribeNetworkInterfacesInput{Filters: filters})
		var ids []string
		for _, n := range out {
			ids = append(ids, *n.NetworkInterfaceId)
		}
		return ids, err
	}
	sessions := func(filters ...ec2types.Filter) ([]string, error) {
		out, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{Filters: filters})
		var ids []string
		for _, s := range out {
			ids = append(ids, *s.TrafficMirrorSessionId)
		}
		return ids, err
	}
	allInstances := func() []string {
		var ids []string
		for _, r := range snap.Reservations {
			ids = append(ids, *r.Instances[0].InstanceId)
		}
		return ids
	}()

	tests := []struct {
		name  string
		query func() ([]string, error)
		want  []string
	}{
		{"instance-state-name running matches every running instance", func() ([]string, error) { return instances(f("instance-state-name", "running")) }, allInstances},
		{"instance-state-name stopped matches none", func() ([]string, error) { return instances(f("instance-state-name", "stopped")) }, nil},
		{"instance-id picks one instance", func() ([]string, error) { return instances(f("instance-id", api0)) }, []string{api0}},
		{"tag:Name matches the tag's value", func() ([]string, error) { return instances(f("tag:Name", "api0")) }, []string{api0}},
		{"tag:Name values are ORed", func() ([]string, error) {
			return instances(f("tag:Name", "api0", "sensor-a"))
		}, []string{api0, *snap.Reservations[12].Instances[0].InstanceId}},
		{"tag:Name takes the * wildcard", func() ([]string, error) { return instances(f("tag:Name", "sensor-*")) }, []string{
			*snap.Reservations[12].Instances[0].InstanceId, *snap.Reservations[13].Instances[0].InstanceId}},
		{"tag:Name takes the ? wildcard", func() ([]string, error) { return instances(f("tag:Name", "api?")) }, allInstances[:10]},
		{"filters are ANDed", func() ([]string, error) {
			return instances(f("tag:Name", "api*"), f("availability-zone", "us-east-1b"))
		}, nil},
		{"tag-key matches every instance with the key", func() ([]string, error) { return instances(f("tag-key", "Name")) }, allInstances},
		{"vpc-id matches every instance of the VPC", func() ([]string, error) { return instances(f("vpc-id", vpc)) }, allInstances},
		{"network-interface-id picks one interface", func() ([]string, error) { return enis(f("network-interface-id", api0ENI)) }, []string{api0ENI}},
		{"attachment.instance-id finds an instance's interface", func() ([]string, error) { return enis(f("attachment.instance-id", api0)) }, []string{api0ENI}},
		{"subnet-id and group-id narrow interfaces together", func() ([]string, error) {
			return enis(f("subnet-id", appSubnet), f("group-id", appSG), f("addresses.private-ip-address", "10.30.1.20"))
		}, []string{api0ENI}},
		{"traffic-mirror-target-id finds a target's sessions", func() ([]string, error) {
			return sessions(f("traffic-mirror-target-id", *sensorB.TrafficMirrorTargetId))
		}, nil},
		{"traffic-mirror-session-id picks one session", func() ([]string, error) {
			return sessions(f("traffic-mirror-session-id", *session0.TrafficMirrorSessionId))
		}, []string{*session0.TrafficMirrorSessionId}},
		{"network-interface-id finds a source's sessions", func() ([]string, error) {
			return sessions(f("network-interface-id", *session0.NetworkInterfaceId), f("traffic-mirror-filter-id", filterID))
		}, []string{*session0.TrafficMirrorSessionId}},
		{"traffic-mirror-target-id picks one target", func() ([]string, error) {
			out, err := ec2api.TrafficMirrorTargetsAsList(ctx, client, &ec2.DescribeTrafficMirrorTargetsInput{
				Filters: []ec2types.Filter{f("traffic-mirror-target-id", *sensorA.TrafficMirrorTargetId)}})
			var ids []string
			for _, t := range out {
				ids = append(ids, *t.TrafficMirrorTargetId)
			}
			return ids, err
		}, []string{*sensorA.TrafficMirrorTargetId}},
		{"traffic-mirror-filter-id picks one filter", func() ([]string, error) {
			out, err := client.DescribeTrafficMirrorFilters(ctx, &ec2.DescribeTrafficMirrorFiltersInput{
				Filters: []ec2types.Filter{f("traffic-mirror-filter-id", filterID)}})
			if err != nil {
				return nil, err
			}
			return []string{*out.TrafficMirrorFilters[0].TrafficMirrorFilterId}, nil
		}, []string{filterID}},
		{"association.subnet-id finds a subnet's ACL", func() ([]string, error) {
			out, err := ec2api.NetworkAclsAsList(ctx, client, &ec2.DescribeNetworkAclsInput{
				Filters: []ec2types.Filter{f("association.subnet-id", appSubnet), f("default", "true")}})
			var ids []string
			for _, a := range out {
				ids = append(ids, *a.NetworkAclId)
			}
			return ids, err
		}, []string{acl}},
		{"default false excludes the default ACL", func() ([]string, error) {
			out, err := ec2api.NetworkAclsAsList(ctx, client, &ec2.DescribeNetworkAclsInput{
				Filters: []ec2types.Filter{f("default", "false")}})
			var ids []string
			for _, a := range out {
				ids = append(ids, *a.NetworkAclId)
			}
			return ids, err
		}, nil},
		{"group-id picks one security group", func() ([]string, error) {
			out, err := ec2api.SecurityGroupsAsList(ctx, client, &ec2.DescribeSecurityGroupsInput{
				Filters: []ec2types.Filter{f("group-id", appSG), f("vpc-id", vpc)}})
			var ids []string
			for _, g := range out {
				ids = append(ids, *g.GroupId)
			}
			return ids, err
		}, []string{appSG}},
		{"subnet-id and availability-zone narrow subnets", func() ([]string, error) {
			out, err := ec2api.SubnetsAsList(ctx, client, &ec2.DescribeSubnetsInput{
				Filters: []ec2types.Filter{f("subnet-id", appSubnet), f("availability-zone", "us-east-1a")}})
			var ids []string
			for _, s := range out {
				ids = append(ids, *s.SubnetId)
			}
			return ids, err
		}, []string{appSubnet}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.query()
			if err != nil {
				t.Fatalf("describing: %v", err)
			}
			sort.Strings(got)
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBadQueries covers the answers EC2 gives a query it cannot serve.
func TestBadQueries(t *testing.T) {
	snap := load(t, "three-zones.json")
	client := start(t, ec2sim.New(snap, ec2sim.Options{}))
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"an unknown instance id is InvalidInstanceID.NotFound", func() error {
			_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000000a"}})
			return err
		}, awserr.InvalidInstanceIDNotFound},
		{"an unknown interface id is InvalidNetworkInterfaceID.NotFound", func() error {
			_, err := client.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-0000000000000000a"}})
			return err
		}, awserr.InvalidNetworkInterfaceNotFound},
		{"an unknown group id is InvalidGroup.NotFound", func() error {
			_, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0000000000000000a"}})
			return err
		}, awserr.InvalidGroupNotFound},
		{"an unknown ACL id is InvalidNetworkAclID.NotFound", func() error {
			_, err := client.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{"acl-0000000000000000a"}})
			return err
		}, awserr.InvalidNetworkACLNotFound},
		{"an unknown subnet id is InvalidSubnetID.NotFound", func() error {
			_, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0000000000000000a"}})
			return err
		}, awserr.InvalidSubnetNotFound},
		{"an unknown target id is InvalidTrafficMirrorTargetId.NotFound", func() error {
			_, err := client.DescribeTrafficMirrorTargets(ctx, &ec2.DescribeTrafficMirrorTargetsInput{TrafficMirrorTargetIds: []string{"tmt-0000000000000000a"}})
			return err
		}, awserr.InvalidTrafficMirrorTargetID},
		{"an unknown session id is InvalidTrafficMirrorSessionId.NotFound", func() error {
			_, err := client.DescribeTrafficMirrorSessions(ctx, &ec2.DescribeTrafficMirrorSessionsInput{TrafficMirrorSessionIds: []string{"tms-0000000000000000a"}})
			return err
		}, awserr.InvalidTrafficMirrorSessionID},
		{"an unknown filter id is InvalidTrafficMirrorFilterId.NotFound", func() error {
			_, err := client.DescribeTrafficMirrorFilters(ctx, &ec2.DescribeTrafficMirrorFiltersInput{TrafficMirrorFilterIds: []string{"tmf-0000000000000000a"}})
			return err
		}, awserr.InvalidTrafficMirrorFilterID},
		{"an unknown prefix list is InvalidPrefixListID.NotFound", func() error {
			_, err := client.GetManagedPrefixListEntries(ctx, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: ptr("pl-0000000000000000a")})
			return err
		}, awserr.InvalidPrefixListNotFound},
		{"an unknown instance type is InvalidInstanceType", func() error {
			_, err := client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"m5.huge"}})
			return err
		}, awserr.InvalidInstanceType},
		{"an unknown filter name is InvalidParameterValue", func() error {
			_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2api.Filter("colour", "blue")}})
			return err
		}, awserr.InvalidParameterValue},
		{"MaxResults below the range is InvalidParameterValue", func() error {
			_, err := client.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{MaxResults: ptr[int32](4)})
			return err
		}, awserr.InvalidParameterValue},
		{"MaxResults above the range is InvalidParameterValue", func() error {
			_, err := client.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{MaxResults: ptr[int32](101)})
			return err
		}, awserr.InvalidParameterValue},
		{"MaxResults with instance ids is InvalidParameterCombination", func() error {
			_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: ptr[int32](5), InstanceIds: []string{"i-5202beb1625020651"}})
			return err
		}, awserr.InvalidParameterCombination},
		{"MaxResults with interface ids is InvalidParameterCombination", func() error {
			_, err := client.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{MaxResults: ptr[int32](5), NetworkInterfaceIds: []string{"eni-7b8fba278842ef307"}})
			return err
		}, awserr.InvalidParameterCombination},
		{"an instance id of the wrong shape is InvalidInstanceID.Malformed", func() error {
			_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"eni-7b8fba278842ef307"}})
			return err
		}, awserr.InvalidInstanceIDMalformed},
		{"a tag filter on traffic mirror targets is refused: EC2 documents none", func() error {
			_, err := client.DescribeTrafficMirrorTargets(ctx, &ec2.DescribeTrafficMirrorTargetsInput{Filters: []ec2types.Filter{ec2api.Filter("tag:mirrorflow:sensor", "true")}})
			return err
		}, awserr.InvalidParameterValue},
		{"a tag filter on traffic mirror sessions is refused: EC2 documents none", func() error {
			_, err := client.DescribeTrafficMirrorSessions(ctx, &ec2.DescribeTrafficMirrorSessionsInput{Filters: []ec2types.Filter{ec2api.Filter("tag-key", "ManagedBy")}})
			return err
		}, awserr.InvalidParameterValue},
		{"a Describe asked to dry-run is DryRunOperation", func() error {
			_, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{DryRun: ptr(true)})
			return err
		}, awserr.DryRunOperation},
		{"a token of another action is InvalidPaginationToken", func() error {
			page, err := client.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{MaxResults: ptr[int32](5)})
			if err != nil {
				return err
			}
			_, err = client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{MaxResults: ptr[int32](5), NextToken: page.NextToken})
			return err
		}, awserr.InvalidPaginationToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("want an error, got none")
			}
			if got := code(t, err); got != tc.code {
				t.Errorf("code = %s, want %s (%v)", got, tc.code, err)
			}
			if got := status(t, err); got != 400 {
				t.Errorf("HTTP status = %d, want 400", got)
			}
		})
	}
}

// TestFilterValueLimit checks EC2's limit of 200 filter values in one
// call, counted over all the call's filters, and that ec2api.InChunks
// keeps a longer list of ids within it.
func TestFilterValueLimit(t *testing.T) {
	snap := load(t, "full-sensor.json")
	sim := ec2sim.New(snap, ec2sim.Options{})
	client := start(t, sim)
	ctx := context.Background()
	eni := *snap.NetworkInterfaces[0].NetworkInterfaceId
	// missing are n ids of the kind prefix names that the account does not hold.
	missing := func(prefix string, n int) []string {
		var ids []string
		for i := 1; i <= n; i++ {
			ids = append(ids, fmt.Sprintf("%s-%017x", prefix, i))
		}
		return ids
	}
	// withENI is the snapshot's first interface and n-1 that do not exist.
	withENI := func(n int) []string { return append([]string{eni}, missing("eni", n-1)...) }
	describe := func(filters ...ec2types.Filter) ([]ec2types.NetworkInterface, error) {
		return ec2api.NetworkInterfacesAsList(ctx, client, &ec2.DescribeNetworkInterfacesInput{Filters: filters})
	}
	tests := []struct {
		name     string
		filters  []ec2types.Filter
		wantCode string
	}{
		{name: "200 values in one filter are accepted", filters: []ec2types.Filter{ec2api.Filter("network-interface-id", withENI(200)...)}},
		{name: "201 values in one filter are FilterLimitExceeded", filters: []ec2types.Filter{ec2api.Filter("network-interface-id", withENI(201)...)},
			wantCode: awserr.FilterLimitExceeded},
		{name: "the limit counts the values of every filter in the call", filters: []ec2types.Filter{
			ec2api.Filter("network-interface-id", withENI(150)...), ec2api.Filter("group-id", missing("sg", 51)...)},
			wantCode: awserr.FilterLimitExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := describe(tc.filters...)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("describing: %v", err)
				}
				if len(got) != 1 || *got[0].NetworkInterfaceId != eni {
					t.Errorf("described %d interfaces, want only %s", len(got), eni)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %s, got %d interfaces", tc.wantCode, len(got))
			}
			if c := code(t, err); c != tc.wantCode {
				t.Errorf("code = %s, want %s (%v)", c, tc.wantCode, err)
			}
			if s := status(t, err); s != 400 {
				t.Errorf("HTTP status = %d, want 400", s)
			}
		})
	}

	t.Run("InChunks describes 401 ids in three calls within the limit", func(t *testing.T) {
		before := sim.Calls()["DescribeNetworkInterfaces"]
		got, err := ec2api.InChunks(withENI(401), ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.NetworkInterface, error) {
			return describe(ec2api.Filter("network-interface-id", chunk...))
		})
		if err != nil {
			t.Fatalf("describing in chunks: %v", err)
		}
		if len(got) != 1 || *got[0].NetworkInterfaceId != eni {
			t.Errorf("described %d interfaces, want only %s", len(got), eni)
		}
		if n := sim.Calls()["DescribeNetworkInterfaces"] - before; n != 3 {
			t.Errorf("DescribeNetworkInterfaces called %d times, want 3", n)
		}
	})
}

// TestPaging walks every page with the SDK's paginators (through the
// ec2api helpers) and checks that paging loses and repeats nothing.
func TestPaging(t *testing.T) {
	snap := load(t, "full-sensor.json")
	sim := ec2sim.New(snap, ec2sim.Options{})
	client := start(t, sim)
	ctx := context.Background()

	enis, err := ec2api.NetworkInterfacesAsList(ctx, client, &ec2.DescribeNetworkInterfacesInput{MaxResults: ptr[int32](5)})
	if err != nil {
		t.Fatalf("describing interfaces: %v", err)
	}
	if diff := cmp.Diff(snap.NetworkInterfaces, enis, sdktest.IgnoreUnexported(enis)); diff != "" {
		t.Errorf("paged interfaces differ (-snapshot +paged):\n%s", diff)
	}
	instances, err := ec2api.InstancesAsList(ctx, client, &ec2.DescribeInstancesInput{MaxResults: ptr[int32](5)})
	if err != nil {
		t.Fatalf("describing instances: %v", err)
	}
	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{MaxResults: ptr[int32](5)})
	if err != nil {
		t.Fatalf("describing sessions: %v", err)
	}
	if diff := cmp.Diff(snap.TrafficMirrorSessions, sessions, sdktest.IgnoreUnexported(sessions)); diff != "" {
		t.Errorf("paged sessions differ (-snapshot +paged):\n%s", diff)
	}
	want := map[string]int{
		// 14 interfaces, 14 instances and 10 sessions at 5 a page.
		"DescribeNetworkInterfaces":     3,
		"DescribeInstances":             3,
		"DescribeTrafficMirrorSessions": 2,
	}
	if len(instances) != 14 {
		t.Errorf("paged instances = %d, want 14", len(instances))
	}
	if diff := cmp.Diff(want, sim.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }
