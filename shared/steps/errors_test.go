package steps

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// invoke runs handler the way the Lambda runtime does, through
// aws-lambda-go's own decoding and error reporting, and returns the
// errorType it reports (empty on success).
func invoke(t *testing.T, handler any, payload any) (errorType, message string) {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	var resp messages.InvokeResponse
	fn := lambda.NewFunction(lambda.NewHandler(handler)) //nolint:staticcheck // SA1019: v1.55.1 exports no other in-process way to get the errorType the runtime reports (its errorResponse is unexported; Start takes over the process).
	req := &messages.InvokeRequest{Payload: raw, Deadline: messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())}}
	if err := fn.Invoke(req, &resp); err != nil {
		t.Fatalf("invoking: %v", err)
	}
	if resp.Error == nil {
		return "", ""
	}
	return resp.Error.Type, resp.Error.Message
}

// handlerOf returns the method a step's Lambda starts, by step name.
func handlerOf(h *Handlers, step string) any {
	if step == workflow.StepCheckExistingSession {
		return h.CheckExistingSession
	}
	fn, ok := h.handler(step)
	if !ok {
		panic("no handler for " + step)
	}
	return fn
}

// TestEC2ErrorsReachLambdaByName fails each EC2 call of each step and checks
// the errorType Lambda reports is the name the state machine routes on:
// throttling and server faults are retried, anything else is terminal.
func TestEC2ErrorsReachLambdaByName(t *testing.T) {
	calls := map[string][]string{
		workflow.StepCheckExistingSession: {"DescribeInstances", "DescribeTrafficMirrorSessions", "DescribeTrafficMirrorTargets"},
		workflow.StepGatherCandidates:     {"DescribeTrafficMirrorTargets", "DescribeNetworkInterfaces"},
		workflow.StepFilterBySG:           {"DescribeSecurityGroups"},
		workflow.StepFilterByNACL:         {"DescribeNetworkAcls"},
		workflow.StepPickLeastLoaded:      {"DescribeTrafficMirrorSessions"},
		workflow.StepCreateSession:        {"CreateTrafficMirrorSession"},
	}
	codes := []struct {
		code, wantType string
	}{
		{"RequestLimitExceeded", "EC2Throttled"},
		{"Throttling", "EC2Throttled"},
		{"InternalError", "EC2Unavailable"},
		{"Unavailable", "EC2Unavailable"},
		{"UnauthorizedOperation", "EC2Rejected"},
	}
	for _, s := range workflow.Steps {
		for _, action := range calls[s.Name] {
			for _, c := range codes {
				t.Run(s.Name+"/"+action+"/"+c.code, func(t *testing.T) {
					t.Parallel()
					acct, cfg := loadScenario(t)
					h := New(acct.Client, acct.ELBv2, cfg)
					payloads := payloadsBefore(t, h, app0)
					acct.InjectFault(ec2sim.Fault{Action: action, Count: 1, Code: c.code})
					var payload any = payloads[s.Name]
					if s.Name == workflow.StepCheckExistingSession {
						payload = startFor(app0)
					}
					before := len(acct.Sessions())
					gotType, msg := invoke(t, handlerOf(h, s.Name), payload)
					if gotType != c.wantType {
						t.Errorf("errorType = %q (%s), want %q", gotType, msg, c.wantType)
					}
					if n := len(acct.Sessions()); n != before {
						t.Errorf("a failed step changed the sessions from %d to %d", before, n)
					}
				})
			}
		}
	}
}

// TestEveryStepReturnsANamedError checks the failures that do not come from
// EC2 reach Lambda by name too, for every step.
func TestEveryStepReturnsANamedError(t *testing.T) {
	t.Run("bad configuration is InvalidConfiguration at every step", func(t *testing.T) {
		t.Setenv(config.EnvConfig, `{"FilterId": "not-a-filter", "SessionNumber": 1}`)
		h := NewFromEnv(context.Background())
		for _, s := range workflow.Steps {
			var payload any = workflow.Placement{InstanceID: app0}
			if s.Name == workflow.StepCheckExistingSession {
				payload = startFor(app0)
			}
			gotType, msg := invoke(t, handlerOf(h, s.Name), payload)
			if gotType != steperr.TypeName(&steperr.InvalidConfiguration{}) {
				t.Errorf("%s: errorType = %q (%s), want InvalidConfiguration", s.Name, gotType, msg)
			}
		}
	})
	t.Run("a payload without a source is InvalidInput at every later step", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		h := New(acct.Client, acct.ELBv2, cfg)
		for _, s := range workflow.Steps[1:] {
			gotType, msg := invoke(t, handlerOf(h, s.Name), workflow.Placement{InstanceID: app0})
			if gotType != "InvalidInput" {
				t.Errorf("%s: errorType = %q (%s), want InvalidInput", s.Name, gotType, msg)
			}
			if len(acct.Calls()) != 0 {
				t.Errorf("%s called EC2 with a payload it cannot use: %v", s.Name, acct.Calls())
			}
		}
	})
	t.Run("an input that is not an instance is InvalidInput", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		gotType, msg := invoke(t, New(acct.Client, acct.ELBv2, cfg).CheckExistingSession, workflow.Start{Input: json.RawMessage(`[1]`), ExecutionID: executionID})
		if gotType != "InvalidInput" {
			t.Errorf("errorType = %q (%s), want InvalidInput", gotType, msg)
		}
	})
	t.Run("no candidate left is NoReachableSensor naming the step", func(t *testing.T) {
		acct, cfg := loadScenario(t)
		cfg.TargetIDs, cfg.LocalZoneOnly = []string{sensor1}, true
		h := New(acct.Client, acct.ELBv2, cfg)
		p, err := h.GatherCandidates(context.Background(), primaryOf(t, h, app0))
		if err != nil {
			t.Fatal(err)
		}
		gotType, msg := invoke(t, h.FilterByAvailabilityZone, p)
		if gotType != "NoReachableSensor" {
			t.Fatalf("errorType = %q (%s), want NoReachableSensor", gotType, msg)
		}
		want := "no reachable sensor for " + app0 + ": " + workflow.StepFilterByZone + " rejected the last 1 candidate(s): " + sensor1 + ": "
		if len(msg) < len(want) || msg[:len(want)] != want {
			t.Errorf("message = %q, want it to start %q", msg, want)
		}
	})
	t.Run("every error type the steps return is one the state machine routes", func(t *testing.T) {
		routed := map[string]bool{}
		for _, n := range slices.Concat(steperr.Transient(), steperr.Terminal(), steperr.RePick()) {
			routed[n] = true
		}
		for _, n := range []string{"InvalidInput", "InvalidConfiguration", "NoReachableSensor", "SensorFull", "EC2Throttled", "EC2Unavailable", "EC2Rejected"} {
			if !routed[n] {
				t.Errorf("%s is returned by a step but neither Transient nor Terminal", n)
			}
		}
	})
}

// TestNewFromEnv checks a well-configured Lambda gets its configuration and
// an EC2 client whose retryer is the SDK's standard one with our budget.
func TestNewFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_REGION", "us-east-1")
	want := config.Config{
		FilterID: "tmf-028da7ec9b76b272f", TargetIDs: []string{sensor0, sensor3}, SessionNumber: 7,
		Interfaces: config.InterfacesAll,
		Rules:      []config.Rule{{Name: "pci", Match: config.Match{VPCIDs: []string{"vpc-0a1b2c3d"}}, SessionNumber: 9}},
	}.WithDefaults()
	for k, v := range want.Env() {
		t.Setenv(k, v)
	}
	h := NewFromEnv(context.Background())
	if err := h.ready(); err != nil {
		t.Fatalf("NewFromEnv: %v", err)
	}
	if diff := cmp.Diff(want, h.Config); diff != "" {
		t.Errorf("Config (-set +read):\n%s", diff)
	}
	client, ok := h.EC2.(*ec2.Client)
	if !ok {
		t.Fatalf("EC2 is %T, want *ec2.Client", h.EC2)
	}
	if got := client.Options().Retryer.MaxAttempts(); got != EC2MaxAttempts {
		t.Errorf("retryer max attempts = %d, want %d", got, EC2MaxAttempts)
	}
}
