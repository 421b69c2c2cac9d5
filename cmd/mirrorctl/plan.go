package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/elbv2sim"
	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/elbv2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

var planCommand = command{
	name:     "plan",
	synopsis: "plan (--snapshot FILE | --live) [--instance ID]... [configuration flags]",
	help: `Says where each instance would be mirrored and why each other sensor was
not chosen. It runs the workflow's own step code in-process, in the
workflow's order, without the state machine or Lambda.

--snapshot FILE (JSON or YAML; see docs/snapshot-format.md) seeds the EC2
simulator from FILE, serves it on loopback and points a real EC2 client at
it. The configuration is the snapshot's Config. Placements run one after
another and create their sessions in the simulator (never in AWS), so a
later instance sees the sessions of earlier ones, as it would in the account.
--region (default us-east-1) is only the Region the client signs for.

--live reads the real account (default credential chain, --region,
--profile) and changes nothing: CreateTrafficMirrorSession is sent with
DryRun, so the outcome created means EC2 would create the session. No
placement sees another's session. The configuration is the deployed
stack's (its Configuration output; --stack names it), or --config FILE
(the Config JSON object) instead, with the flags below over either; with
neither a stack nor --config, --filter-id is required.

Flags override the configuration field by field; --config replaces the
snapshot's Config. Each --instance is planned in the order given; without
one, every running instance is, in id order. Sessions are tagged
mirrorflow:execution=plan-<unix time>.

Outcomes: created, exists, skipped, failed. The table shows the per-step
kept and rejected sensors of failed and skipped placements; the JSON (an
array, one object per instance) shows them for all.

Exit codes: 0 when the plan ran, whatever its outcomes (failed placements
included); 2 for a bad flag, or a snapshot or --config file that cannot be
read or is malformed; 3 when AWS refused or could not be reached (--live).`,
	run: runPlan,
}

// planFlags are plan's own flags, and the configuration flags it shares
// with snapshot.
type planFlags struct {
	configFlags
	snapshot  string
	live      bool
	instances []string
}

// PlanResult is one source interface's plan: the JSON contract of
// mirrorctl plan --output json. Every key is always present, so a script can
// read any of them without checking.
type PlanResult struct {
	InstanceID         string `json:"instanceId"`
	NetworkInterfaceID string `json:"networkInterfaceId"`
	// Rule is the configuration rule that decides the interface; empty when
	// the configuration has no Rules, or none matched (the reason says so).
	Rule    string           `json:"rule"`
	Outcome workflow.Outcome `json:"outcome"`
	// TargetID is the chosen or existing sensor; for a placement that failed
	// at CreateSession, the sensor it had chosen.
	TargetID string     `json:"targetId"`
	Reason   string     `json:"reason"`
	Steps    []PlanStep `json:"steps"`

	// summary is the table's REASON, shorter than Reason where the other
	// columns or the step lines below already say the rest: the session for
	// created and exists, and for a placement no sensor could take, which
	// step rejected the last candidates.
	summary string
}

// PlanStep is one step's decision: the candidate sensors it kept and those
// it rejected, with the reasons.
type PlanStep struct {
	Step     string                `json:"step"`
	Kept     []string              `json:"kept"`
	Rejected []placement.Rejection `json:"rejected"`
	Note     string                `json:"note"`
}

// simSeed fixes the simulator's generated session ids and VNIs, so the same
// snapshot plans the same way every time.
const simSeed = 1

func runPlan(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	f := newPlanFlags()
	f.registerAccount(fs)
	fs.Func("instance", "instance `ID` to plan (repeatable; default: every running instance)", func(v string) error {
		f.instances = append(f.instances, v)
		return nil
	})
	if err := f.parse(fs, g, args); err != nil {
		return err
	}
	return f.withAccount(ctx, a, g, func(api ec2api.API, lb elbv2api.API, cfg config.Config) error {
		return a.plan(ctx, g, f, api, lb, cfg)
	})
}

// registerAccount puts the flags that say which account and configuration
// to read on fs: --snapshot or --live, --config and the configuration fields.
func (f *planFlags) registerAccount(fs *flag.FlagSet) {
	fs.StringVar(&f.snapshot, "snapshot", "", "read the EC2 simulator seeded from this snapshot file (JSON or YAML)")
	fs.BoolVar(&f.live, "live", false, "read the real account, read-only (plan sends the create with DryRun)")
	f.register(fs, "configuration `FILE`: the Config JSON object (replaces the snapshot's Config)")
}

// newPlanFlags returns flags with nothing given yet.
func newPlanFlags() planFlags { return planFlags{configFlags: configFlags{set: map[string]bool{}}} }

// parse parses the command line and checks the flags together, recording
// which were given.
func (f *planFlags) parse(fs *flag.FlagSet, g *globals, args []string) error {
	if err := parseNoArgs(fs, g, args); err != nil {
		return err
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f.check()
}

// withAccount runs fn on EC2 and ELBv2 clients of the account the flags
// name, and its configuration: the real account with --live, or the EC2
// simulator seeded from --snapshot, served on loopback for as long as fn
// runs, with the snapshot's Config.
func (f *planFlags) withAccount(ctx context.Context, a *app, g *globals, fn func(ec2api.API, elbv2api.API, config.Config) error) (err error) {
	if f.live {
		// --config is read before AWS is called, so a bad file costs no call.
		if f.configFile != "" {
			cfg, err := f.configuration(nil)
			if err != nil {
				return err
			}
			api, lb, err := a.liveClients(ctx, g)
			if err != nil {
				return err
			}
			return fn(api, lb, cfg)
		}
		awsCfg, err := a.loadAWSConfig(ctx, g)
		if err != nil {
			return err
		}
		// The deployed stack's Configuration output, with the flags over it.
		deployed, source, err := a.deployedConfig(ctx, g, &f.configFlags, awsCfg)
		if err != nil {
			return err
		}
		if deployed == nil {
			_, err := f.resolve(nil, source)
			return err
		}
		api, lb := a.accountClients(awsCfg)
		return fn(api, lb, *deployed)
	}
	snap, err := snapshot.Load(f.snapshot)
	if err != nil {
		return &inputError{fmt.Errorf("loading the snapshot: %w", err)}
	}
	cfg, err := f.configuration(snap.Config)
	if err != nil {
		return err
	}
	// One endpoint answers EC2 and ELBv2 from the snapshot's account.
	sim := elbv2sim.New(ec2sim.New(snap, ec2sim.Options{Seed: simSeed}))
	endpoint, err := sim.Start(ctx)
	if err != nil {
		return fmt.Errorf("starting the EC2 simulator: %w", err)
	}
	defer func() {
		if cerr := sim.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	api, lb := simulatorClients(endpoint, g.region)
	return fn(api, lb, cfg)
}

// check rejects flag combinations plan cannot honour, before any file is
// read or AWS is called.
func (f *planFlags) check() error {
	switch {
	case f.live == (f.snapshot != ""):
		return usagef("give --snapshot FILE or --live, exactly one")
	case !f.live && f.set["profile"]:
		return usagef("--profile applies to --live only; --snapshot never calls AWS")
	case !f.live && f.set["stack"]:
		return usagef("--stack applies to --live only, whose configuration is the stack's; --snapshot has its own")
	case f.set["stack"] && f.configFile != "":
		return usagef("give --stack or --config, not both: --config replaces the stack's configuration")
	}
	for _, name := range []string{"state-machine", "queue-url", "reconcile-state-machine"} {
		if f.set[name] {
			return usagef("--%s does not apply here: only the stack's configuration is read", name)
		}
	}
	for _, id := range f.instances {
		if !operate.ValidInstanceID(id) {
			return usagef("--instance %q is not an EC2 instance id (i- followed by 8 or 17 hex digits)", id)
		}
	}
	return nil
}

// configuration is base (the snapshot's Config, or nothing in --live with
// --config) with --config and the flags applied (configFlags.resolve).
func (f *planFlags) configuration(base *config.Config) (config.Config, error) {
	none := "--live reads no configuration from the account"
	if !f.live {
		none = "the snapshot has no Config"
	}
	return f.resolve(base, none)
}

// inputError is a file or resource named on the command line that cannot
// be used. It is a usage error (exit 2: running again unchanged cannot
// help) that keeps its cause, so errors.Is(err, snapshot.ErrInvalid) still
// holds.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }

func (e *inputError) Unwrap() []error { return []error{&usageError{msg: e.err.Error()}, e.err} }

// simulatorClients are real EC2 and ELBv2 clients of the simulator at
// endpoint, so the plan exercises the SDKs' serializers and XML
// deserializers as a Lambda would. A connection per request sidesteps the
// SDK reading an answer from a closed keep-alive connection (see
// testHTTPClient in main_test.go).
func simulatorClients(endpoint, region string) (*ec2.Client, *elasticloadbalancingv2.Client) {
	httpClient := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	api := ec2sim.NewClient(endpoint, func(o *ec2.Options) {
		o.HTTPClient = httpClient
		if region != "" {
			o.Region = region
		}
	})
	lb := elbv2sim.NewClient(endpoint, func(o *elasticloadbalancingv2.Options) {
		o.HTTPClient = httpClient
		if region != "" {
			o.Region = region
		}
	})
	return api, lb
}

// liveClients are the EC2 and ELBv2 clients of --live, on the configuration
// every command loads. An endpoint is overridden only when one is set, so
// that AWS_ENDPOINT_URL_EC2 and its kin, which the SDK resolves into
// BaseEndpoint before this option runs, are still honoured.
func (a *app) liveClients(ctx context.Context, g *globals) (*ec2.Client, *elasticloadbalancingv2.Client, error) {
	cfg, err := a.loadAWSConfig(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	api, lb := a.accountClients(cfg)
	return api, lb, nil
}

// accountClients are liveClients on a configuration already loaded.
func (a *app) accountClients(cfg aws.Config) (*ec2.Client, *elasticloadbalancingv2.Client) {
	return a.ec2Client(cfg), elasticloadbalancingv2.NewFromConfig(cfg, func(o *elasticloadbalancingv2.Options) {
		a.overrideEndpoint(elasticloadbalancingv2.ServiceID, &o.BaseEndpoint)
	})
}

// plan places each instance in turn with the workflow's steps and renders
// one result per source interface (or one for an instance with nothing to
// place). A placement that fails is a result, not an error; only a
// cancelled context or failing to list the instances stops the plan.
func (a *app) plan(ctx context.Context, g *globals, f planFlags, api ec2api.API, lb elbv2api.API, cfg config.Config) error {
	ids := unique(f.instances)
	if len(ids) == 0 {
		var err error
		if ids, err = runningInstances(ctx, api); err != nil {
			return err
		}
	}
	h := steps.New(api, lb, cfg)
	h.DryRun = f.live
	executionID := fmt.Sprintf("plan-%d", a.now().Unix())
	results := make([]PlanResult, 0, len(ids))
	for _, id := range ids {
		start := workflow.Start{Input: json.RawMessage(operate.ManualInput(id)), ExecutionID: executionID}
		in, err := h.CheckExistingSession(ctx, start)
		if ctx.Err() != nil {
			return fmt.Errorf("planning %s: %w", id, ctx.Err())
		}
		if err != nil || in.Outcome != "" || len(in.Interfaces) == 0 {
			results = append(results, planResult(id, workflow.Placement{Outcome: in.Outcome, Reason: in.Reason, Steps: in.Steps}, err))
			continue
		}
		for _, p := range in.Interfaces {
			p, err := steps.RunInterface(ctx, h, p)
			if ctx.Err() != nil {
				return fmt.Errorf("planning %s: %w", id, ctx.Err())
			}
			results = append(results, planResult(id, p, err))
		}
	}
	return a.render(g, results, func(w io.Writer) error { return renderPlanTable(w, results) })
}

// unique drops repeated ids, keeping the first of each, so an instance
// named twice is planned once, in the place it was first named.
func unique(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// runningInstances lists the ids of every running instance, sorted so that
// the same account plans in the same order.
func runningInstances(ctx context.Context, api ec2api.API) ([]string, error) {
	instances, err := ec2api.InstancesAsList(ctx, api, &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{ec2api.Filter("instance-state-name", "running")},
	})
	if err != nil {
		return nil, fmt.Errorf("listing the running instances: %w", operate.Explain(err))
	}
	ids := make([]string, 0, len(instances))
	for _, i := range instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// planResult turns what steps.Run returned into the plan's contract.
func planResult(instanceID string, p workflow.Placement, err error) PlanResult {
	r := PlanResult{
		InstanceID: instanceID, Outcome: p.Outcome, TargetID: p.TargetID, Reason: p.Reason,
		Steps: make([]PlanStep, 0, len(p.Steps)),
	}
	if p.Scope != nil {
		r.Rule = p.Scope.Rule
	}
	if p.Source != nil {
		r.NetworkInterfaceID = p.Source.NetworkInterfaceID
	}
	for _, s := range p.Steps {
		ps := PlanStep{Step: s.Step, Kept: s.Kept, Rejected: s.Rejected, Note: s.Note}
		if ps.Kept == nil {
			ps.Kept = []string{}
		}
		if ps.Rejected == nil {
			ps.Rejected = []placement.Rejection{}
		}
		r.Steps = append(r.Steps, ps)
	}
	var none *steperr.NoReachableSensor
	switch {
	case err != nil:
		r.Outcome, r.Reason, r.summary = workflow.OutcomeFailed, err.Error(), err.Error()
		if errors.As(err, &none) && len(none.Rejected) > 0 {
			r.summary = fmt.Sprintf("%s rejected the last %d candidate(s)", none.Step, len(none.Rejected))
		}
	case r.Outcome == workflow.OutcomeCreated && p.SessionID == "":
		r.summary = "DryRun: EC2 would create it" + staleNote(", after deleting stale ", p.DeletedSessions)
	case r.Outcome == workflow.OutcomeCreated:
		r.summary = "new session " + p.SessionID + staleNote("; deleted stale ", p.DeletedSessions)
	case r.Outcome == workflow.OutcomeExists:
		r.summary = "already mirrored by session " + p.SessionID
	default:
		r.summary = r.Reason
	}
	return r
}

// staleNote names the stale sessions CreateSession deleted (or would),
// after prefix; nothing when there were none.
func staleNote(prefix string, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return prefix + strings.Join(ids, ", ")
}

// planTableWidth is the terminal width the table is laid out for.
const planTableWidth = 120

// renderPlanTable writes one line per instance, its reason wrapped under
// REASON, and for a failed or skipped placement each step's note, kept and
// rejected sensors, wrapped under the step name.
func renderPlanTable(w io.Writer, results []PlanResult) error {
	if len(results) == 0 {
		_, err := fmt.Fprintln(w, "No running instances to plan.")
		return err
	}
	// The RULE column appears when the configuration has rules: it names
	// the one that decides each interface.
	withRules := slices.ContainsFunc(results, func(r PlanResult) bool { return r.Rule != "" })
	rows := [][]string{{"INSTANCE", "INTERFACE", "OUTCOME", "SENSOR"}}
	if withRules {
		rows[0] = []string{"INSTANCE", "INTERFACE", "RULE", "OUTCOME", "SENSOR"}
	}
	for _, r := range results {
		if withRules {
			rows = append(rows, []string{r.InstanceID, dash(r.NetworkInterfaceID), dash(r.Rule), string(r.Outcome), dash(r.TargetID)})
			continue
		}
		rows = append(rows, []string{r.InstanceID, dash(r.NetworkInterfaceID), string(r.Outcome), dash(r.TargetID)})
	}
	texts := make([]string, 0, len(results))
	for _, r := range results {
		texts = append(texts, r.summary)
	}
	var b strings.Builder
	wrappedTable(&b, rows, "REASON", texts, func(i int) {
		if r := results[i]; r.Outcome == workflow.OutcomeFailed || r.Outcome == workflow.OutcomeSkipped {
			writeStepLines(&b, r.Steps, r.summary)
		}
	})
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	return nil
}

// wrappedTable writes rows (rows[0] the header) in columns as wide as
// their widest cell, then a last column, titled last, holding each row's
// text wrapped under itself so the table stays within planTableWidth; after,
// when set, is called after each row i (0 the first row below the header)
// to add lines of its own. The columns are laid out by hand rather than by
// tabwriter, since wrapping needs to know where the last column starts.
func wrappedTable(b *strings.Builder, rows [][]string, last string, texts []string, after func(i int)) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	const gap = 2
	indent := 0
	for _, wd := range widths {
		indent += wd + gap
	}
	textWidth := max(planTableWidth-indent, 30)
	line := func(cells []string, text string) {
		var l strings.Builder
		for i, cell := range cells {
			l.WriteString(cell + strings.Repeat(" ", widths[i]-len(cell)+gap))
		}
		wrapped := wrap(text, textWidth)
		b.WriteString(strings.TrimRight(l.String()+wrapped[0], " ") + "\n")
		for _, l := range wrapped[1:] {
			b.WriteString(strings.Repeat(" ", indent) + l + "\n")
		}
	}
	line(rows[0], last)
	for i, row := range rows[1:] {
		line(row, texts[i])
		if after != nil {
			after(i)
		}
	}
}

// writeStepLines writes a placement's steps: the step name, then its note,
// what it kept and each rejection, each wrapped under the first. A note that
// repeats the summary line above (a skipped placement's reason) and a step
// left with nothing to say are left out.
func writeStepLines(b *strings.Builder, planSteps []PlanStep, summary string) {
	const stepIndent, nameWidth = 4, 26
	textWidth := planTableWidth - stepIndent - nameWidth
	for _, s := range planSteps {
		var texts []string
		if s.Note != "" && s.Note != summary {
			texts = append(texts, s.Note)
		}
		if len(s.Kept) > 0 {
			texts = append(texts, "kept "+strings.Join(s.Kept, ", "))
		}
		for _, rej := range s.Rejected {
			texts = append(texts, "rejected "+rej.TargetID+": "+rej.Reason)
		}
		name := s.Step
		for _, text := range texts {
			for _, l := range wrap(text, textWidth) {
				b.WriteString(strings.Repeat(" ", stepIndent) + name + strings.Repeat(" ", max(nameWidth-len(name), 1)) + l + "\n")
				name = ""
			}
		}
	}
}

// wrap breaks text at spaces into lines of at most width characters; a
// word longer than width gets a line of its own rather than being cut,
// since ids must stay copyable.
func wrap(text string, width int) []string {
	var lines []string
	cur := ""
	for _, word := range strings.Fields(text) {
		switch {
		case cur == "":
			cur = word
		case len(cur)+1+len(word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	return append(lines, cur)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
