package snapshot_test

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/elbv2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
)

// takeFrom serves seed from the simulators on loopback and takes a
// snapshot of it through real SDK clients.
func takeFrom(t *testing.T, seed *snapshot.Snapshot, opts ec2sim.Options) (*snapshot.Snapshot, *ec2sim.Sim) {
	t.Helper()
	account := ec2sim.New(seed, opts)
	sim := elbv2sim.New(account)
	endpoint, err := sim.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	// Retries off, so a call the simulator refuses fails the test; the
	// buffering client keeps the SDK's body close from racing the write.
	httpClient := sdktest.HTTPClient()
	api := ec2sim.NewClient(endpoint, func(o *ec2.Options) { o.HTTPClient = httpClient; o.RetryMaxAttempts = 1 })
	lb := elbv2sim.NewClient(endpoint, func(o *elasticloadbalancingv2.Options) { o.HTTPClient = httpClient; o.RetryMaxAttempts = 1 })
	got, err := snapshot.Take(t.Context(), api, lb)
	if err != nil {
		t.Fatalf("taking the snapshot: %v", err)
	}
	return got, account
}

func loadTestdata(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.Load(filepath.Join("..", "..", "testdata", "snapshots", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTakeReadsTheWholeAccount takes each repository snapshot back from the
// simulator seeded with it: EC2's own kinds come back whole, and the rest
// as far as the account's instances, rules and targets name them.
func TestTakeReadsTheWholeAccount(t *testing.T) {
	for _, name := range []string{"scoped.json", "three-zones.json", "sg-blocked.json", "full-sensor.json", "nacl-deny.json"} {
		for _, pageSize := range []int{0, 1} {
			t.Run(name+" in pages of "+map[int]string{0: "EC2's size", 1: "one"}[pageSize], func(t *testing.T) {
				seed := loadTestdata(t, name)
				got, sim := takeFrom(t, seed, ec2sim.Options{PageSize: pageSize})
				want := expectedTake(seed)
				opt := sdktest.IgnoreUnexported(*want)
				if diff := cmp.Diff(want, got, opt); diff != "" {
					t.Errorf("the snapshot taken differs from the account (-account +taken):\n%s", diff)
				}
				for action := range sim.Calls() {
					if !strings.HasPrefix(action, "Describe") && !strings.HasPrefix(action, "Get") {
						t.Errorf("Take called %s, want only Describe and Get calls", action)
					}
				}
			})
		}
	}
}

// expectedTake is what Take must read from an account seeded with seed:
// every instance, interface, group, ACL, subnet and traffic mirror resource
// as seeded; the instance types in use; the prefix lists rules name; the
// endpoints and load balancers (with their listeners) targets name.
func expectedTake(seed *snapshot.Snapshot) *snapshot.Snapshot {
	want := &snapshot.Snapshot{
		Reservations: seed.Reservations, NetworkInterfaces: seed.NetworkInterfaces, SecurityGroups: seed.SecurityGroups,
		NetworkAcls: seed.NetworkAcls, Subnets: seed.Subnets, TrafficMirrorTargets: seed.TrafficMirrorTargets,
		TrafficMirrorFilters: seed.TrafficMirrorFilters, TrafficMirrorSessions: seed.TrafficMirrorSessions,
	}
	// A type the seed does not list is described from its instance's Hypervisor.
	used := map[ec2types.InstanceType]ec2types.InstanceTypeInfo{}
	for _, r := range seed.Reservations {
		for _, i := range r.Instances {
			used[i.InstanceType] = ec2types.InstanceTypeInfo{InstanceType: i.InstanceType, Hypervisor: ec2types.InstanceTypeHypervisor(i.Hypervisor)}
		}
	}
	for _, it := range seed.InstanceTypes {
		if _, ok := used[it.InstanceType]; ok {
			used[it.InstanceType] = it
		}
	}
	for _, name := range slices.Sorted(func(yield func(ec2types.InstanceType) bool) {
		for k := range used {
			if !yield(k) {
				return
			}
		}
	}) {
		want.InstanceTypes = append(want.InstanceTypes, used[name])
	}
	named := map[string]bool{}
	for _, g := range seed.SecurityGroups {
		for _, p := range slices.Concat(g.IpPermissions, g.IpPermissionsEgress) {
			for _, pl := range p.PrefixListIds {
				named[aws.ToString(pl.PrefixListId)] = true
			}
		}
	}
	for _, pl := range seed.ManagedPrefixLists {
		if id := aws.ToString(pl.PrefixListId); named[id] {
			want.ManagedPrefixLists = append(want.ManagedPrefixLists, pl)
			if want.PrefixListEntries == nil {
				want.PrefixListEntries = map[string][]ec2types.PrefixListEntry{}
			}
			want.PrefixListEntries[id] = seed.PrefixListEntries[id]
		}
	}
	pointees := map[string]bool{}
	for _, tg := range seed.TrafficMirrorTargets {
		pointees[aws.ToString(tg.GatewayLoadBalancerEndpointId)] = true
		pointees[aws.ToString(tg.NetworkLoadBalancerArn)] = true
	}
	for _, e := range seed.VPCEndpoints {
		if pointees[aws.ToString(e.VpcEndpointId)] {
			want.VPCEndpoints = append(want.VPCEndpoints, e)
		}
	}
	for _, b := range seed.LoadBalancers {
		if pointees[aws.ToString(b.LoadBalancerArn)] {
			want.LoadBalancers = append(want.LoadBalancers, b)
		}
	}
	for _, l := range seed.Listeners {
		if pointees[aws.ToString(l.LoadBalancerArn)] {
			want.Listeners = append(want.Listeners, l)
		}
	}
	if len(want.TrafficMirrorSessions) == 0 {
		want.TrafficMirrorSessions = nil
	}
	return want
}

// TestTakeLeavesOutWhatNothingNames adds to scoped.json a load balancer,
// a listener, an endpoint and a prefix list that no target or rule names,
// and an instance type no instance is of: none of them is read.
func TestTakeLeavesOutWhatNothingNames(t *testing.T) {
	seed := loadTestdata(t, "scoped.json")
	const strayLB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/web/0123456789abcdef"
	seed.LoadBalancers = append(seed.LoadBalancers, elbv2types.LoadBalancer{
		LoadBalancerArn: aws.String(strayLB), LoadBalancerName: aws.String("web"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
	})
	seed.Listeners = append(seed.Listeners, elbv2types.Listener{
		ListenerArn:     aws.String(strings.Replace(strayLB, ":loadbalancer/", ":listener/", 1) + "/0123456789abcdef"),
		LoadBalancerArn: aws.String(strayLB), Port: aws.Int32(443), Protocol: elbv2types.ProtocolEnumTcp,
	})
	seed.VPCEndpoints = append(seed.VPCEndpoints, ec2types.VpcEndpoint{VpcEndpointId: aws.String("vpce-0123456789abcdef0"), VpcEndpointType: ec2types.VpcEndpointTypeInterface})
	seed.ManagedPrefixLists = append(seed.ManagedPrefixLists, ec2types.ManagedPrefixList{PrefixListId: aws.String("pl-0123456789abcdef0")})
	seed.InstanceTypes = append(seed.InstanceTypes, ec2types.InstanceTypeInfo{InstanceType: "x2iedn.metal", Hypervisor: ""})

	got, _ := takeFrom(t, seed, ec2sim.Options{})
	if len(got.LoadBalancers) != 2 || len(got.Listeners) != 2 || len(got.VPCEndpoints) != 1 || len(got.ManagedPrefixLists) != 0 {
		t.Errorf("read %d load balancers, %d listeners, %d endpoints, %d prefix lists; want the 2, 2, 1 and 0 that targets and rules name",
			len(got.LoadBalancers), len(got.Listeners), len(got.VPCEndpoints), len(got.ManagedPrefixLists))
	}
	for _, it := range got.InstanceTypes {
		if it.InstanceType == "x2iedn.metal" {
			t.Errorf("read instance type %s, which no instance is of", it.InstanceType)
		}
	}
}

// TestTakeCallsNoELBv2WithoutLoadBalancerTargets keeps an account without
// Network Load Balancer targets from needing an ELBv2 permission.
func TestTakeCallsNoELBv2WithoutLoadBalancerTargets(t *testing.T) {
	_, sim := takeFrom(t, loadTestdata(t, "three-zones.json"), ec2sim.Options{})
	for _, action := range []string{"DescribeLoadBalancers", "DescribeListeners", "DescribeVpcEndpoints", "DescribeManagedPrefixLists"} {
		if n := sim.Calls()[action]; n != 0 {
			t.Errorf("%s called %d times for an account whose targets and rules name none", action, n)
		}
	}
}

// TestTakeInterfacesAreReadOnly: every method the clients must have is a
// Describe or a Get, so no Take can change an account.
func TestTakeInterfacesAreReadOnly(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[snapshot.EC2](), reflect.TypeFor[snapshot.ELBv2]()} {
		if typ.NumMethod() == 0 {
			t.Fatalf("%s has no methods; the check would prove nothing", typ)
		}
		for i := range typ.NumMethod() {
			if m := typ.Method(i).Name; !strings.HasPrefix(m, "Describe") && !strings.HasPrefix(m, "Get") {
				t.Errorf("%s holds %s, which is neither a Describe nor a Get", typ, m)
			}
		}
	}
}
