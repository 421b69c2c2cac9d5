package ec2sim

import "time"

// Bucket is one EC2 request token bucket: Size tokens at most, refilled at
// RefillPerSecond. Each request takes one token; none left is
// RequestLimitExceeded.
type Bucket struct {
	Size            float64
	RefillPerSecond float64
}

// Throttling gives the bucket of each kind of action. EC2 keeps one bucket
// per action, sized by the action's kind.
type Throttling struct {
	// NonMutating applies to Describe and Get actions.
	NonMutating Bucket
	// Mutating applies to actions that change resources (CreateTrafficMirrorSession).
	Mutating Bucket
	// CreateTags has its own, larger, bucket.
	CreateTags Bucket
}

// AWSThrottling is EC2's default request-rate limits, from "Request
// throttling for the Amazon EC2 API": non-mutating actions 100 tokens
// refilled at 20/s, mutating 50 at 5/s, CreateTags 100 at 10/s.
func AWSThrottling() *Throttling {
	return &Throttling{
		NonMutating: Bucket{Size: 100, RefillPerSecond: 20},
		Mutating:    Bucket{Size: 50, RefillPerSecond: 5},
		CreateTags:  Bucket{Size: 100, RefillPerSecond: 10},
	}
}

type bucket struct {
	spec   Bucket
	tokens float64
	at     time.Time
}

// mutating lists the actions EC2 counts against the mutating bucket.
var mutating = map[string]bool{"CreateTrafficMirrorSession": true, "DeleteTrafficMirrorSession": true}

// take spends one token of action's bucket, reporting false when it is empty.
func (s *Sim) take(action string) bool {
	t := s.opts.Throttling
	if t == nil {
		return true
	}
	spec := t.NonMutating
	switch {
	case action == "CreateTags":
		spec = t.CreateTags
	case mutating[action]:
		spec = t.Mutating
	}
	now := s.opts.Now()
	b, ok := s.buckets[action]
	if !ok {
		b = &bucket{spec: spec, tokens: spec.Size, at: now}
		s.buckets[action] = b
	}
	b.tokens = min(b.spec.Size, b.tokens+now.Sub(b.at).Seconds()*b.spec.RefillPerSecond)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
