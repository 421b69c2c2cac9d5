package ec2sim

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/url"
	"reflect"
	"time"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

// This file is what the simulator shares with the models of the other AWS
// Query services answered on its endpoint from the same account (package
// elbv2sim answers ELBv2 from the snapshot's LoadBalancers and Listeners).
// Each service keeps its own model, wire envelope and error codes; what is
// the account's (its state, call counters, recorded requests, faults,
// latency, token buckets, request ids) stays here, so a test reads one
// account's calls in one place and Reset restores every service at once.

// Call is one request of another service, as Serve runs it.
type Call struct {
	// Action keys Calls, Requests and Faults as an EC2 action does, so it
	// must not be one of EC2's (ELBv2's DescribeLoadBalancers and
	// DescribeListeners are not).
	Action string
	// Params are the request's form-encoded parameters, recorded for Requests.
	Params url.Values
	// BucketName names the token bucket the call spends one token of, and
	// Bucket sizes it when the simulator throttles (Options.Throttling is
	// set); calls naming one bucket share it. An empty BucketName is never
	// throttled.
	BucketName string
	Bucket     Bucket
}

// ErrThrottled is Serve's answer when the call's bucket is empty; the
// service answers it with its own throttling code.
var ErrThrottled = errors.New("request rate exceeded")

// FiredFault is a fault Serve fired for a call: Code is the one a test
// scripted (Options.Faults, InjectFault) or, at Options.FaultRate, EC2's
// InternalError or Unavailable, which the service answers with its own
// server codes.
type FiredFault struct {
	Code, Message string
}

func (f *FiredFault) Error() string { return f.Code + ": " + f.Message }

// Serve runs c as the simulator runs an EC2 action: after Options.Latency
// (or ctx's end), it counts the call, records it, spends a token of its
// bucket, fires its fault, and otherwise returns what answer returns for the
// account as it is now. answer runs under the simulator's lock, so it sees
// no change half made; it must not keep the snapshot.
func (s *Sim) Serve(ctx context.Context, c Call, answer func(account *snapshot.Snapshot) (any, error)) (any, error) {
	if err := sleep(ctx, s.opts.Latency); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[c.Action]++
	if s.opts.RecordRequests {
		s.log = append(s.log, Request{Action: c.Action, Params: maps.Clone(c.Params)})
	}
	if c.BucketName != "" {
		if _, ok := s.buckets[c.BucketName]; !ok {
			// take sizes a bucket it has not seen by EC2's rules; a service's
			// own bucket is sized here first.
			s.buckets[c.BucketName] = &bucket{spec: c.Bucket, tokens: c.Bucket.Size, at: s.opts.Now()}
		}
		if !s.take(c.BucketName) {
			s.throttled[c.Action]++
			return nil, ErrThrottled
		}
	}
	if aerr := s.fault(c.Action); aerr != nil {
		return nil, &FiredFault{Code: aerr.Code, Message: aerr.Message}
	}
	return answer(s.state)
}

// sleep waits d, or less when ctx ends first (the client gave up).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RequestID numbers a request of another service in the sequence EC2's
// answers are numbered in.
func (s *Sim) RequestID() string { return s.requestID() }

// PageSize is Options.PageSize, which pages another service's Describe too
// when its caller sets no page size.
func (s *Sim) PageSize() int { return s.opts.PageSize }

// EncodeXML writes out's fields (a pointer to an SDK output struct of a
// shape the simulator serves, EC2's or another service's) as the elements
// the SDK's deserializer reads, named from xmlNames.
func EncodeXML(b *bytes.Buffer, out any) {
	encodeFields(b, reflect.Indirect(reflect.ValueOf(out)))
}

// ListParam returns the values of prefix.1, prefix.2, ... in order: a Query
// API list parameter (ELBv2 sends LoadBalancerArns.member.N).
func ListParam(form url.Values, prefix string) []string {
	return request{form: form}.list(prefix)
}

// ByIDs keeps the items whose id is in ids, in the items' order (all of
// them when ids is empty), and reports the ids that matched none.
func ByIDs[T any](items []T, ids []string, id func(T) string) (kept []T, missing []string) {
	return byIDs(items, ids, id)
}

// PageToken is the token of the page of action's answer that starts at
// offset: opaque to clients and refused by any other action, as EC2's
// NextToken and ELBv2's Marker are.
func PageToken(action string, offset int) string { return encodeToken(action, offset) }

// PageOffset reads a PageToken of action, reporting false for one that is
// not.
func PageOffset(action, token string) (int, bool) { return decodeToken(action, token) }
