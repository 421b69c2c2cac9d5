package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/elbv2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/config"
)

// snapshotEnv runs mirrorctl snapshot against the simulators seeded from
// one snapshot file, served on loopback for EC2 and ELBv2, and against the
// fake CloudFormation for the stack's outputs, all through the real SDK
// clients that --live builds.
type snapshotEnv struct {
	t        *testing.T
	app      *app
	sim      *ec2sim.Sim
	cfn      *fakeCFN
	out, err *bytes.Buffer
}

// newSnapshotEnv seeds the simulators from file; stacks are the fake
// CloudFormation's stacks by name, each its outputs.
func newSnapshotEnv(t *testing.T, file string, opts ec2sim.Options, stacks map[string]map[string]string) *snapshotEnv {
	t.Helper()
	seed, err := snapshot.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	e := &snapshotEnv{t: t, out: &bytes.Buffer{}, err: &bytes.Buffer{}, cfn: &fakeCFN{t: t, stacks: stacks}}
	e.sim = ec2sim.New(seed, opts)
	both := elbv2sim.New(e.sim)
	endpoint, err := both.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = both.Close() })
	cfnServer := httptest.NewServer(e.cfn)
	t.Cleanup(cfnServer.Close)
	e.app = newApp(e.out, e.err)
	e.app.endpoints = map[string]string{
		ec2.ServiceID: endpoint, elasticloadbalancingv2.ServiceID: endpoint, cloudformation.ServiceID: cfnServer.URL,
	}
	e.app.loadConfig = func(_ context.Context, r, _ string) (aws.Config, error) {
		if r == "" {
			r = region
		}
		return aws.Config{
			Region: r, RetryMaxAttempts: 1, HTTPClient: testHTTPClient,
			Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Source: "test"}, nil
			})),
		}, nil
	}
	return e
}

// deployedWith is a Mirrorflow stack's outputs, its Configuration holding
// cfg as the stack writes it (nil: a stack deployed before that output).
func deployedWith(cfg *config.Config) map[string]map[string]string {
	outputs := map[string]string{
		"StateMachineArn":    stateMachine,
		"DeadLetterQueueUrl": queueURL,
		"DeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:Mirrorflow-DeadLetterQueue",
	}
	if cfg != nil {
		outputs["Configuration"] = cfg.Env()[config.EnvConfig]
	}
	return map[string]map[string]string{"Mirrorflow": outputs}
}

func (e *snapshotEnv) run(args ...string) int {
	e.t.Helper()
	e.out.Reset()
	e.err.Reset()
	return e.app.main(context.Background(), append([]string{"snapshot"}, args...))
}

// take runs snapshot --live into a new file, insists it exits 0, and loads
// what it wrote.
func (e *snapshotEnv) take(args ...string) (*snapshot.Snapshot, string) {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), "taken.json")
	if code := e.run(append([]string{"--live", "--output-file", path}, args...)...); code != exitOK {
		e.t.Fatalf("snapshot %v: exit %d, stderr:\n%s", args, code, e.err)
	}
	if e.out.Len() != 0 {
		e.t.Errorf("stdout holds %d bytes, want nothing with --output-file", e.out.Len())
	}
	taken, err := snapshot.Load(path)
	if err != nil {
		e.t.Fatalf("the snapshot written does not load: %v", err)
	}
	return taken, path
}

// TestSnapshotLiveRoundTrip takes each repository snapshot back from the
// simulator seeded with it, its Config from the stack's Configuration
// output, and checks that the file holds the same account and that plan
// makes exactly the same plan of it.
func TestSnapshotLiveRoundTrip(t *testing.T) {
	for _, file := range planSnapshots(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			original, err := snapshot.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			e := newSnapshotEnv(t, file, ec2sim.Options{}, deployedWith(original.Config))
			taken, path := e.take()

			sameAccount(t, original, taken)
			if diff := cmp.Diff(original.Config, taken.Config); diff != "" {
				t.Errorf("Config differs from the stack's (-stack +snapshot):\n%s", diff)
			}
			for action := range e.sim.Calls() {
				if !strings.HasPrefix(action, "Describe") && !strings.HasPrefix(action, "Get") {
					t.Errorf("snapshot called %s; it must only Describe and Get", action)
				}
			}
			if !strings.Contains(e.err.String(), "with the Config of the Configuration output of stack Mirrorflow") {
				t.Errorf("stderr does not say where the Config came from:\n%s", e.err)
			}

			p := newPlanEnv(t)
			p.plan("--snapshot", file)
			want := p.out.String()
			p.plan("--snapshot", path)
			if diff := cmp.Diff(want, p.out.String()); diff != "" {
				t.Errorf("plan of the snapshot taken differs from plan of %s (-original +taken):\n%s", file, diff)
			}
		})
	}
}

// sameAccount compares what the snapshot format names: EC2's own kinds in
// full, and the rest as far as the rules read them.
func sameAccount(t *testing.T, want, got *snapshot.Snapshot) {
	t.Helper()
	opts := cmp.Options{sdktest.IgnoreUnexported(*want), cmpopts.EquateEmpty()}
	for _, kind := range []struct {
		name      string
		want, got any
	}{
		{"Reservations", want.Reservations, got.Reservations},
		{"NetworkInterfaces", want.NetworkInterfaces, got.NetworkInterfaces},
		{"SecurityGroups", want.SecurityGroups, got.SecurityGroups},
		{"NetworkAcls", want.NetworkAcls, got.NetworkAcls},
		{"Subnets", want.Subnets, got.Subnets},
		{"TrafficMirrorTargets", want.TrafficMirrorTargets, got.TrafficMirrorTargets},
		{"TrafficMirrorFilters", want.TrafficMirrorFilters, got.TrafficMirrorFilters},
		{"TrafficMirrorSessions", want.TrafficMirrorSessions, got.TrafficMirrorSessions},
		{"VpcEndpoints", want.VPCEndpoints, got.VPCEndpoints},
		{"LoadBalancers", want.LoadBalancers, got.LoadBalancers},
		{"Listeners", want.Listeners, got.Listeners},
		{"ManagedPrefixLists", want.ManagedPrefixLists, got.ManagedPrefixLists},
		{"PrefixListEntries", want.PrefixListEntries, got.PrefixListEntries},
	} {
		if diff := cmp.Diff(kind.want, kind.got, opts); diff != "" {
			t.Errorf("%s differ (-seeded +taken):\n%s", kind.name, diff)
		}
	}
	// Hypervisor is what a placement reads of an instance type; a type the
	// seed does not list is described from its instance's.
	hypervisors := func(s *snapshot.Snapshot, fill bool) map[ec2types.InstanceType]ec2types.InstanceTypeHypervisor {
		out := map[ec2types.InstanceType]ec2types.InstanceTypeHypervisor{}
		for _, it := range s.InstanceTypes {
			out[it.InstanceType] = it.Hypervisor
		}
		for _, r := range s.Reservations {
			for _, i := range r.Instances {
				if _, ok := out[i.InstanceType]; !ok && fill {
					out[i.InstanceType] = ec2types.InstanceTypeHypervisor(i.Hypervisor)
				}
			}
		}
		return out
	}
	wantTypes, gotTypes := hypervisors(want, true), hypervisors(got, false)
	for name := range wantTypes {
		if !slices.ContainsFunc(want.Reservations, func(r ec2types.Reservation) bool {
			return slices.ContainsFunc(r.Instances, func(i ec2types.Instance) bool { return i.InstanceType == name })
		}) {
			delete(wantTypes, name)
		}
	}
	if diff := cmp.Diff(wantTypes, gotTypes); diff != "" {
		t.Errorf("the Hypervisor of the instance types in use differs (-seeded +taken):\n%s", diff)
	}
}

// TestSnapshotConfig checks where the snapshot's Config comes from: --config
// and the flags, else the stack's Configuration output with the flags
// applied, else nowhere, said on stderr.
func TestSnapshotConfig(t *testing.T) {
	deployed := config.Config{FilterID: threeZonesFilter, TargetIDs: []string{threeZonesSensor}, LocalZoneOnly: true, SessionNumber: 3}.WithDefaults()
	fromFile := config.Config{FilterID: "tmf-0a1b2c3d4e5f60718", SessionNumber: 9}.WithDefaults()
	configFile := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(configFile, []byte(`{"FilterId": "tmf-0a1b2c3d4e5f60718", "SessionNumber": 9}`), 0o600); err != nil {
		t.Fatal(err)
	}
	with := func(c config.Config, change func(*config.Config)) *config.Config {
		c.TargetIDs = slices.Clone(c.TargetIDs)
		change(&c)
		return &c
	}
	tests := []struct {
		name       string
		stacks     map[string]map[string]string
		args       []string
		want       *config.Config
		wantStderr string
		// wantStackCalls is how many DescribeStacks calls are made.
		wantStackCalls int
	}{
		{"the stack's Configuration output is recorded", deployedWith(&deployed), nil,
			&deployed, "with the Config of the Configuration output of stack Mirrorflow", 1},
		{"a flag overrides the stack's configuration field by field", deployedWith(&deployed), []string{"--local-zone-only=false"},
			with(deployed, func(c *config.Config) { c.LocalZoneOnly = false }), "Configuration output of stack Mirrorflow and the configuration flags", 1},
		{"--config replaces the stack's, which is not read", deployedWith(&deployed), []string{"--config", configFile},
			&fromFile, "with the Config of --config " + configFile, 0},
		{"flags override --config", deployedWith(&deployed), []string{"--config", configFile, "--sensor-tag", "ids=prod"},
			with(fromFile, func(c *config.Config) { c.SensorTag = config.Tag{Key: "ids", Value: "prod"} }), "--config " + configFile, 0},
		{"a stack deployed before the output has none: no Config, and a note", deployedWith(nil), nil,
			nil, "without Config: stack Mirrorflow has no Configuration output", 1},
		{"no stack at all: no Config, and a note naming the flags plan will need", nil, nil,
			nil, "without Config: stack Mirrorflow does not exist in us-east-1 (--stack names another). plan --snapshot (and coverage) will need --filter-id", 1},
		{"no stack, but flags give a whole configuration", nil, []string{"--filter-id", threeZonesFilter, "--sensor-tag", "ids=lab"},
			&config.Config{FilterID: threeZonesFilter, SensorTag: config.Tag{Key: "ids", Value: "lab"}, SessionNumber: 1, ExcludeTag: config.DefaultExcludeTag, Interfaces: config.InterfacesPrimary},
			"with the Config of the configuration flags", 1},
		{"--stack names the stack read", map[string]map[string]string{"Other": deployedWith(&deployed)["Mirrorflow"]}, []string{"--stack", "Other"},
			&deployed, "Configuration output of stack Other", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSnapshotEnv(t, threeZones, ec2sim.Options{}, tt.stacks)
			taken, _ := e.take(tt.args...)
			if diff := cmp.Diff(tt.want, taken.Config); diff != "" {
				t.Errorf("Config (-want +snapshot):\n%s", diff)
			}
			if !strings.Contains(e.err.String(), tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, e.err)
			}
			if n := len(e.cfn.Calls("DescribeStacks")); n != tt.wantStackCalls {
				t.Errorf("DescribeStacks called %d times, want %d", n, tt.wantStackCalls)
			}
		})
	}
}

// TestSnapshotToStdout: without --output-file the document goes to stdout,
// and Parse reads it back.
func TestSnapshotToStdout(t *testing.T) {
	e := newSnapshotEnv(t, scoped, ec2sim.Options{}, nil)
	if code := e.run("--live"); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e.err)
	}
	taken, err := snapshot.Parse("stdout", e.out.Bytes())
	if err != nil {
		t.Fatalf("stdout does not parse as a snapshot: %v", err)
	}
	if n := len(taken.TrafficMirrorTargets); n != 11 {
		t.Errorf("read %d traffic mirror targets, want scoped.json's 11", n)
	}
	if !strings.Contains(e.err.String(), "to stdout, without Config") {
		t.Errorf("stderr does not say where the snapshot went and that it has no Config:\n%s", e.err)
	}
}

// TestSnapshotRejectsBadInput: a mistake in the command line exits 2 with
// a message naming it, before any EC2 call, and writes nothing.
func TestSnapshotRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	out := filepath.Join(dir, "out.json")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"an unknown flag is named", []string{"--live", "--output-file", out, "--bogus"}, []string{"flag provided but not defined: -bogus"}},
		{"without --live nothing is read", []string{"--output-file", out}, []string{"give --live"}},
		{"a positional argument is refused", []string{"--live", "--output-file", out, "extra"}, []string{`unexpected argument "extra"`}},
		{"a malformed --config names the file", []string{"--live", "--output-file", out, "--config", write("syntax.json", `{"FilterId": `)},
			[]string{"decoding --config", "syntax.json"}},
		{"an unknown key in --config is named", []string{"--live", "--output-file", out, "--config", write("unknown.json", `{"FilterId": "tmf-0a1b2c3d", "Sensors": []}`)},
			[]string{"unknown.json", `unknown field "Sensors"`}},
		{"a --config that does not exist names the path", []string{"--live", "--output-file", out, "--config", filepath.Join(dir, "none.json")},
			[]string{"none.json", "no such file"}},
		{"an invalid configuration names the flag that fixes it", []string{"--live", "--output-file", out, "--config", write("bad.json", `{"FilterId": "filter-1"}`)},
			[]string{`FilterId "filter-1"`, "--filter-id"}},
		{"--output-file in a missing directory is refused", []string{"--live", "--output-file", filepath.Join(dir, "missing", "out.json")},
			[]string{"--output-file", "the directory " + filepath.Join(dir, "missing") + " does not exist"}},
		{"--output-file naming a directory is refused", []string{"--live", "--output-file", dir}, []string{"is a directory"}},
		{"--output means nothing to snapshot", []string{"--live", "--output", "json"}, []string{"--output does not apply to snapshot", "--output-file"}},
		{"--state-machine means nothing to snapshot", []string{"--live", "--state-machine", stateMachine}, []string{"--state-machine does not apply"}},
		{"a flag that cannot be applied is named", []string{"--live", "--output-file", out, "--sensor-tag", "ids"}, []string{"--sensor-tag", "want KEY=VALUE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSnapshotEnv(t, threeZones, ec2sim.Options{}, deployedWith(nil))
			if code := e.run(tt.args...); code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, e.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.err.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, e.err)
				}
			}
			if e.out.Len() != 0 {
				t.Errorf("wrote to stdout despite the error:\n%s", e.out)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("wrote %s despite the error (stat: %v)", out, err)
			}
			if calls := e.sim.Calls(); len(calls) != 0 {
				t.Errorf("called EC2 despite the error: %v", calls)
			}
		})
	}
}

// TestSnapshotAWSRefusal: AWS refusing a call or a named stack missing
// exits 3, naming the cause, and writes nothing.
func TestSnapshotAWSRefusal(t *testing.T) {
	tests := []struct {
		name   string
		opts   ec2sim.Options
		stacks map[string]map[string]string
		args   []string
		want   []string
	}{
		{"EC2 refusing DescribeInstances", ec2sim.Options{Faults: []ec2sim.Fault{{Action: "DescribeInstances", Count: 1, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}}},
			deployedWith(nil), nil, []string{"taking the snapshot: EC2 DescribeInstances: access denied (UnauthorizedOperation)", "IAM policy must allow"}},
		{"EC2 refusing a call late in the read names it", ec2sim.Options{Faults: []ec2sim.Fault{{Action: "DescribeTrafficMirrorSessions", Count: 1, Code: "UnauthorizedOperation"}}},
			deployedWith(nil), nil, []string{"EC2 DescribeTrafficMirrorSessions", "UnauthorizedOperation"}},
		{"a stack --stack names that does not exist", ec2sim.Options{}, deployedWith(nil), []string{"--stack", "Other"},
			[]string{"stack not found", "Other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSnapshotEnv(t, threeZones, tt.opts, tt.stacks)
			out := filepath.Join(t.TempDir(), "out.json")
			if code := e.run(append([]string{"--live", "--output-file", out}, tt.args...)...); code != exitAWS {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitAWS, e.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.err.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, e.err)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("wrote %s despite the error (stat: %v)", out, err)
			}
		})
	}
}
