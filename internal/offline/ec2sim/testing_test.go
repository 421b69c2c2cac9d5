package ec2sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// TestWhatTestsObserve covers what the step tests read back from the
// simulator instead of from a fake of their own: the requests as they came
// over the wire, scripted faults in order, forced paging and changes made
// to the account while a placement runs.
func TestWhatTestsObserve(t *testing.T) {
	ctx := context.Background()

	t.Run("requests are recorded as the SDK serialized them", func(t *testing.T) {
		sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{RecordRequests: true})
		client := start(t, sim)
		in := createInput(app0, sensor1, 1)
		in.ClientToken, in.DryRun = aws.String("token-1"), aws.Bool(true)
		if _, err := client.CreateTrafficMirrorSession(ctx, in); awserr.Code(err) != awserr.DryRunOperation {
			t.Fatalf("dry run: %v", err)
		}
		if _, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{ec2api.Filter("vpc-id", "vpc-1", "vpc-2")}}); err != nil {
			t.Fatal(err)
		}
		creates := sim.Requests("CreateTrafficMirrorSession")
		if len(creates) != 1 || creates[0].Params.Get("ClientToken") != "token-1" || creates[0].Params.Get("DryRun") != "true" {
			t.Errorf("recorded creates = %+v, want one with ClientToken token-1 and DryRun true", creates)
		}
		all := sim.Requests("")
		if len(all) != 2 || all[1].Action != "DescribeSubnets" || all[1].Params.Get("Filter.1.Value.2") != "vpc-2" {
			t.Errorf("recorded requests = %+v, want the create then DescribeSubnets with its two values", all)
		}
		sim.ResetCalls()
		if len(sim.Requests("")) != 0 || len(sim.Calls()) != 0 {
			t.Errorf("ResetCalls kept requests %v or calls %v", sim.Requests(""), sim.Calls())
		}
	})

	t.Run("requests are not recorded unless asked", func(t *testing.T) {
		sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{})
		if _, err := start(t, sim).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}); err != nil {
			t.Fatal(err)
		}
		if n := len(sim.Requests("")); n != 0 {
			t.Errorf("recorded %d requests without RecordRequests", n)
		}
	})

	t.Run("faults of one action fire in the order given, with their message", func(t *testing.T) {
		sim := ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{})
		sim.InjectFault(ec2sim.Fault{Action: "DescribeSecurityGroups", Count: 2, Code: awserr.RequestLimitExceeded})
		sim.InjectFault(ec2sim.Fault{Action: "DescribeSecurityGroups", Count: 1, Code: awserr.TrafficMirrorSourcesPerTarget, Message: "too many sources"})
		client := start(t, sim)
		var got []string
		for range 4 {
			_, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
			got = append(got, awserr.Code(err))
			if awserr.Code(err) == awserr.TrafficMirrorSourcesPerTarget && !strings.Contains(fmt.Sprint(err), "too many sources") {
				t.Errorf("fault message lost: %v", err)
			}
		}
		want := []string{awserr.RequestLimitExceeded, awserr.RequestLimitExceeded, awserr.TrafficMirrorSourcesPerTarget, ""}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("codes (-want +got):\n%s", diff)
		}
		if _, err := client.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{}); err != nil {
			t.Errorf("a fault leaked to another action: %v", err)
		}
	})

	t.Run("PageSize pages a Describe that set no MaxResults", func(t *testing.T) {
		sim := ec2sim.New(load(t, "full-sensor.json"), ec2sim.Options{PageSize: 4})
		client := start(t, sim)
		sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, client, &ec2.DescribeTrafficMirrorSessionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		// full-sensor.json holds 10 sessions: pages of 4, 4 and 2.
		if len(sessions) != 10 || sim.Calls()["DescribeTrafficMirrorSessions"] != 3 {
			t.Errorf("got %d sessions in %d calls, want 10 in 3", len(sessions), sim.Calls()["DescribeTrafficMirrorSessions"])
		}
		out, err := client.DescribeTrafficMirrorSessions(ctx, &ec2.DescribeTrafficMirrorSessionsInput{MaxResults: aws.Int32(5)})
		if err != nil || len(out.TrafficMirrorSessions) != 5 {
			t.Errorf("MaxResults 5 over PageSize 4: %d sessions, %v; MaxResults wins", len(out.TrafficMirrorSessions), err)
		}
	})

	t.Run("Put changes the account and Reset restores the seed", func(t *testing.T) {
		snap := load(t, "three-zones.json")
		sim := ec2sim.New(snap, ec2sim.Options{})
		client := start(t, sim)
		group := snap.SecurityGroups[0]
		group.IpPermissions = nil
		extra := ec2types.SecurityGroup{GroupId: aws.String("sg-0aaaaaaaaaaaaaaaa"), GroupName: aws.String("extra"), VpcId: group.VpcId}
		sim.Put(&snapshot.Snapshot{SecurityGroups: []ec2types.SecurityGroup{group, extra}})
		groups, err := ec2api.SecurityGroupsAsList(ctx, client, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*group.GroupId, *extra.GroupId}})
		if err != nil || len(groups) != 2 || len(groups[0].IpPermissions) != 0 {
			t.Fatalf("after Put: %+v, %v; want the replaced group without rules and the new one", groups, err)
		}
		if len(snap.SecurityGroups[0].IpPermissions) == 0 {
			t.Error("Put changed the seed snapshot")
		}
		sim.Reset()
		if _, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*extra.GroupId}}); awserr.Code(err) != awserr.InvalidGroupNotFound {
			t.Errorf("after Reset the added group answers %v, want %s", err, awserr.InvalidGroupNotFound)
		}
	})
}
