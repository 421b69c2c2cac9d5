package ec2sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// endpointAccount holds a Gateway Load Balancer endpoint, an interface
// endpoint and a gateway endpoint in two VPCs, with the states and tags the
// filters tell apart. State is spelled as the CLI prints it on one and as
// the SDK's enum on another: the vpc-endpoint-state filter matches both.
func endpointAccount() *snapshot.Snapshot {
	created := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	return &snapshot.Snapshot{VPCEndpoints: []ec2types.VpcEndpoint{
		{
			VpcEndpointId:       aws.String("vpce-0a1b2c3d4e5f60718"),
			VpcEndpointType:     ec2types.VpcEndpointTypeGatewayLoadBalancer,
			VpcId:               aws.String("vpc-0a1b2c3d"),
			ServiceName:         aws.String("com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"),
			State:               "available",
			SubnetIds:           []string{"subnet-0123456789abcdef2"},
			NetworkInterfaceIds: []string{"eni-0f1e2d3c4b5a69788"},
			CreationTimestamp:   &created,
			Tags:                []ec2types.Tag{{Key: aws.String("mirrorflow:sensor"), Value: aws.String("true")}},
			OwnerId:             aws.String("123456789012"),
			IpAddressType:       ec2types.IpAddressTypeIpv4,
			RequesterManaged:    aws.Bool(false),
		},
		{
			VpcEndpointId:   aws.String("vpce-11111111111111111"),
			VpcEndpointType: ec2types.VpcEndpointTypeInterface,
			VpcId:           aws.String("vpc-0a1b2c3d"),
			ServiceName:     aws.String("com.amazonaws.us-east-1.ec2"),
			State:           ec2types.StatePendingAcceptance,
			SubnetIds:       []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
			Tags:            []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("net")}},
			DnsEntries:      []ec2types.DnsEntry{{DnsName: aws.String("vpce-1.ec2.us-east-1.vpce.amazonaws.com"), HostedZoneId: aws.String("Z7HUB22UULQXV")}},
		},
		{
			VpcEndpointId:   aws.String("vpce-22222222222222222"),
			VpcEndpointType: ec2types.VpcEndpointTypeGateway,
			VpcId:           aws.String("vpc-99999999"),
			ServiceName:     aws.String("com.amazonaws.us-east-1.s3"),
			State:           ec2types.StateAvailable,
			RouteTableIds:   []string{"rtb-0123456789abcdef0"},
			Tags:            []ec2types.Tag{},
		},
	}}
}

// vpcEndpointsAsList reads every page with the SDK's paginator, as a step
// will.
func vpcEndpointsAsList(ctx context.Context, client *ec2.Client, in *ec2.DescribeVpcEndpointsInput) ([]ec2types.VpcEndpoint, error) {
	var out []ec2types.VpcEndpoint
	for p := ec2.NewDescribeVpcEndpointsPaginator(client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.VpcEndpoints...)
	}
	return out, nil
}

func endpointIDs(out []ec2types.VpcEndpoint) []string {
	ids := []string{}
	for _, e := range out {
		ids = append(ids, aws.ToString(e.VpcEndpointId))
	}
	return ids
}

// TestDescribeVpcEndpoints checks the answer through the SDK's deserializer
// and each documented filter.
func TestDescribeVpcEndpoints(t *testing.T) {
	snap := endpointAccount()
	sim := ec2sim.New(snap, ec2sim.Options{})
	client := start(t, sim)
	ctx := context.Background()

	t.Run("every endpoint comes back as the snapshot holds it", func(t *testing.T) {
		out, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
		check(t, "VPC endpoints", err, snap.VPCEndpoints, out.VpcEndpoints, sdktest.IgnoreUnexported(snap.VPCEndpoints))
	})

	f := ec2api.Filter
	tests := []struct {
		name    string
		in      ec2.DescribeVpcEndpointsInput
		want    []string
		wantErr string
	}{
		{name: "vpc-endpoint-type GatewayLoadBalancer finds the Gateway Load Balancer endpoints",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("vpc-endpoint-type", "GatewayLoadBalancer")}},
			want: []string{"vpce-0a1b2c3d4e5f60718"}},
		{name: "vpc-id keeps a VPC's endpoints",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("vpc-id", "vpc-0a1b2c3d")}},
			want: []string{"vpce-0a1b2c3d4e5f60718", "vpce-11111111111111111"}},
		{name: "vpc-endpoint-id is a filter as well as a parameter",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("vpc-endpoint-id", "vpce-22222222222222222")}},
			want: []string{"vpce-22222222222222222"}},
		{name: "service-name takes EC2's wildcards",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("service-name", "com.amazonaws.vpce.*")}},
			want: []string{"vpce-0a1b2c3d4e5f60718"}},
		{name: "vpc-endpoint-state available matches the state as the CLI and as the SDK spell it",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("vpc-endpoint-state", "available")}},
			want: []string{"vpce-0a1b2c3d4e5f60718", "vpce-22222222222222222"}},
		{name: "vpc-endpoint-state takes the documented pendingAcceptance",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("vpc-endpoint-state", "pendingAcceptance")}},
			want: []string{"vpce-11111111111111111"}},
		{name: "tag:<key> matches the tag's value",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("tag:mirrorflow:sensor", "true")}},
			want: []string{"vpce-0a1b2c3d4e5f60718"}},
		{name: "tag-key matches whatever the value",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("tag-key", "team")}},
			want: []string{"vpce-11111111111111111"}},
		{name: "filters are ANDed and a filter's values ORed",
			in: ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{
				f("vpc-endpoint-type", "Interface", "Gateway"), f("vpc-id", "vpc-0a1b2c3d")}},
			want: []string{"vpce-11111111111111111"}},
		{name: "ids and filters both apply",
			in: ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{"vpce-0a1b2c3d4e5f60718", "vpce-22222222222222222"},
				Filters: []ec2types.Filter{f("vpc-endpoint-type", "Gateway")}},
			want: []string{"vpce-22222222222222222"}},
		{name: "no endpoint matching is an empty list, not an error",
			in:   ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("vpc-id", "vpc-nothing")}},
			want: []string{}},
		{name: "an id that names no endpoint is InvalidVpcEndpointId.NotFound",
			in:      ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{"vpce-0a1b2c3d4e5f60718", "vpce-0000000000000000f"}},
			wantErr: "InvalidVpcEndpointId.NotFound"},
		{name: "tag-value is not among this action's filters",
			in:      ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("tag-value", "true")}},
			wantErr: awserr.InvalidParameterValue},
		{name: "an undocumented filter is refused",
			in:      ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{f("subnet-id", "subnet-0123456789abcdef2")}},
			wantErr: awserr.InvalidParameterValue},
		{name: "a NextToken of another action is InvalidPaginationToken",
			in:      ec2.DescribeVpcEndpointsInput{NextToken: aws.String("RGVzY3JpYmVTdWJuZXRzLzE")},
			wantErr: awserr.InvalidPaginationToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := vpcEndpointsAsList(ctx, client, &tc.in)
			if tc.wantErr != "" {
				if got := awserr.Code(err); got != tc.wantErr {
					t.Fatalf("error %v, want code %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, endpointIDs(out)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("MaxResults below 1 is refused", func(t *testing.T) {
		// Called directly: the SDK's paginator drops a Limit of 0.
		_, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{MaxResults: aws.Int32(0)})
		if got := awserr.Code(err); got != awserr.InvalidParameterValue {
			t.Errorf("error %v, want %s", err, awserr.InvalidParameterValue)
		}
	})

	t.Run("the NotFound message names the missing id", func(t *testing.T) {
		_, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{"vpce-0000000000000000f"}})
		if !strings.Contains(fmt.Sprint(err), "The Vpc Endpoint Id 'vpce-0000000000000000f' does not exist") {
			t.Errorf("error %v, want it to name vpce-0000000000000000f", err)
		}
	})
}

// TestDescribeVpcEndpointsPaging checks MaxResults and NextToken as the EC2
// API reference gives them, through the SDK's paginator.
func TestDescribeVpcEndpointsPaging(t *testing.T) {
	ctx := context.Background()
	many := &snapshot.Snapshot{}
	for i := range 1003 {
		many.VPCEndpoints = append(many.VPCEndpoints, ec2types.VpcEndpoint{VpcEndpointId: aws.String(fmt.Sprintf("vpce-%017x", i))})
	}

	t.Run("the paginator follows NextToken in pages of MaxResults", func(t *testing.T) {
		sim := ec2sim.New(endpointAccount(), ec2sim.Options{})
		client := start(t, sim)
		p := ec2.NewDescribeVpcEndpointsPaginator(client, &ec2.DescribeVpcEndpointsInput{}, func(o *ec2.DescribeVpcEndpointsPaginatorOptions) { o.Limit = 2 })
		var pages []int
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, len(out.VpcEndpoints))
		}
		if diff := cmp.Diff([]int{2, 1}, pages); diff != "" {
			t.Errorf("page sizes (-want +got):\n%s", diff)
		}
	})

	t.Run("a MaxResults above 1,000 returns 1,000 items, as the reference says", func(t *testing.T) {
		client := start(t, ec2sim.New(many, ec2sim.Options{}))
		out, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{MaxResults: aws.Int32(5000)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.VpcEndpoints) != 1000 || out.NextToken == nil {
			t.Fatalf("got %d endpoints and NextToken %v, want 1000 and a token", len(out.VpcEndpoints), out.NextToken)
		}
		rest, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{MaxResults: aws.Int32(5000), NextToken: out.NextToken})
		if err != nil || len(rest.VpcEndpoints) != 3 || rest.NextToken != nil {
			t.Errorf("second page: %d endpoints, NextToken %v, %v; want the last 3 and no token", len(rest.VpcEndpoints), rest.NextToken, err)
		}
	})

	t.Run("Options.PageSize pages a call that set no MaxResults", func(t *testing.T) {
		sim := ec2sim.New(many, ec2sim.Options{PageSize: 400})
		client := start(t, sim)
		all, err := vpcEndpointsAsList(ctx, client, &ec2.DescribeVpcEndpointsInput{})
		if err != nil || len(all) != 1003 || sim.Calls()["DescribeVpcEndpoints"] != 3 {
			t.Errorf("got %d endpoints in %d calls (%v), want 1003 in 3", len(all), sim.Calls()["DescribeVpcEndpoints"], err)
		}
	})
}
