// Package ec2sim is a simulator of the EC2 Query API, seeded from an
// account snapshot, that a real *ec2.Client talks to over HTTP on loopback.
// It is mirrorflow's one model of EC2: the step tests, mirrorctl plan and
// the offline runs all use it, so nothing can pass against a second model
// that the real SDK would fail. Unlike a fake behind the ec2api interface,
// it exercises what only the wire shows: the SDK's serialization, its XML
// deserializer, its paginators, its error codes and its standard retryer
// against throttling and 5xx answers.
//
// It answers the actions mirrorflow calls (ec2api.API) plus CreateTags,
// DeleteTags, DescribeTrafficMirrorFilters and DescribeManagedPrefixLists
// (which mirrorctl snapshot --live reads), keeps what the workflow and
// mirrorctl change (sessions, tags), and enforces AWS's Traffic Mirroring
// quotas with AWS's codes. For tests it records requests, fails chosen
// calls, pages on demand and takes changes to the account (Options,
// InjectFault, Put).
package ec2sim

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// Options shape one run of the simulator. The zero value answers every call
// at once and never fails one that is valid.
type Options struct {
	// Throttling turns on EC2's per-action token buckets; nil never throttles.
	Throttling *Throttling
	// FaultRate is the probability, in [0, 1], that a call is answered with
	// InternalError (HTTP 500) or Unavailable (HTTP 503) instead.
	FaultRate float64
	// Seed seeds the injected faults and the generated ids, so that a run
	// repeats exactly.
	Seed int64
	// Faults fail the next calls of an action, in order, before FaultRate applies.
	Faults []Fault
	// Latency is added before every answer.
	Latency time.Duration
	// Now is the clock of the token buckets; nil is time.Now.
	Now func() time.Time
	// PageSize, when positive, answers every Describe in pages of at most
	// this many items even when the caller sets no MaxResults. EC2 pages by
	// its own size when MaxResults is absent; a small one lets a test prove
	// that a caller follows NextToken with the few resources it holds.
	PageSize int
	// RecordRequests keeps every request's parameters for Requests, so a
	// test can check what went over the wire (a ClientToken, DryRun, the
	// filter values). Off by default: a burst makes tens of thousands.
	RecordRequests bool
}

// Fault makes the next Count calls of Action fail with Code (an EC2 error
// code; its HTTP status follows EC2's: 503 for RequestLimitExceeded and
// Unavailable, 500 for InternalError, 400 otherwise). Faults of one action
// fire in the order they were given.
type Fault struct {
	Action string
	Count  int
	Code   string
	// Message is the error's message; empty says the fault was injected.
	Message string
}

// Request is one request the simulator received: its action and its
// form-encoded parameters as the SDK serialized them (Filter.1.Name,
// ClientToken, DryRun...).
type Request struct {
	Action string
	Params url.Values
}

// Sim is the simulated EC2 endpoint. It is safe for concurrent use.
type Sim struct {
	seed *snapshot.Snapshot
	opts Options

	mu    sync.Mutex
	state *snapshot.Snapshot
	calls map[string]int
	// throttled counts, per action, the calls its token bucket refused.
	throttled map[string]int
	log       []Request
	faults    []Fault
	buckets   map[string]*bucket
	// rng is math/rand on purpose: a seeded run must repeat its faults and
	// ids exactly; nothing it makes is a secret.
	rng     *rand.Rand
	tokens  map[string]idempotent
	ownerID string
	// server serves the simulator once Listen is called.
	server   Server
	requests atomic.Uint64
}

// idempotent remembers a CreateTrafficMirrorSession ClientToken: the
// parameters it came with and the session it made.
type idempotent struct {
	params    string
	sessionID string
}

type handler func(s *Sim, r request) (any, *apiError)

// handlers are the actions the simulator answers; any other is InvalidAction.
var handlers = map[string]handler{
	"DescribeInstances":             (*Sim).describeInstances,
	"DescribeInstanceTypes":         (*Sim).describeInstanceTypes,
	"DescribeNetworkInterfaces":     (*Sim).describeNetworkInterfaces,
	"DescribeSecurityGroups":        (*Sim).describeSecurityGroups,
	"DescribeNetworkAcls":           (*Sim).describeNetworkACLs,
	"DescribeSubnets":               (*Sim).describeSubnets,
	"DescribeTrafficMirrorTargets":  (*Sim).describeTrafficMirrorTargets,
	"DescribeTrafficMirrorFilters":  (*Sim).describeTrafficMirrorFilters,
	"DescribeTrafficMirrorSessions": (*Sim).describeTrafficMirrorSessions,
	"DescribeManagedPrefixLists":    (*Sim).describeManagedPrefixLists,
	"GetManagedPrefixListEntries":   (*Sim).getManagedPrefixListEntries,
	"DescribeVpcEndpoints":          (*Sim).describeVPCEndpoints,
	"CreateTrafficMirrorSession":    (*Sim).createTrafficMirrorSession,
	"DeleteTrafficMirrorSession":    (*Sim).deleteTrafficMirrorSession,
	"CreateTags":                    (*Sim).createTags,
	"DeleteTags":                    (*Sim).deleteTags,
}

// New returns a simulator seeded with a copy of snap; snap itself is never changed.
func New(snap *snapshot.Snapshot, opts Options) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{seed: snap.Clone(), opts: opts}
	s.reset()
	return s
}

// Reset restores the snapshot's state and the options' faults, and clears
// the call counters, the token buckets and the remembered client tokens.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Sim) reset() {
	s.state = s.seed.Clone()
	s.calls = map[string]int{}
	s.throttled = map[string]int{}
	s.log = nil
	s.faults = append([]Fault(nil), s.opts.Faults...)
	s.buckets = map[string]*bucket{}
	s.rng = rand.New(rand.NewSource(s.opts.Seed))
	s.tokens = map[string]idempotent{}
	s.ownerID = accountOf(s.state)
}

// accountOf is the account that owns the snapshot's resources, so new
// sessions carry the same OwnerId.
func accountOf(snap *snapshot.Snapshot) string {
	for _, r := range snap.Reservations {
		if r.OwnerId != nil {
			return *r.OwnerId
		}
	}
	for _, n := range snap.NetworkInterfaces {
		if n.OwnerId != nil {
			return *n.OwnerId
		}
	}
	return "123456789012"
}

// Put adds snap's resources to the account, replacing those with the same
// id, as if the account had changed under the workflow (a security group
// edited, a session made by another execution). Reset goes back to the seed.
func (s *Sim) Put(snap *snapshot.Snapshot) {
	add := snap.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Merge(add)
}

// InjectFault adds f to the faults still to fire.
func (s *Sim) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Calls returns how many requests each action received, including those
// answered with an error.
func (s *Sim) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls forgets the call counters and the recorded requests but keeps
// the account, so a test can look at one step's calls after setting up with
// others.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.throttled = map[string]int{}
	s.log = nil
}

// Throttled returns, per action, how many of its calls the token buckets
// refused with RequestLimitExceeded (counted in Calls too).
func (s *Sim) Throttled() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.throttled)
}

// Requests returns, in the order they arrived, the requests of action since
// the last Reset or ResetCalls; every action's when action is empty. Only
// with Options.RecordRequests.
func (s *Sim) Requests(action string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.log {
		if action == "" || r.Action == action {
			out = append(out, Request{Action: r.Action, Params: maps.Clone(r.Params)})
		}
	}
	return out
}

// Sessions returns every traffic mirror session, seeded and created, by id.
func (s *Sim) Sessions() []ec2types.TrafficMirrorSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]ec2types.TrafficMirrorSession(nil), s.state.TrafficMirrorSessions...)
	sort.Slice(out, func(i, j int) bool {
		return deref(out[i].TrafficMirrorSessionId) < deref(out[j].TrafficMirrorSessionId)
	})
	return out
}

// Start serves the simulator on a free loopback port until ctx ends or
// Close is called, and returns its endpoint URL (for BaseEndpoint or
// AWS_ENDPOINT_URL_EC2).
func (s *Sim) Start(ctx context.Context) (string, error) {
	return s.Listen(ctx, "127.0.0.1:0")
}

// Listen is Start on a given address.
func (s *Sim) Listen(ctx context.Context, addr string) (string, error) {
	return s.server.Listen(ctx, addr, s)
}

// Close stops serving; after the context given to Start ends it has
// nothing left to do.
func (s *Sim) Close() error {
	if err := s.server.Close(); err != nil {
		return fmt.Errorf("closing the EC2 simulator: %w", err)
	}
	return nil
}

// ServeHTTP answers one EC2 Query API request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	requestID := s.requestID()
	if err := hr.ParseForm(); err != nil {
		writeError(w, requestID, errorf(awserr.MalformedQueryString, "The query string could not be parsed: %v", err))
		return
	}
	r := request{action: hr.Form.Get("Action"), form: hr.Form}
	if r.action == "" {
		writeError(w, requestID, errorf(awserr.MissingAction, "The request must contain the parameter Action"))
		return
	}
	if s.opts.Latency > 0 {
		select {
		case <-time.After(s.opts.Latency):
		case <-hr.Context().Done():
			return
		}
	}
	out, aerr := s.handle(r)
	if aerr != nil {
		writeError(w, requestID, aerr)
		return
	}
	body := encodeResponse(r.action, requestID, out)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Amzn-Requestid", requestID)
	_, _ = w.Write(body)
}

func (s *Sim) handle(r request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[r.action]++
	if s.opts.RecordRequests {
		s.log = append(s.log, Request{Action: r.action, Params: maps.Clone(r.form)})
	}
	h, ok := handlers[r.action]
	if !ok {
		return nil, errorf(awserr.InvalidAction, "The action %s is not valid for this web service.", r.action)
	}
	if !s.take(r.action) {
		s.throttled[r.action]++
		return nil, errorf(awserr.RequestLimitExceeded, "Request limit exceeded.")
	}
	if aerr := s.fault(r.action); aerr != nil {
		return nil, aerr
	}
	if readOnly(r.action) {
		// A Describe asked to dry-run only checks permissions, which the
		// simulator grants; the actions that change something validate
		// their parameters first and answer DryRunOperation themselves.
		if dry, aerr := r.boolean("DryRun"); aerr != nil {
			return nil, aerr
		} else if dry {
			return nil, errorf(awserr.DryRunOperation, "Request would have succeeded, but DryRun flag is set.")
		}
	}
	return h(s, r)
}

// readOnly reports whether action only reads, as EC2's Describe and Get
// actions do.
func readOnly(action string) bool {
	return strings.HasPrefix(action, "Describe") || strings.HasPrefix(action, "Get")
}

// fault fires the first scripted fault for action, else one at FaultRate.
func (s *Sim) fault(action string) *apiError {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Action != action || f.Count <= 0 {
			continue
		}
		f.Count--
		if f.Message != "" {
			return errorf(f.Code, "%s", f.Message)
		}
		return errorf(f.Code, "Injected fault: %s for %s.", f.Code, action)
	}
	if s.opts.FaultRate > 0 && s.rng.Float64() < s.opts.FaultRate {
		if s.rng.Intn(2) == 0 {
			return errorf(awserr.InternalError, "An internal error has occurred.")
		}
		return errorf(awserr.Unavailable, "The server is overloaded and can't handle the request.")
	}
	return nil
}

// requestID numbers requests in a UUID's shape; it draws nothing from the
// seeded generator, so the faults of a run do not depend on how many
// requests it made.
func (s *Sim) requestID() string {
	n := s.requests.Add(1)
	// The first group shows the seed's low 32 bits, masked before narrowing.
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(s.opts.Seed&math.MaxUint32), n)
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(e.Status)
	_, _ = w.Write(encodeError(e, requestID))
}
