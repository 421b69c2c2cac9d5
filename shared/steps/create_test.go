package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

func TestCreateSession(t *testing.T) {
	ctx := context.Background()

	t.Run("a retried CreateSession reuses its ClientToken and creates one session", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
		before := len(acct.Sessions())
		first, err := h.CreateSession(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		// Lambda timed out after EC2 created the session; the state machine retries with the same payload.
		second, err := h.CreateSession(ctx, p)
		if err != nil {
			t.Fatalf("retried CreateSession: %v", err)
		}
		if first.SessionID == "" || second.SessionID != first.SessionID || second.Outcome != workflow.OutcomeCreated {
			t.Errorf("retry = %q %q, first = %q", second.Outcome, second.SessionID, first.SessionID)
		}
		if n := len(acct.Sessions()) - before; n != 1 {
			t.Errorf("two attempts created %d sessions, want 1", n)
		}
		reqs := acct.Requests("CreateTrafficMirrorSession")
		if len(reqs) != 2 {
			t.Fatalf("CreateTrafficMirrorSession called %d times, want 2", len(reqs))
		}
		tok1, tok2 := reqs[0].Params.Get("ClientToken"), reqs[1].Params.Get("ClientToken")
		if tok1 == "" || tok1 != tok2 {
			t.Errorf("ClientTokens %q and %q, want the same non-empty token", tok1, tok2)
		}
	})

	t.Run("the session is tagged with the execution that made it", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		p, err := h.CreateSession(ctx, payloadsBefore(t, h, app0)[workflow.StepCreateSession])
		if err != nil {
			t.Fatal(err)
		}
		s, _ := acct.Session(p.SessionID)
		want := []ec2types.Tag{
			{Key: aws.String("Name"), Value: aws.String("mirrorflow-" + app0)},
			{Key: aws.String("ManagedBy"), Value: aws.String("mirrorflow")},
			{Key: aws.String("mirrorflow:instance-id"), Value: aws.String(app0)},
			{Key: aws.String("mirrorflow:execution"), Value: aws.String(executionID)},
		}
		sortTags := cmpopts.SortSlices(func(a, b ec2types.Tag) bool { return aws.ToString(a.Key) < aws.ToString(b.Key) })
		if diff := cmp.Diff(want, s.Tags, sortTags, cmpopts.IgnoreUnexported(ec2types.Tag{})); diff != "" {
			t.Errorf("session tags (-want +got):\n%s", diff)
		}
	})

	t.Run("a session another execution made meanwhile means exists", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
		// Another execution for the same instance won the race, to another candidate.
		other, err := acct.Client.CreateTrafficMirrorSession(ctx, &ec2.CreateTrafficMirrorSessionInput{
			TrafficMirrorTargetId: aws.String(sensor0), TrafficMirrorFilterId: aws.String(cfg.FilterID),
			NetworkInterfaceId: aws.String(app0ENI), SessionNumber: aws.Int32(cfg.SessionNumber),
		})
		if err != nil {
			t.Fatalf("the other execution's create: %v", err)
		}
		otherID := aws.ToString(other.TrafficMirrorSession.TrafficMirrorSessionId)
		acct.ResetCalls()
		got, err := h.CreateSession(ctx, p)
		if err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if got.Outcome != workflow.OutcomeExists || got.SessionID != otherID || got.TargetID != sensor0 {
			t.Errorf("CreateSession = %q %q %q, want exists %s %s", got.Outcome, got.SessionID, got.TargetID, otherID, sensor0)
		}
		// The source had no session when CheckExistingSession looked, so
		// nothing stale is looked for; its sessions are read once, after EC2
		// refused the create.
		want := map[string]int{"CreateTrafficMirrorSession": 1, "DescribeTrafficMirrorSessions": 1}
		if diff := cmp.Diff(want, acct.Calls()); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})

	t.Run("a refused create with no candidate session is EC2Rejected", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
		acct.InjectFault(ec2sim.Fault{Action: "CreateTrafficMirrorSession", Count: 1, Code: "UnauthorizedOperation", Message: "not allowed"})
		_, err := h.CreateSession(ctx, p)
		var rejected *steperr.EC2Rejected
		if !asType(err, &rejected) || rejected.Code != "UnauthorizedOperation" {
			t.Fatalf("CreateSession error = %v, want EC2Rejected UnauthorizedOperation", err)
		}
	})

	t.Run("a sensor EC2 finds full at create is SensorFull, naming the sensor", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
		acct.InjectFault(ec2sim.Fault{Action: "CreateTrafficMirrorSession", Count: 1, Code: "TrafficMirrorSourcesPerTargetLimitExceeded", Message: "too many sources"})
		_, err := h.CreateSession(ctx, p)
		var full *steperr.SensorFull
		if !asType(err, &full) || full.TargetID != p.TargetID || full.SourceENI != app0ENI || !strings.Contains(err.Error(), "too many sources") {
			t.Fatalf("CreateSession error = %T %v, want SensorFull for %s from %s with EC2's message", err, err, p.TargetID, app0ENI)
		}
	})

	t.Run("a source interface gone at create ends skipped: the instance was terminated", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
		acct.InjectFault(ec2sim.Fault{Action: "CreateTrafficMirrorSession", Count: 1, Code: "InvalidNetworkInterfaceID.NotFound",
			Message: "The networkInterface ID '" + app0ENI + "' does not exist"})
		got, err := h.CreateSession(ctx, p)
		if err != nil || got.Outcome != workflow.OutcomeSkipped || !strings.Contains(got.Reason, "terminated") {
			t.Fatalf("CreateSession = %q %q, %v; want skipped because the instance is gone", got.Outcome, got.Reason, err)
		}
	})

	t.Run("a throttled create is EC2Throttled and not re-checked", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
		acct.ResetCalls()
		acct.InjectFault(ec2sim.Fault{Action: "CreateTrafficMirrorSession", Count: 1, Code: "RequestLimitExceeded"})
		_, err := h.CreateSession(ctx, p)
		if steperr.TypeName(err) != "EC2Throttled" {
			t.Fatalf("error = %T %v, want EC2Throttled", err, err)
		}
		// The source had no session, so none is looked for before the
		// create, and a transient refusal is not re-checked after it.
		if n := acct.Calls()["DescribeTrafficMirrorSessions"]; n != 0 {
			t.Errorf("a transient failure made %d Describe calls, want none", n)
		}
	})

	t.Run("dry run reports created without creating", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		h.DryRun = true
		p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
		before := len(acct.Sessions())
		got, err := h.CreateSession(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Outcome != workflow.OutcomeCreated || got.SessionID != "" || !strings.HasPrefix(got.Reason, "dry run") {
			t.Errorf("dry run = %q %q %q", got.Outcome, got.SessionID, got.Reason)
		}
		if n := len(acct.Sessions()); n != before {
			t.Errorf("dry run created %d sessions", n-before)
		}
		if req := acct.Requests("CreateTrafficMirrorSession")[0]; req.Params.Get("DryRun") != "true" {
			t.Error("dry run did not set DryRun")
		}
	})

	t.Run("dry run that EC2 refuses is the refusal", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		h.DryRun = true
		p := payloadsBefore(t, h, app0)[workflow.StepCreateSession]
		acct.InjectFault(ec2sim.Fault{Action: "CreateTrafficMirrorSession", Count: 1, Code: "UnauthorizedOperation"})
		_, err := h.CreateSession(ctx, p)
		if steperr.TypeName(err) != "EC2Rejected" {
			t.Fatalf("error = %T %v, want EC2Rejected", err, err)
		}
	})

	t.Run("a payload without a chosen target is InvalidInput", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		p := payloadsBefore(t, h, app0)[workflow.StepPickLeastLoaded]
		acct.ResetCalls()
		_, err := h.CreateSession(ctx, p)
		if steperr.TypeName(err) != "InvalidInput" || len(acct.Calls()) != 0 {
			t.Errorf("error = %v, calls %v; want InvalidInput and no call", err, acct.Calls())
		}
	})
}

func TestClientToken(t *testing.T) {
	base := ClientToken(executionID, app0ENI, sensor3, "tmf-028da7ec9b76b272f", 1)
	if len(base) > 64 {
		t.Errorf("token %q is %d characters; EC2 accepts at most 64", base, len(base))
	}
	for i := 0; i < len(base); i++ {
		if base[i] >= 0x80 {
			t.Fatalf("token %q is not ASCII", base)
		}
	}
	if again := ClientToken(executionID, app0ENI, sensor3, "tmf-028da7ec9b76b272f", 1); again != base {
		t.Errorf("the same request gave tokens %q and %q", base, again)
	}
	changed := map[string]string{
		"another execution": ClientToken(executionID+"x", app0ENI, sensor3, "tmf-028da7ec9b76b272f", 1),
		"another source":    ClientToken(executionID, app1ENI, sensor3, "tmf-028da7ec9b76b272f", 1),
		"another target":    ClientToken(executionID, app0ENI, sensor0, "tmf-028da7ec9b76b272f", 1),
		"another filter":    ClientToken(executionID, app0ENI, sensor3, "tmf-0a1b2c3d4e5f60718", 1),
		"another number":    ClientToken(executionID, app0ENI, sensor3, "tmf-028da7ec9b76b272f", 2),
		// Fields are separated, so shifting characters between them changes the token.
		"shifted fields": ClientToken(executionID+app0ENI[:1], app0ENI[1:], sensor3, "tmf-028da7ec9b76b272f", 1),
	}
	for name, tok := range changed {
		if tok == base {
			t.Errorf("%s gave the same token", name)
		}
	}
}

// asType reports whether err itself, not a cause it wraps, is a T: the
// Lambda runtime reports the returned error's own type name as errorType, so
// that is what the state machine routes on.
func asType[T error](err error, target *T) bool {
	t, ok := err.(T) //nolint:errorlint // Deliberately the top-level type, which is what reaches Lambda as errorType; errors.As would accept a wrapped T that routes as its wrapper.
	if ok {
		*target = t
	}
	return ok
}
