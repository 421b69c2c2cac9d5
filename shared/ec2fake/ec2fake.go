// Package ec2fake is the one behavioural fake of ec2api.API the step tests
// run against. It holds an account's resources in maps, answers Describe
// calls by honouring IDs, filters and MaxResults/NextToken paging the way EC2
// does, fails with EC2's own error codes as *smithy.GenericAPIError, records
// the sessions CreateTrafficMirrorSession makes (ClientToken included), and
// counts every call per action, so a test can check that a step calls only
// the EC2 actions its IAM role grants and how often.
//
// It is fed from an account snapshot (shared/snapshot), the same ec2types
// structs the EC2 simulator serves.
package ec2fake

import (
	"github.com/mirrorflow/mirrorflow/shared/snapshot"

	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// Action names, as EC2 and IAM spell them; Calls and FailNext take these.
const (
	DescribeInstances             = "DescribeInstances"
	DescribeInstanceTypes         = "DescribeInstanceTypes"
	DescribeNetworkInterfaces     = "DescribeNetworkInterfaces"
	DescribeSecurityGroups        = "DescribeSecurityGroups"
	DescribeNetworkAcls           = "DescribeNetworkAcls"
	DescribeSubnets               = "DescribeSubnets"
	DescribeTrafficMirrorTargets  = "DescribeTrafficMirrorTargets"
	DescribeTrafficMirrorSessions = "DescribeTrafficMirrorSessions"
	GetManagedPrefixListEntries   = "GetManagedPrefixListEntries"
	CreateTrafficMirrorSession    = "CreateTrafficMirrorSession"
)

// DefaultOwnerID is the account the fake's new sessions belong to.
const DefaultOwnerID = "123456789012"

// EC2 is the fake. The zero value is not usable; call New.
type EC2 struct {
	mu sync.Mutex

	// OwnerID is the account id given to created sessions.
	OwnerID string
	// PageSize, when positive, makes every Describe answer in pages of at
	// most this many items even when the caller sets no MaxResults, as EC2
	// may; tests use it to prove callers follow NextToken.
	PageSize int

	instances     map[string]ec2types.Instance
	reservationOf map[string]string
	instanceTypes map[string]ec2types.InstanceTypeInfo
	interfaces    map[string]ec2types.NetworkInterface
	groups        map[string]ec2types.SecurityGroup
	acls          map[string]ec2types.NetworkAcl
	subnets       map[string]ec2types.Subnet
	targets       map[string]ec2types.TrafficMirrorTarget
	filters       map[string]ec2types.TrafficMirrorFilter
	sessions      map[string]ec2types.TrafficMirrorSession
	prefixLists   map[string][]ec2types.PrefixListEntry

	tokens   map[string]clientToken
	calls    map[string]int
	requests map[string][]any
	failures map[string][]failure
	nextID   uint64
}

// clientToken remembers what a CreateTrafficMirrorSession ClientToken was
// first used for, so a retry returns the same session and a reuse with other
// parameters fails as EC2 fails it.
type clientToken struct {
	fingerprint string
	sessionID   string
}

type failure struct {
	remaining int
	code      string
	message   string
}

var _ ec2api.API = (*EC2)(nil)

// New returns an empty account.
func New() *EC2 {
	f := &EC2{OwnerID: DefaultOwnerID}
	f.clear()
	return f
}

func (f *EC2) clear() {
	f.instances = map[string]ec2types.Instance{}
	f.reservationOf = map[string]string{}
	f.instanceTypes = map[string]ec2types.InstanceTypeInfo{}
	f.interfaces = map[string]ec2types.NetworkInterface{}
	f.groups = map[string]ec2types.SecurityGroup{}
	f.acls = map[string]ec2types.NetworkAcl{}
	f.subnets = map[string]ec2types.Subnet{}
	f.targets = map[string]ec2types.TrafficMirrorTarget{}
	f.filters = map[string]ec2types.TrafficMirrorFilter{}
	f.sessions = map[string]ec2types.TrafficMirrorSession{}
	f.prefixLists = map[string][]ec2types.PrefixListEntry{}
	f.tokens = map[string]clientToken{}
	f.calls = map[string]int{}
	f.requests = map[string][]any{}
	f.failures = map[string][]failure{}
	f.nextID = 0
}

// Reset empties the account and forgets every call, request, client token
// and pending failure, so one fake can serve many table cases.
func (f *EC2) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clear()
}

// ResetCalls forgets the call counters and requests but keeps the account,
// so a test can look at one step's calls after setting up with others.
func (f *EC2) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = map[string]int{}
	f.requests = map[string][]any{}
}

// Calls is how many times action was called since the last Reset or
// ResetCalls, failed calls included: each was a request EC2 received.
func (f *EC2) Calls(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

// CallCounts returns every action called and how often, so a test can
// check that nothing outside a step's declared actions was called.
func (f *EC2) CallCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// Requests returns the inputs action was called with, in order (each a
// *ec2.<Action>Input), for tests that check how a step asked.
func (f *EC2) Requests(action string) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests[action])
}

// FailNext makes the next n calls of action fail with the EC2 error code
// (RequestLimitExceeded, InternalError, UnauthorizedOperation...). Failures
// queue: FailNext(a, 1, X) then FailNext(a, 2, Y) fails once with X, then
// twice with Y.
func (f *EC2) FailNext(action string, n int, code string) {
	f.FailNextWithMessage(action, n, code, "injected by ec2fake")
}

// FailNextWithMessage is FailNext with the message EC2 would send.
func (f *EC2) FailNextWithMessage(action string, n int, code, message string) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[action] = append(f.failures[action], failure{remaining: n, code: code, message: message})
}

// Load adds the snapshot's resources to the account, replacing any with the
// same id. The snapshot's Config is the caller's to use.
func (f *EC2) Load(s *snapshot.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range s.Reservations {
		for _, inst := range r.Instances {
			id := deref(inst.InstanceId)
			f.instances[id] = inst
			f.reservationOf[id] = deref(r.ReservationId)
		}
	}
	for _, t := range s.InstanceTypes {
		f.instanceTypes[string(t.InstanceType)] = t
	}
	putAll(f.interfaces, s.NetworkInterfaces, func(v ec2types.NetworkInterface) *string { return v.NetworkInterfaceId })
	putAll(f.groups, s.SecurityGroups, func(v ec2types.SecurityGroup) *string { return v.GroupId })
	putAll(f.acls, s.NetworkAcls, func(v ec2types.NetworkAcl) *string { return v.NetworkAclId })
	putAll(f.subnets, s.Subnets, func(v ec2types.Subnet) *string { return v.SubnetId })
	putAll(f.targets, s.TrafficMirrorTargets, func(v ec2types.TrafficMirrorTarget) *string { return v.TrafficMirrorTargetId })
	putAll(f.filters, s.TrafficMirrorFilters, func(v ec2types.TrafficMirrorFilter) *string { return v.TrafficMirrorFilterId })
	putAll(f.sessions, s.TrafficMirrorSessions, func(v ec2types.TrafficMirrorSession) *string { return v.TrafficMirrorSessionId })
	for _, pl := range s.ManagedPrefixLists {
		if _, ok := f.prefixLists[deref(pl.PrefixListId)]; !ok {
			f.prefixLists[deref(pl.PrefixListId)] = nil
		}
	}
	for id, entries := range s.PrefixListEntries {
		f.prefixLists[id] = slices.Clone(entries)
	}
}

// AddInstances adds instances, each in a reservation of its own.
func (f *EC2) AddInstances(instances ...ec2types.Instance) {
	for _, inst := range instances {
		rid := "r-" + deref(inst.InstanceId)
		f.Load(&snapshot.Snapshot{Reservations: []ec2types.Reservation{{ReservationId: &rid, Instances: []ec2types.Instance{inst}}}})
	}
}

// AddNetworkInterfaces adds network interfaces.
func (f *EC2) AddNetworkInterfaces(v ...ec2types.NetworkInterface) {
	f.Load(&snapshot.Snapshot{NetworkInterfaces: v})
}

// AddSecurityGroups adds security groups.
func (f *EC2) AddSecurityGroups(v ...ec2types.SecurityGroup) {
	f.Load(&snapshot.Snapshot{SecurityGroups: v})
}

// AddNetworkACLs adds network ACLs.
func (f *EC2) AddNetworkACLs(v ...ec2types.NetworkAcl) { f.Load(&snapshot.Snapshot{NetworkAcls: v}) }

// AddSubnets adds subnets.
func (f *EC2) AddSubnets(v ...ec2types.Subnet) { f.Load(&snapshot.Snapshot{Subnets: v}) }

// AddTrafficMirrorTargets adds traffic mirror targets.
func (f *EC2) AddTrafficMirrorTargets(v ...ec2types.TrafficMirrorTarget) {
	f.Load(&snapshot.Snapshot{TrafficMirrorTargets: v})
}

// AddTrafficMirrorFilters adds traffic mirror filters; CreateTrafficMirrorSession
// refuses a filter id the account does not hold.
func (f *EC2) AddTrafficMirrorFilters(v ...ec2types.TrafficMirrorFilter) {
	f.Load(&snapshot.Snapshot{TrafficMirrorFilters: v})
}

// AddTrafficMirrorSessions adds existing sessions.
func (f *EC2) AddTrafficMirrorSessions(v ...ec2types.TrafficMirrorSession) {
	f.Load(&snapshot.Snapshot{TrafficMirrorSessions: v})
}

// AddPrefixList adds a managed prefix list with its CIDRs.
func (f *EC2) AddPrefixList(id string, cidrs ...string) {
	entries := make([]ec2types.PrefixListEntry, len(cidrs))
	for i := range cidrs {
		entries[i] = ec2types.PrefixListEntry{Cidr: &cidrs[i]}
	}
	f.Load(&snapshot.Snapshot{PrefixListEntries: map[string][]ec2types.PrefixListEntry{id: entries}})
}

// Sessions returns the account's traffic mirror sessions, sorted by id.
func (f *EC2) Sessions() []ec2types.TrafficMirrorSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sortedValues(f.sessions)
}

// Session returns one session by id.
func (f *EC2) Session(id string) (ec2types.TrafficMirrorSession, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	return s, ok
}

// begin records a call of action and returns the error the call must fail
// with, if any: a cancelled context, an injected failure, or DryRunOperation
// for a Describe asked to dry-run. The caller holds f.mu.
func (f *EC2) begin(ctx context.Context, action string, in any, dryRun *bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("calling %s: %w", action, err)
	}
	f.calls[action]++
	f.requests[action] = append(f.requests[action], in)
	if q := f.failures[action]; len(q) > 0 {
		head := &q[0]
		head.remaining--
		code, msg := head.code, head.message
		if head.remaining == 0 {
			f.failures[action] = q[1:]
		}
		return apiError(code, "%s", msg)
	}
	if dryRun != nil && *dryRun && action != CreateTrafficMirrorSession {
		return apiError(CodeDryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	}
	return nil
}

func putAll[T any](m map[string]T, items []T, id func(T) *string) {
	for _, v := range items {
		m[deref(id(v))] = v
	}
}

func sortedValues[T any](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Compile-time check that the SDK's paginators accept the fake.
var _ ec2.DescribeInstancesAPIClient = (*EC2)(nil)
