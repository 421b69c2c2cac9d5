// Package ec2account gives a test an EC2 account to run against: the EC2
// simulator seeded from a snapshot, served on loopback with the ELBv2 model
// of the same account, and real *ec2.Client and *elasticloadbalancingv2.Client
// pointed at it. The simulator is the project's one model of
// EC2, so a step test judged here is judged by the real SDK's serializers
// and deserializers, as the deployed Lambda is.
package ec2account

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/elbv2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
)

// Account is a simulated account and a client of it. The simulator's
// methods (Calls, Requests, ResetCalls, Put, InjectFault, Sessions) are
// promoted.
type Account struct {
	*ec2sim.Sim
	// Client is a real EC2 client of the simulator, with the SDK's retries
	// off: an injected throttle or fault reaches the caller on the first
	// answer, and every call a test counts is one request.
	Client *ec2.Client
	// ELBv2 is a real Elastic Load Balancing client of the same account,
	// likewise without retries.
	ELBv2 *elasticloadbalancingv2.Client
}

// Start seeds a simulator with snap and opts, with every request recorded,
// serves it until the test ends, and returns it with a client. optFns change
// the client (a retryer of the test's own, say).
func Start(t testing.TB, snap *snapshot.Snapshot, opts ec2sim.Options, optFns ...func(*ec2.Options)) *Account {
	t.Helper()
	opts.RecordRequests = true
	sim := ec2sim.New(snap, opts)
	both := elbv2sim.New(sim)
	ctx, cancel := context.WithCancel(context.Background())
	endpoint, err := both.Start(ctx)
	if err != nil {
		cancel()
		t.Fatalf("starting the EC2 simulator: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := both.Close(); err != nil {
			t.Errorf("closing the EC2 simulator: %v", err)
		}
	})
	base := func(o *ec2.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = sdktest.HTTPClient()
	}
	lb := elbv2sim.NewClient(endpoint, func(o *elasticloadbalancingv2.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = sdktest.HTTPClient()
	})
	return &Account{Sim: sim, Client: ec2sim.NewClient(endpoint, append([]func(*ec2.Options){base}, optFns...)...), ELBv2: lb}
}

// Session returns the account's session id, if it has one.
func (a *Account) Session(id string) (ec2types.TrafficMirrorSession, bool) {
	for _, s := range a.Sessions() {
		if aws.ToString(s.TrafficMirrorSessionId) == id {
			return s, true
		}
	}
	return ec2types.TrafficMirrorSession{}, false
}

// Example returns one of the repository's example accounts,
// testdata/snapshots/<name>, wherever the test runs from. Each is read once
// per test binary; every call returns a copy of its own to change.
func Example(t testing.TB, name string) *snapshot.Snapshot {
	t.Helper()
	read, _ := examples.LoadOrStore(name, sync.OnceValues(func() (*snapshot.Snapshot, error) {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return nil, errors.New("finding the repository: no caller information")
		}
		return snapshot.Load(filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "snapshots", name))
	}))
	snap, err := read.(func() (*snapshot.Snapshot, error))()
	if err != nil {
		t.Fatalf("loading example account %s: %v", name, err)
	}
	return snap.Clone()
}

// examples holds each example account's one read, by file name.
var examples sync.Map

// AddInstances adds running-or-not instances, each in a reservation of its own.
func (a *Account) AddInstances(instances ...ec2types.Instance) {
	add := &snapshot.Snapshot{}
	for _, inst := range instances {
		add.Reservations = append(add.Reservations, ec2types.Reservation{
			ReservationId: aws.String("r-" + aws.ToString(inst.InstanceId)),
			Instances:     []ec2types.Instance{inst},
		})
	}
	a.Put(add)
}

// AddNetworkInterfaces adds network interfaces, or replaces them by id.
func (a *Account) AddNetworkInterfaces(v ...ec2types.NetworkInterface) {
	a.Put(&snapshot.Snapshot{NetworkInterfaces: v})
}

// AddSecurityGroups adds security groups, or replaces them by id.
func (a *Account) AddSecurityGroups(v ...ec2types.SecurityGroup) {
	a.Put(&snapshot.Snapshot{SecurityGroups: v})
}

// AddNetworkACLs adds network ACLs, or replaces them by id.
func (a *Account) AddNetworkACLs(v ...ec2types.NetworkAcl) {
	a.Put(&snapshot.Snapshot{NetworkAcls: v})
}

// AddTrafficMirrorTargets adds traffic mirror targets, or replaces them by id.
func (a *Account) AddTrafficMirrorTargets(v ...ec2types.TrafficMirrorTarget) {
	a.Put(&snapshot.Snapshot{TrafficMirrorTargets: v})
}

// AddTrafficMirrorSessions adds sessions as they would be after someone
// made them, or replaces them by id.
func (a *Account) AddTrafficMirrorSessions(v ...ec2types.TrafficMirrorSession) {
	a.Put(&snapshot.Snapshot{TrafficMirrorSessions: v})
}

// AddPrefixList adds a managed prefix list with its CIDRs.
func (a *Account) AddPrefixList(id string, cidrs ...string) {
	entries := make([]ec2types.PrefixListEntry, len(cidrs))
	for i := range cidrs {
		entries[i] = ec2types.PrefixListEntry{Cidr: aws.String(cidrs[i])}
	}
	a.Put(&snapshot.Snapshot{
		ManagedPrefixLists: []ec2types.ManagedPrefixList{{PrefixListId: aws.String(id)}},
		PrefixListEntries:  map[string][]ec2types.PrefixListEntry{id: entries},
	})
}
