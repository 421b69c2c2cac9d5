package elbv2sim_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/elbv2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

const (
	sensorsARN  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/sensors/50dc6c495c0c9188"
	tcpOnlyARN  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/tcp-only/6a7b8c9d0e1f2a3b"
	inspectARN  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/gwy/inspect/0f1e2d3c4b5a6978"
	vxlanARN    = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/sensors/50dc6c495c0c9188/f2f7dc8efc522ab2"
	tcpUDPARN   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/sensors/50dc6c495c0c9188/0a1b2c3d4e5f6071"
	httpsARN    = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/tcp-only/6a7b8c9d0e1f2a3b/1b2c3d4e5f607182"
	missingLB   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/gone/ffffffffffffffff"
	missingLsnr = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/sensors/50dc6c495c0c9188/ffffffffffffffff"
)

// account holds two Network Load Balancers (one listening on UDP 4789 and
// TCP_UDP 4789, one on TCP 443 only), a Gateway Load Balancer with no
// listener, and a Gateway Load Balancer endpoint for EC2's side.
func account() *snapshot.Snapshot {
	created := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	zone := func(name, subnet string) elbv2types.AvailabilityZone {
		return elbv2types.AvailabilityZone{ZoneName: aws.String(name), SubnetId: aws.String(subnet), LoadBalancerAddresses: []elbv2types.LoadBalancerAddress{}}
	}
	forward := []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, Order: aws.Int32(1),
		TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/vxlan/943f017f100becff")}}
	return &snapshot.Snapshot{
		LoadBalancers: []elbv2types.LoadBalancer{
			{LoadBalancerArn: aws.String(sensorsARN), LoadBalancerName: aws.String("sensors"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
				Scheme: elbv2types.LoadBalancerSchemeEnumInternal, VpcId: aws.String("vpc-0a1b2c3d"), CreatedTime: &created,
				DNSName: aws.String("sensors-50dc6c495c0c9188.elb.us-east-1.amazonaws.com"), IpAddressType: elbv2types.IpAddressTypeIpv4,
				State:             &elbv2types.LoadBalancerState{Code: elbv2types.LoadBalancerStateEnumActive},
				AvailabilityZones: []elbv2types.AvailabilityZone{zone("us-east-1a", "subnet-0123456789abcdef0"), zone("us-east-1b", "subnet-0123456789abcdef1")},
				SecurityGroups:    []string{"sg-0123456789abcdef0"}},
			{LoadBalancerArn: aws.String(tcpOnlyARN), LoadBalancerName: aws.String("tcp-only"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
				AvailabilityZones: []elbv2types.AvailabilityZone{zone("us-east-1c", "subnet-0123456789abcdef2")}},
			{LoadBalancerArn: aws.String(inspectARN), LoadBalancerName: aws.String("inspect"), Type: elbv2types.LoadBalancerTypeEnumGateway,
				AvailabilityZones: []elbv2types.AvailabilityZone{zone("us-east-1a", "subnet-0123456789abcdef0")}},
		},
		Listeners: []elbv2types.Listener{
			{ListenerArn: aws.String(vxlanARN), LoadBalancerArn: aws.String(sensorsARN), Port: aws.Int32(4789), Protocol: elbv2types.ProtocolEnumUdp, DefaultActions: forward},
			{ListenerArn: aws.String(httpsARN), LoadBalancerArn: aws.String(tcpOnlyARN), Port: aws.Int32(443), Protocol: elbv2types.ProtocolEnumTcp, DefaultActions: forward},
			{ListenerArn: aws.String(tcpUDPARN), LoadBalancerArn: aws.String(sensorsARN), Port: aws.Int32(4789), Protocol: elbv2types.ProtocolEnumTcpUdp, DefaultActions: forward},
		},
		VPCEndpoints: []ec2types.VpcEndpoint{{VpcEndpointId: aws.String("vpce-0a1b2c3d4e5f60718"), VpcEndpointType: ec2types.VpcEndpointTypeGatewayLoadBalancer,
			SubnetIds: []string{"subnet-0123456789abcdef0"}}},
	}
}

// served is one endpoint serving both services, with a client of each.
type served struct {
	account *ec2sim.Sim
	elbv2   *elasticloadbalancingv2.Client
	ec2     *ec2.Client
	url     string
}

// start serves snap on loopback for the test, with the SDK's retries off
// unless optFns say otherwise.
func start(t *testing.T, snap *snapshot.Snapshot, opts ec2sim.Options, optFns ...func(*elasticloadbalancingv2.Options)) served {
	t.Helper()
	opts.RecordRequests = true
	acct := ec2sim.New(snap, opts)
	sim := elbv2sim.New(acct)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	endpoint, err := sim.Start(ctx)
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("closing the simulator: %v", err)
		}
	})
	base := func(o *elasticloadbalancingv2.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = sdktest.HTTPClient()
	}
	return served{
		account: acct,
		elbv2:   elbv2sim.NewClient(endpoint, append([]func(*elasticloadbalancingv2.Options){base}, optFns...)...),
		ec2: ec2sim.NewClient(endpoint, func(o *ec2.Options) {
			o.RetryMaxAttempts = 1
			o.HTTPClient = sdktest.HTTPClient()
		}),
		url: endpoint,
	}
}

func loadBalancersAsList(ctx context.Context, c *elasticloadbalancingv2.Client, in *elasticloadbalancingv2.DescribeLoadBalancersInput) ([]elbv2types.LoadBalancer, error) {
	var out []elbv2types.LoadBalancer
	for p := elasticloadbalancingv2.NewDescribeLoadBalancersPaginator(c, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.LoadBalancers...)
	}
	return out, nil
}

func listenersAsList(ctx context.Context, c *elasticloadbalancingv2.Client, in *elasticloadbalancingv2.DescribeListenersInput) ([]elbv2types.Listener, error) {
	var out []elbv2types.Listener
	for p := elasticloadbalancingv2.NewDescribeListenersPaginator(c, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Listeners...)
	}
	return out, nil
}

func arns(lbs []elbv2types.LoadBalancer) []string {
	out := []string{}
	for _, lb := range lbs {
		out = append(out, aws.ToString(lb.LoadBalancerArn))
	}
	return out
}

func listenerARNs(ls []elbv2types.Listener) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, aws.ToString(l.ListenerArn))
	}
	return out
}

func status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// TestDescribeRoundTrip proves the wire format: what the SDK decodes is what
// the snapshot holds, times, zones, enums and nested actions included.
func TestDescribeRoundTrip(t *testing.T) {
	snap := account()
	s := start(t, snap, ec2sim.Options{})
	ctx := context.Background()
	opt := sdktest.IgnoreUnexported(snap.LoadBalancers, snap.Listeners)
	lbs, err := loadBalancersAsList(ctx, s.elbv2, &elasticloadbalancingv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snap.LoadBalancers, lbs, opt); diff != "" {
		t.Errorf("load balancers differ from the snapshot (-snapshot +described):\n%s", diff)
	}
	var listeners []elbv2types.Listener
	for _, lb := range snap.LoadBalancers {
		ls, err := listenersAsList(ctx, s.elbv2, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
		if err != nil {
			t.Fatalf("listeners of %s: %v", *lb.LoadBalancerArn, err)
		}
		listeners = append(listeners, ls...)
	}
	want := []elbv2types.Listener{snap.Listeners[0], snap.Listeners[2], snap.Listeners[1]}
	if diff := cmp.Diff(want, listeners, opt); diff != "" {
		t.Errorf("listeners differ from the snapshot (-snapshot +described):\n%s", diff)
	}
}

// TestListenerLookupPerLoadBalancer is the lookup a placement will make: for
// each Network Load Balancer target, does it listen on UDP or TCP_UDP 4789.
func TestListenerLookupPerLoadBalancer(t *testing.T) {
	s := start(t, account(), ec2sim.Options{})
	ctx := context.Background()
	listensForVXLAN := func(arn string) (bool, error) {
		ls, err := listenersAsList(ctx, s.elbv2, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(arn)})
		for _, l := range ls {
			if aws.ToInt32(l.Port) == 4789 && (l.Protocol == elbv2types.ProtocolEnumUdp || l.Protocol == elbv2types.ProtocolEnumTcpUdp) {
				return true, err
			}
		}
		return false, err
	}
	tests := []struct {
		name string
		arn  string
		want bool
	}{
		{"a load balancer with a UDP 4789 listener receives VXLAN", sensorsARN, true},
		{"a load balancer listening only on TCP 443 does not", tcpOnlyARN, false},
		{"a load balancer with no listener does not", inspectARN, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := listensForVXLAN(tc.arn)
			if err != nil || got != tc.want {
				t.Errorf("listens for VXLAN = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if n := s.account.Calls()["DescribeListeners"]; n != len(tests) {
		t.Errorf("DescribeListeners calls = %d, want one per load balancer (%d)", n, len(tests))
	}
}

func TestDescribeLoadBalancers(t *testing.T) {
	s := start(t, account(), ec2sim.Options{})
	ctx := context.Background()
	var many []string
	for i := range 21 {
		many = append(many, fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/lb%d/%016x", i, i))
	}
	tests := []struct {
		name    string
		in      elasticloadbalancingv2.DescribeLoadBalancersInput
		want    []string
		wantErr string
	}{
		{name: "no selection describes every load balancer",
			want: []string{sensorsARN, tcpOnlyARN, inspectARN}},
		{name: "LoadBalancerArns selects by ARN, in the account's order",
			in:   elasticloadbalancingv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{inspectARN, sensorsARN}},
			want: []string{sensorsARN, inspectARN}},
		{name: "Names selects by name",
			in:   elasticloadbalancingv2.DescribeLoadBalancersInput{Names: []string{"tcp-only"}},
			want: []string{tcpOnlyARN}},
		{name: "an ARN that names no load balancer is LoadBalancerNotFound",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{sensorsARN, missingLB}},
			wantErr: elbv2sim.LoadBalancerNotFound},
		{name: "a name that names no load balancer is LoadBalancerNotFound",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{Names: []string{"gone"}},
			wantErr: elbv2sim.LoadBalancerNotFound},
		{name: "up to 20 ARNs can be described at a time",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{LoadBalancerArns: many[:20]},
			wantErr: elbv2sim.LoadBalancerNotFound},
		{name: "21 ARNs are a ValidationError",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{LoadBalancerArns: many},
			wantErr: elbv2sim.ValidationError},
		{name: "what is not a load balancer ARN is a ValidationError, not a NotFound",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{vxlanARN}},
			wantErr: elbv2sim.ValidationError},
		{name: "ARNs and names together are a ValidationError",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{sensorsARN}, Names: []string{"sensors"}},
			wantErr: elbv2sim.ValidationError},
		{name: "PageSize 0 is below the range 1-400",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{PageSize: aws.Int32(0)},
			wantErr: elbv2sim.ValidationError},
		{name: "PageSize 401 is above the range 1-400",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{PageSize: aws.Int32(401)},
			wantErr: elbv2sim.ValidationError},
		{name: "PageSize 400 is in range",
			in:   elasticloadbalancingv2.DescribeLoadBalancersInput{PageSize: aws.Int32(400)},
			want: []string{sensorsARN, tcpOnlyARN, inspectARN}},
		{name: "a Marker of another action is a ValidationError",
			in:      elasticloadbalancingv2.DescribeLoadBalancersInput{Marker: aws.String(ec2sim.PageToken("DescribeListeners", 1))},
			wantErr: elbv2sim.ValidationError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.elbv2.DescribeLoadBalancers(ctx, &tc.in)
			if tc.wantErr != "" {
				if got := awserr.Code(err); got != tc.wantErr || status(err) != http.StatusBadRequest {
					t.Fatalf("error %v (HTTP %d), want %s with 400", err, status(err), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, arns(out.LoadBalancers)); diff != "" || out.NextMarker != nil {
				t.Errorf("load balancers (-want +got):\n%s\nNextMarker %v", diff, out.NextMarker)
			}
		})
	}

	t.Run("LoadBalancerNotFound decodes as the SDK's typed error", func(t *testing.T) {
		_, err := s.elbv2.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{Names: []string{"gone"}})
		var nf *elbv2types.LoadBalancerNotFoundException
		if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "'[gone]'") {
			t.Errorf("error %v, want *types.LoadBalancerNotFoundException naming gone", err)
		}
	})
}

func TestDescribeListeners(t *testing.T) {
	s := start(t, account(), ec2sim.Options{})
	ctx := context.Background()
	tests := []struct {
		name    string
		in      elasticloadbalancingv2.DescribeListenersInput
		want    []string
		wantErr string
	}{
		{name: "LoadBalancerArn describes that load balancer's listeners",
			in:   elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(sensorsARN)},
			want: []string{vxlanARN, tcpUDPARN}},
		{name: "a load balancer with no listener has an empty list",
			in:   elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(inspectARN)},
			want: []string{}},
		{name: "ListenerArns describes those listeners",
			in:   elasticloadbalancingv2.DescribeListenersInput{ListenerArns: []string{httpsARN, vxlanARN}},
			want: []string{vxlanARN, httpsARN}},
		{name: "a LoadBalancerArn that names no load balancer is LoadBalancerNotFound",
			in:      elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(missingLB)},
			wantErr: elbv2sim.LoadBalancerNotFound},
		{name: "a listener ARN that names no listener is ListenerNotFound",
			in:      elasticloadbalancingv2.DescribeListenersInput{ListenerArns: []string{vxlanARN, missingLsnr}},
			wantErr: elbv2sim.ListenerNotFound},
		{name: "neither a load balancer nor listeners is a ValidationError",
			wantErr: elbv2sim.ValidationError},
		{name: "both a load balancer and listeners is a ValidationError",
			in:      elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(sensorsARN), ListenerArns: []string{vxlanARN}},
			wantErr: elbv2sim.ValidationError},
		{name: "a load balancer ARN given as a listener ARN is a ValidationError",
			in:      elasticloadbalancingv2.DescribeListenersInput{ListenerArns: []string{sensorsARN}},
			wantErr: elbv2sim.ValidationError},
		{name: "PageSize 401 is above the range 1-400",
			in:      elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(sensorsARN), PageSize: aws.Int32(401)},
			wantErr: elbv2sim.ValidationError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := listenersAsList(ctx, s.elbv2, &tc.in)
			if tc.wantErr != "" {
				if got := awserr.Code(err); got != tc.wantErr || status(err) != http.StatusBadRequest {
					t.Fatalf("error %v (HTTP %d), want %s with 400", err, status(err), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, listenerARNs(out)); diff != "" {
				t.Errorf("listeners (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("the NotFound codes decode as the SDK's typed errors", func(t *testing.T) {
		_, err := s.elbv2.DescribeListeners(ctx, &elasticloadbalancingv2.DescribeListenersInput{ListenerArns: []string{missingLsnr}})
		var lnf *elbv2types.ListenerNotFoundException
		if !errors.As(err, &lnf) {
			t.Errorf("error %v, want *types.ListenerNotFoundException", err)
		}
		_, err = s.elbv2.DescribeListeners(ctx, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(missingLB)})
		var lbnf *elbv2types.LoadBalancerNotFoundException
		if !errors.As(err, &lbnf) {
			t.Errorf("error %v, want *types.LoadBalancerNotFoundException", err)
		}
	})
}

// TestPaging follows NextMarker with the SDK's paginators.
func TestPaging(t *testing.T) {
	ctx := context.Background()
	many := account()
	for i := range 405 {
		arn := fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/lb%d/%016x", i, i)
		many.LoadBalancers = append(many.LoadBalancers, elbv2types.LoadBalancer{LoadBalancerArn: aws.String(arn)})
		many.Listeners = append(many.Listeners, elbv2types.Listener{ListenerArn: aws.String(fmt.Sprintf("%s-listener/%d", vxlanARN, i)), LoadBalancerArn: aws.String(sensorsARN)})
	}
	pages := func(t *testing.T, next func() (int, bool, error)) []int {
		t.Helper()
		var sizes []int
		for {
			n, more, err := next()
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, n)
			if !more {
				return sizes
			}
		}
	}

	t.Run("PageSize pages DescribeLoadBalancers and the paginator follows NextMarker", func(t *testing.T) {
		s := start(t, account(), ec2sim.Options{})
		p := elasticloadbalancingv2.NewDescribeLoadBalancersPaginator(s.elbv2, &elasticloadbalancingv2.DescribeLoadBalancersInput{PageSize: aws.Int32(2)})
		got := pages(t, func() (int, bool, error) {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, false, err
			}
			return len(out.LoadBalancers), p.HasMorePages(), nil
		})
		if diff := cmp.Diff([]int{2, 1}, got); diff != "" {
			t.Errorf("page sizes (-want +got):\n%s", diff)
		}
	})

	t.Run("without PageSize the pages hold 400", func(t *testing.T) {
		s := start(t, many, ec2sim.Options{})
		all, err := loadBalancersAsList(ctx, s.elbv2, &elasticloadbalancingv2.DescribeLoadBalancersInput{})
		if err != nil || len(all) != 408 || s.account.Calls()["DescribeLoadBalancers"] != 2 {
			t.Errorf("got %d load balancers in %d calls (%v), want 408 in 2", len(all), s.account.Calls()["DescribeLoadBalancers"], err)
		}
	})

	t.Run("the account's Options.PageSize pages a call that set no PageSize", func(t *testing.T) {
		s := start(t, many, ec2sim.Options{PageSize: 100})
		all, err := listenersAsList(ctx, s.elbv2, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(sensorsARN)})
		if err != nil || len(all) != 407 || s.account.Calls()["DescribeListeners"] != 5 {
			t.Errorf("got %d listeners in %d calls (%v), want 407 in 5", len(all), s.account.Calls()["DescribeListeners"], err)
		}
	})
}

// TestOneEndpointServesBothServices checks the dispatch on Version and that
// the account, its counters and its faults are one.
func TestOneEndpointServesBothServices(t *testing.T) {
	ctx := context.Background()

	t.Run("EC2 and ELBv2 clients of one endpoint each get their own service", func(t *testing.T) {
		s := start(t, account(), ec2sim.Options{})
		eps, err := s.ec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
		if err != nil || len(eps.VpcEndpoints) != 1 {
			t.Fatalf("EC2 DescribeVpcEndpoints: %v, %v", eps, err)
		}
		if _, err := s.elbv2.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{}); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"DescribeVpcEndpoints": 1, "DescribeLoadBalancers": 1}
		if diff := cmp.Diff(want, s.account.Calls()); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})

	t.Run("requests are recorded as the SDK serialized them", func(t *testing.T) {
		s := start(t, account(), ec2sim.Options{})
		if _, err := s.elbv2.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{sensorsARN}, PageSize: aws.Int32(5)}); err != nil {
			t.Fatal(err)
		}
		reqs := s.account.Requests("DescribeLoadBalancers")
		if len(reqs) != 1 || reqs[0].Params.Get("LoadBalancerArns.member.1") != sensorsARN ||
			reqs[0].Params.Get("PageSize") != "5" || reqs[0].Params.Get("Version") != elbv2sim.APIVersion {
			t.Errorf("recorded %+v, want one request with the ARN as LoadBalancerArns.member.1, PageSize 5 and Version %s", reqs, elbv2sim.APIVersion)
		}
	})

	t.Run("a scripted fault answers with its code and ELBv2's status", func(t *testing.T) {
		s := start(t, account(), ec2sim.Options{})
		s.account.InjectFault(ec2sim.Fault{Action: "DescribeListeners", Count: 1, Code: elbv2sim.Throttling, Message: "Rate exceeded"})
		_, err := s.elbv2.DescribeListeners(ctx, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(sensorsARN)})
		if awserr.Code(err) != elbv2sim.Throttling || status(err) != http.StatusBadRequest || !awserr.IsThrottling(err) {
			t.Errorf("error %v (HTTP %d), want Throttling with 400, seen as throttling", err, status(err))
		}
		if _, err := s.elbv2.DescribeListeners(ctx, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(sensorsARN)}); err != nil {
			t.Errorf("the fault fired twice: %v", err)
		}
	})

	t.Run("random server faults speak ELBv2: InternalFailure 500 and ServiceUnavailable 503", func(t *testing.T) {
		s := start(t, account(), ec2sim.Options{FaultRate: 1, Seed: 7})
		got := map[string]int{}
		for range 20 {
			_, err := s.elbv2.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{})
			got[fmt.Sprintf("%s %d", awserr.Code(err), status(err))]++
			var ae smithy.APIError
			if !errors.As(err, &ae) || !awserr.IsServerFault(err) {
				t.Fatalf("error %v, want a server fault", err)
			}
		}
		if got["InternalFailure 500"] == 0 || got["ServiceUnavailable 503"] == 0 || len(got) != 2 {
			t.Errorf("answers %v, want both InternalFailure 500 and ServiceUnavailable 503 and nothing else", got)
		}
	})

	t.Run("the SDK's standard retryer retries ELBv2's Throttling", func(t *testing.T) {
		retryer := func(o *elasticloadbalancingv2.Options) {
			o.RetryMaxAttempts = 0 // the retryer's own MaxAttempts, not start's 1
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 3
				so.RateLimiter = ratelimit.None
				so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		}
		s := start(t, account(), ec2sim.Options{}, retryer)
		s.account.InjectFault(ec2sim.Fault{Action: "DescribeLoadBalancers", Count: 2, Code: elbv2sim.Throttling})
		if _, err := s.elbv2.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{}); err != nil {
			t.Fatalf("after two throttles and a retryer of 3 attempts: %v", err)
		}
		if n := s.account.Calls()["DescribeLoadBalancers"]; n != 3 {
			t.Errorf("calls = %d, want 3", n)
		}
	})

	t.Run("Put changes the account and Reset restores the seed, for ELBv2 too", func(t *testing.T) {
		s := start(t, account(), ec2sim.Options{})
		added := elbv2types.LoadBalancer{LoadBalancerArn: aws.String(missingLB), LoadBalancerName: aws.String("gone")}
		s.account.Put(&snapshot.Snapshot{LoadBalancers: []elbv2types.LoadBalancer{added}})
		out, err := s.elbv2.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{Names: []string{"gone"}})
		if err != nil || len(out.LoadBalancers) != 1 {
			t.Fatalf("after Put: %v, %v", out, err)
		}
		s.account.Reset()
		if _, err := s.elbv2.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{Names: []string{"gone"}}); awserr.Code(err) != elbv2sim.LoadBalancerNotFound {
			t.Errorf("after Reset: %v, want LoadBalancerNotFound", err)
		}
	})

	t.Run("an action ELBv2 does not model is InvalidAction in ELBv2's error document", func(t *testing.T) {
		s := start(t, account(), ec2sim.Options{})
		resp, err := sdktest.HTTPClient().PostForm(s.url, url.Values{"Action": {"DescribeTargetGroups"}, "Version": {elbv2sim.APIVersion}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "<ErrorResponse") ||
			!strings.Contains(string(body), "<Type>Sender</Type><Code>InvalidAction</Code>") {
			t.Errorf("HTTP %d %s, want 400 with ELBv2's ErrorResponse of InvalidAction", resp.StatusCode, body)
		}
	})

	t.Run("an EC2 request is answered by EC2 with its body intact", func(t *testing.T) {
		s := start(t, account(), ec2sim.Options{})
		resp, err := sdktest.HTTPClient().PostForm(s.url, url.Values{"Action": {"DescribeLoadBalancers"}, "Version": {"2016-11-15"}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), "<Response><Errors><Error><Code>InvalidAction</Code>") {
			t.Errorf("HTTP %d %s, want EC2's InvalidAction: EC2 has no DescribeLoadBalancers", resp.StatusCode, body)
		}
	})
}

// TestThrottling checks ELBv2's bucket as AWS documents it: 40 Describe*
// calls, whichever the action, then Throttling (HTTP 400), 10 tokens back a
// second later; EC2's buckets are apart.
func TestThrottling(t *testing.T) {
	ctx := context.Background()
	clk := sdktest.NewClock(time.Unix(1_700_000_000, 0))
	s := start(t, account(), ec2sim.Options{Throttling: ec2sim.AWSThrottling(), Now: clk.Now})
	describe := func(i int) error {
		if i%2 == 0 {
			_, err := s.elbv2.DescribeLoadBalancers(ctx, &elasticloadbalancingv2.DescribeLoadBalancersInput{})
			return err
		}
		_, err := s.elbv2.DescribeListeners(ctx, &elasticloadbalancingv2.DescribeListenersInput{LoadBalancerArn: aws.String(sensorsARN)})
		return err
	}
	for i := range 40 {
		if err := describe(i); err != nil {
			t.Fatalf("call %d of the burst: %v", i+1, err)
		}
	}
	err := describe(40)
	if awserr.Code(err) != elbv2sim.Throttling || status(err) != http.StatusBadRequest {
		t.Fatalf("the 41st Describe*: %v (HTTP %d), want Throttling with 400", err, status(err))
	}
	if _, err := s.ec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{}); err != nil {
		t.Errorf("EC2 throttled by ELBv2's bucket: %v", err)
	}
	clk.Advance(time.Second)
	for i := range 10 {
		if err := describe(i); err != nil {
			t.Fatalf("call %d after a second's refill of 10: %v", i+1, err)
		}
	}
	if err := describe(10); awserr.Code(err) != elbv2sim.Throttling {
		t.Errorf("the 11th call after a second: %v, want Throttling", err)
	}
}

func TestNoThrottlingUnlessAsked(t *testing.T) {
	s := start(t, account(), ec2sim.Options{})
	for i := range 60 {
		if _, err := s.elbv2.DescribeLoadBalancers(context.Background(), &elasticloadbalancingv2.DescribeLoadBalancersInput{}); err != nil {
			t.Fatalf("call %d without Options.Throttling: %v", i+1, err)
		}
	}
}
