package ec2fake

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

const (
	filterID = "tmf-0a1b2c3d4e5f60718"
	targetID = "tmt-0a1b2c3d4e5f60718"
)

func instance(id, state, zone string, tags ...string) ec2types.Instance {
	inst := ec2types.Instance{
		InstanceId: aws.String(id),
		State:      &ec2types.InstanceState{Name: ec2types.InstanceStateName(state)},
		Placement:  &ec2types.Placement{AvailabilityZone: aws.String(zone)},
	}
	for i := 0; i+1 < len(tags); i += 2 {
		inst.Tags = append(inst.Tags, ec2types.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
	}
	return inst
}

func eni(n int) string { return fmt.Sprintf("eni-%017x", n) }

// account has a target on eni 0, sources on enis 1..n and the filter.
func account(sources int) *EC2 {
	f := New()
	for i := 0; i <= sources; i++ {
		f.AddNetworkInterfaces(ec2types.NetworkInterface{NetworkInterfaceId: aws.String(eni(i))})
	}
	f.AddTrafficMirrorTargets(ec2types.TrafficMirrorTarget{TrafficMirrorTargetId: aws.String(targetID), NetworkInterfaceId: aws.String(eni(0)), Type: ec2types.TrafficMirrorTargetTypeNetworkInterface})
	f.AddTrafficMirrorFilters(ec2types.TrafficMirrorFilter{TrafficMirrorFilterId: aws.String(filterID)})
	return f
}

func create(source, number int, token string) *ec2.CreateTrafficMirrorSessionInput {
	in := &ec2.CreateTrafficMirrorSessionInput{
		NetworkInterfaceId: aws.String(eni(source)), TrafficMirrorTargetId: aws.String(targetID),
		TrafficMirrorFilterId: aws.String(filterID), SessionNumber: aws.Int32(int32(number)),
	}
	if token != "" {
		in.ClientToken = aws.String(token)
	}
	return in
}

func code(err error) string { return awserr.Code(err) }

func TestDescribe(t *testing.T) {
	ctx := context.Background()
	f := New()
	f.AddInstances(
		instance("i-00000000000000001", "running", "us-east-1a", "team", "nsm"),
		instance("i-00000000000000002", "stopped", "us-east-1a", "team", "nsm"),
		instance("i-00000000000000003", "running", "us-east-1b", "team", "web"),
	)
	ids := func(out []ec2types.Instance) []string {
		var s []string
		for _, i := range out {
			s = append(s, aws.ToString(i.InstanceId))
		}
		return s
	}
	tests := []struct {
		name     string
		in       *ec2.DescribeInstancesInput
		want     []string
		wantCode string
	}{
		{name: "no filter describes every instance", in: &ec2.DescribeInstancesInput{},
			want: []string{"i-00000000000000001", "i-00000000000000002", "i-00000000000000003"}},
		{name: "filters AND together", in: &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			ec2api.Filter("instance-state-name", "running"), ec2api.Filter("tag:team", "nsm")}},
			want: []string{"i-00000000000000001"}},
		{name: "values of one filter OR together", in: &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			ec2api.Filter("instance-id", "i-00000000000000001", "i-00000000000000003")}},
			want: []string{"i-00000000000000001", "i-00000000000000003"}},
		{name: "* in a filter value is a wildcard", in: &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			ec2api.Filter("availability-zone", "us-east-1*"), ec2api.Filter("tag:team", "w?b")}},
			want: []string{"i-00000000000000003"}},
		{name: "a filter on ids that do not exist matches nothing without failing", in: &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			ec2api.Filter("instance-id", "i-0000000000000000f")}}},
		{name: "an id that does not exist fails the whole call", in: &ec2.DescribeInstancesInput{InstanceIds: []string{"i-00000000000000001", "i-0000000000000000f"}},
			wantCode: "InvalidInstanceID.NotFound"},
		{name: "a malformed id is InvalidInstanceID.Malformed", in: &ec2.DescribeInstancesInput{InstanceIds: []string{"eni-00000000000000001"}},
			wantCode: "InvalidInstanceID.Malformed"},
		{name: "an unknown filter name is refused", in: &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2api.Filter("colour", "blue")}},
			wantCode: "InvalidParameterValue"},
		{name: "ids with MaxResults are refused", in: &ec2.DescribeInstancesInput{InstanceIds: []string{"i-00000000000000001"}, MaxResults: aws.Int32(5)},
			wantCode: "InvalidParameterCombination"},
		{name: "MaxResults below EC2's minimum is refused", in: &ec2.DescribeInstancesInput{MaxResults: aws.Int32(2)},
			wantCode: "InvalidParameterValue"},
		{name: "a NextToken EC2 did not issue is refused", in: &ec2.DescribeInstancesInput{NextToken: aws.String("garbage")},
			wantCode: "InvalidPaginationToken"},
		{name: "DryRun answers DryRunOperation", in: &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)},
			wantCode: "DryRunOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ec2api.InstancesAsList(ctx, f, tt.in)
			if tt.wantCode != "" {
				var ae *smithy.GenericAPIError
				if !errors.As(err, &ae) || ae.Code != tt.wantCode {
					t.Fatalf("error = %v, want *smithy.GenericAPIError %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("instances (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrafficMirrorDescribesRefuseTagFilters(t *testing.T) {
	_, err := New().DescribeTrafficMirrorTargets(context.Background(), &ec2.DescribeTrafficMirrorTargetsInput{
		Filters: []ec2types.Filter{ec2api.Filter("tag:mirrorflow:sensor", "true")}})
	if code(err) != "InvalidParameterValue" {
		t.Errorf("tag filter on targets: error %v, want InvalidParameterValue (EC2 documents none)", err)
	}
}

func TestPagingThroughTheSDKPaginator(t *testing.T) {
	f := account(12)
	// More sessions than one target takes, as an account can hold across targets.
	for i := 1; i <= 12; i++ {
		f.AddTrafficMirrorSessions(ec2types.TrafficMirrorSession{
			TrafficMirrorSessionId: aws.String(fmt.Sprintf("tms-%017x", i)), TrafficMirrorTargetId: aws.String(targetID),
			NetworkInterfaceId: aws.String(eni(i)), SessionNumber: aws.Int32(1),
		})
	}
	f.ResetCalls()
	got, err := ec2api.TrafficMirrorSessionsAsList(context.Background(), f, &ec2.DescribeTrafficMirrorSessionsInput{MaxResults: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 || f.Calls(DescribeTrafficMirrorSessions) != 3 {
		t.Errorf("got %d sessions in %d calls, want 12 in 3 pages of at most 5", len(got), f.Calls(DescribeTrafficMirrorSessions))
	}
	f.ResetCalls()
	f.PageSize = 4
	got, err = ec2api.TrafficMirrorSessionsAsList(context.Background(), f, &ec2.DescribeTrafficMirrorSessionsInput{
		Filters: []ec2types.Filter{ec2api.Filter("traffic-mirror-target-id", targetID)}})
	if err != nil || len(got) != 12 || f.Calls(DescribeTrafficMirrorSessions) != 3 {
		t.Errorf("with PageSize 4: %d sessions in %d calls (%v), want 12 in 3", len(got), f.Calls(DescribeTrafficMirrorSessions), err)
	}
}

func TestFailNext(t *testing.T) {
	ctx := context.Background()
	f := New()
	f.FailNext(DescribeSecurityGroups, 2, "RequestLimitExceeded")
	f.FailNext(DescribeSecurityGroups, 1, "InternalError")
	var got []string
	for range 4 {
		_, err := f.DescribeSecurityGroups(ctx, nil)
		got = append(got, code(err))
	}
	if diff := cmp.Diff([]string{"RequestLimitExceeded", "RequestLimitExceeded", "InternalError", ""}, got); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	if f.Calls(DescribeSecurityGroups) != 4 || f.Calls(DescribeNetworkAcls) != 0 {
		t.Errorf("calls = %v, want 4 DescribeSecurityGroups and nothing else", f.CallCounts())
	}
	_, err := f.DescribeNetworkAcls(ctx, nil)
	if !awserr.IsServerFault(apiError("InternalError", "x")) || err != nil {
		t.Errorf("InternalError is not a server fault, or a failure leaked to another action (%v)", err)
	}
	f.FailNext(DescribeNetworkAcls, 1, "RequestLimitExceeded")
	f.Reset()
	if _, err := f.DescribeNetworkAcls(ctx, nil); err != nil || f.Calls(DescribeSecurityGroups) != 0 {
		t.Errorf("Reset kept a pending failure (%v) or counters (%v)", err, f.CallCounts())
	}
}

func TestCreateTrafficMirrorSession(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		setup    func(*EC2)
		in       *ec2.CreateTrafficMirrorSessionInput
		wantCode string
		// wantSessions is how many sessions the account holds afterwards.
		wantSessions int
	}{
		{name: "a new session is recorded", in: create(1, 1, "tok-a"), wantSessions: 1},
		{name: "the same ClientToken and parameters return the first session", setup: func(f *EC2) {
			_, _ = f.CreateTrafficMirrorSession(ctx, create(1, 1, "tok-a"))
		}, in: create(1, 1, "tok-a"), wantSessions: 1},
		{name: "the same ClientToken with other parameters is IdempotentParameterMismatch", setup: func(f *EC2) {
			_, _ = f.CreateTrafficMirrorSession(ctx, create(1, 1, "tok-a"))
		}, in: create(2, 1, "tok-a"), wantCode: "IdempotentParameterMismatch", wantSessions: 1},
		{name: "a session number is used once per source interface", setup: func(f *EC2) {
			_, _ = f.CreateTrafficMirrorSession(ctx, create(1, 1, "tok-a"))
		}, in: create(1, 1, "tok-b"), wantCode: "InvalidParameterValue", wantSessions: 1},
		{name: "an interface is the source of at most three sessions", setup: func(f *EC2) {
			for n := 1; n <= 3; n++ {
				_, _ = f.CreateTrafficMirrorSession(ctx, create(1, n, ""))
			}
		}, in: create(1, 4, ""), wantCode: "TrafficMirrorSessionsPerInterfaceLimitExceeded", wantSessions: 3},
		{name: "an interface target accepts ten sources", setup: func(f *EC2) {
			for s := 1; s <= 10; s++ {
				_, _ = f.CreateTrafficMirrorSession(ctx, create(s, 1, ""))
			}
		}, in: create(11, 1, ""), wantCode: "TrafficMirrorSourcesPerTargetLimitExceeded", wantSessions: 10},
		{name: "a full target still takes another session from one of its sources", setup: func(f *EC2) {
			for s := 1; s <= 10; s++ {
				_, _ = f.CreateTrafficMirrorSession(ctx, create(s, 1, ""))
			}
		}, in: create(10, 2, ""), wantSessions: 11},
		{name: "a filter the account does not hold is refused", in: func() *ec2.CreateTrafficMirrorSessionInput {
			in := create(1, 1, "")
			in.TrafficMirrorFilterId = aws.String("tmf-00000000000000000")
			return in
		}(), wantCode: "InvalidTrafficMirrorFilterId.NotFound"},
		{name: "session number 0 is out of range", in: create(1, 0, ""), wantCode: "InvalidParameterValue"},
		{name: "a ClientToken over 64 characters is refused", in: create(1, 1, fmt.Sprintf("%065d", 0)), wantCode: "InvalidParameterValue"},
		{name: "tags may only be put on the session", in: func() *ec2.CreateTrafficMirrorSessionInput {
			in := create(1, 1, "")
			in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}}
			return in
		}(), wantCode: "InvalidParameterValue"},
		{name: "DryRun answers DryRunOperation and creates nothing", in: func() *ec2.CreateTrafficMirrorSessionInput {
			in := create(1, 1, "tok-a")
			in.DryRun = aws.Bool(true)
			return in
		}(), wantCode: "DryRunOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := account(11)
			if tt.setup != nil {
				tt.setup(f)
			}
			out, err := f.CreateTrafficMirrorSession(ctx, tt.in)
			if code(err) != tt.wantCode {
				t.Fatalf("error = %v, want code %q", err, tt.wantCode)
			}
			if n := len(f.Sessions()); n != tt.wantSessions {
				t.Errorf("account holds %d sessions, want %d", n, tt.wantSessions)
			}
			if err != nil {
				return
			}
			s := out.TrafficMirrorSession
			stored, ok := f.Session(aws.ToString(s.TrafficMirrorSessionId))
			if !ok || aws.ToString(stored.NetworkInterfaceId) != aws.ToString(tt.in.NetworkInterfaceId) || aws.ToInt32(stored.SessionNumber) != aws.ToInt32(tt.in.SessionNumber) {
				t.Errorf("stored session %+v does not match the request", stored)
			}
			if aws.ToString(out.ClientToken) != aws.ToString(tt.in.ClientToken) {
				t.Errorf("ClientToken = %q, want %q", aws.ToString(out.ClientToken), aws.ToString(tt.in.ClientToken))
			}
		})
	}
}
