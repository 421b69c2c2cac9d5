// Command mirrorlocal runs the real mirrorflow workflow with no AWS: the
// state machine definition cdk synth produced, executed by
// aws-local-stepfunctions, its Task states served by the step bootstraps
// built for this machine, and EC2 played by the simulator seeded from an
// account snapshot. It places every running instance (or those named) and
// prints what happened, with the step-by-step trace of one placement.
// With --burst it starts every placement at once, as EventBridge does when
// an Auto Scaling group launches hundreds of instances together. With
// --reconcile it runs the Reconcile state machine instead, whose Map starts
// the placements as child executions, and shows the coverage before and
// after.
//
// `make demo` runs it on the example accounts in testdata/snapshots.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/offline"
	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

type options struct {
	snapshot, template, bootstraps, nodeDir, output, logs string
	instances                                             []string
	throttle                                              bool
	faultRate                                             float64
	retryInterval                                         int
	// burst starts every placement at once instead of one after another.
	burst bool
	// lambdaConcurrency is offline.Options.Concurrency: 0 takes each
	// function's reserved concurrency from the template, N > 0 overrides it.
	lambdaConcurrency int
	// timeout bounds each execution; 0 is the state machine's own timeout.
	timeout time.Duration
	// saveSnapshot, when set, is where the account is written at the end.
	saveSnapshot string
	// reconcile runs the Reconcile state machine instead of one placement per instance.
	reconcile bool
}

func main() {
	var o options
	fs := flag.NewFlagSet("mirrorlocal", flag.ContinueOnError)
	fs.StringVar(&o.snapshot, "snapshot", "testdata/snapshots/three-zones.json", "account snapshot to seed the EC2 simulator with")
	fs.StringVar(&o.template, "template", "cdk.out/Mirrorflow.template.json", "synthesized stack template (make synth)")
	fs.StringVar(&o.bootstraps, "bootstraps", "bin/local", "folder of <step>/bootstrap built for this machine (make build-local)")
	fs.StringVar(&o.nodeDir, "node-dir", "_node", "folder of the pinned npm tools (make node)")
	fs.Func("instance", "instance id to place (repeatable; default: every running instance)", appendTo(&o.instances))
	fs.BoolVar(&o.throttle, "throttle", false, "throttle EC2 with AWS's token buckets")
	fs.Float64Var(&o.faultRate, "fault-rate", 0, "share of EC2 calls answered with InternalError or Unavailable, 0 to 1")
	fs.IntVar(&o.retryInterval, "retry-interval-ms", 100, "replaces every Retry interval of the definition, in milliseconds; -1 keeps AWS's")
	fs.StringVar(&o.output, "output", "table", "table or json")
	fs.StringVar(&o.logs, "logs", "", "file to write the functions' and the engine's logs to")
	fs.BoolVar(&o.burst, "burst", false, "start every placement at once, one execution per instance as EventBridge does, instead of one after another")
	fs.IntVar(&o.lambdaConcurrency, "lambda-concurrency", 0, "execution environments per function, beyond which an invoke is throttled as Lambda throttles; 0 takes each function's reserved concurrency from the template")
	fs.DurationVar(&o.timeout, "timeout", 0, "bound on each placement's execution (e.g. 90m); 0 is the state machine's own TimeoutSeconds (1h as synthesized) plus a minute for the engine to report it, enough for a burst with --retry-interval-ms -1")
	fs.StringVar(&o.saveSnapshot, "save-snapshot", "", "file to write the account to at the end, sessions created by the run included, in the snapshot format with the run's Config (a later --snapshot FILE run starts from it)")
	fs.BoolVar(&o.reconcile, "reconcile", false, "run the Reconcile state machine once (as its schedule or the post-deploy backfill would) and show the coverage before and after")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if o.reconcile && (o.burst || len(o.instances) > 0) {
		fmt.Fprintln(os.Stderr, "mirrorlocal: --reconcile finds the instances to place itself: it takes neither --burst nor --instance")
		os.Exit(2)
	}
	if o.output != "table" && o.output != "json" {
		fmt.Fprintln(os.Stderr, "mirrorlocal: --output must be table or json")
		os.Exit(2)
	}
	if o.lambdaConcurrency < 0 || o.timeout < 0 {
		fmt.Fprintln(os.Stderr, "mirrorlocal: --lambda-concurrency and --timeout must not be negative")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mirrorlocal:", err)
		if errors.Is(err, snapshot.ErrInvalid) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// appendTo collects a repeatable flag's values.
func appendTo(list *[]string) func(string) error {
	return func(v string) error {
		*list = append(*list, v)
		return nil
	}
}

func run(ctx context.Context, o options, stdout io.Writer) (err error) {
	snap, err := snapshot.Load(o.snapshot)
	if err != nil {
		return err
	}
	if snap.Config == nil {
		return fmt.Errorf("%s has no Config: the offline run deploys with the snapshot's configuration", o.snapshot)
	}
	logs := io.Discard
	if o.logs != "" {
		f, err := os.Create(o.logs)
		if err != nil {
			return fmt.Errorf("opening the log file: %w", err)
		}
		// Closed after the run below, which writes to it, has stopped.
		defer func() {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("closing the log file: %w", cerr)
			}
		}()
		logs = f
	}
	bound, err := offline.ExecutionBound(o.timeout, o.template)
	if err != nil {
		return err
	}
	started := time.Now()
	r, err := offline.Start(ctx, offlineOptions(o, snap, logs))
	if err != nil {
		return err
	}
	defer r.Close()
	if o.reconcile {
		return reconcile(ctx, o, r, *snap.Config, started, stdout)
	}

	ids := o.instances
	if len(ids) == 0 {
		if ids, err = runningInstances(ctx, r); err != nil {
			return err
		}
	}
	inputs := map[string]json.RawMessage{}
	for _, id := range ids {
		raw, _ := json.Marshal(workflow.ManualInput{InstanceID: id})
		inputs[id] = raw
	}
	placed, err := r.PlaceAll(ctx, ids, offline.Placing{Burst: o.burst, Bound: bound, Prefix: "demo-"})
	if err != nil {
		return err
	}
	letters, err := r.DeadLetters()
	if err != nil {
		return err
	}
	final := r.Sim.Snapshot()
	if o.saveSnapshot != "" {
		// The simulator was seeded with this Config; it is set here too
		// because the saved file must say how the run was deployed.
		final.Config = snap.Config
		if err := final.Save(o.saveSnapshot); err != nil {
			return err
		}
	}
	if o.output == "json" {
		return operate.RenderJSON(stdout, placed)
	}
	summary := offline.SummarizeBurst(placed, final, *snap.Config, ec2sim.AWSThrottling().Mutating)
	return report(stdout, o, offline.Results(placed), inputs, letters, r.Sim.Calls(), time.Since(started), summary)
}

// offlineOptions is the deployment the flags ask for, seeded with snap.
func offlineOptions(o options, snap *snapshot.Snapshot, logs io.Writer) offline.Options {
	simOpts := ec2sim.Options{FaultRate: o.faultRate, Seed: 1}
	if o.throttle {
		simOpts.Throttling = ec2sim.AWSThrottling()
	}
	opts := offline.Options{
		Template: o.template, Snapshot: snap, Simulator: simOpts, Bootstraps: o.bootstraps,
		NodeDir: o.nodeDir, Concurrency: o.lambdaConcurrency, Logs: logs,
	}
	if o.retryInterval >= 0 {
		opts.RetryInterval = &o.retryInterval
	}
	return opts
}

// runningInstances asks the simulator, through the real SDK, which
// instances are running: what the EventBridge rule would fire for.
func runningInstances(ctx context.Context, r *offline.Run) ([]string, error) {
	instances, err := ec2api.InstancesAsList(ctx, ec2sim.NewClient(r.EC2Endpoint()), &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{ec2api.Filter("instance-state-name", "running")},
	})
	if err != nil {
		return nil, fmt.Errorf("listing running instances: %w", err)
	}
	ids := make([]string, 0, len(instances))
	for _, in := range instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	sort.Strings(ids)
	return ids, nil
}

func report(out io.Writer, o options, results []offline.Result, inputs map[string]json.RawMessage,
	letters []workflow.DeadLetter, calls map[string]int, took time.Duration, summary offline.BurstSummary) error {
	w := &errWriter{w: out}
	w.printf("mirrorflow, offline: %d placement(s) on %s in %s\n", len(results), o.snapshot, took.Round(time.Millisecond))
	w.printf("state machine from %s (checked by asl-validator), steps from %s, EC2 simulated\n\n", o.template, o.bootstraps)
	if w.err == nil {
		w.err = writeResults(w, results)
	}

	if shown, why := traceWorthShowing(results); shown != nil {
		w.printf("\nTrace of %s (%s):\n", shown.InstanceID, why)
		trace := operate.BuildTrace(shown.Execution.ExecutionARN, offline.History(shown.Execution, inputs[shown.InstanceID]))
		trace.ConsoleURL = ""
		if err := operate.RenderTraceTable(w, trace); err != nil {
			return err
		}
	}

	w.printf("\nDead-letter queue: %d message(s)\n", len(letters))
	for _, dl := range letters {
		cause, _ := workflow.ParseCause(dl.Cause)
		where := dash(dl.InstanceID)
		if dl.NetworkInterfaceID != "" {
			where += " " + dl.NetworkInterfaceID
		}
		w.printf("  %s at %s: %s: %s\n", where, dl.Step, dl.Error, oneLine(cause.ErrorMessage))
	}
	actions := make([]string, 0, len(calls))
	for a := range calls {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	parts := make([]string, 0, len(actions))
	for _, a := range actions {
		parts = append(parts, fmt.Sprintf("%s %d", a, calls[a]))
	}
	w.printf("EC2 calls: %s\n", strings.Join(parts, ", "))
	w.printf("\n%s\n", strings.Join(summary.Lines(), "\n"))
	if w.err != nil {
		return fmt.Errorf("writing the report: %w", w.err)
	}
	return nil
}

// writeResults writes a row per placement, and under an instance of
// several source interfaces a row for each.
func writeResults(out io.Writer, results []offline.Result) error {
	tab := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	tw := &errWriter{w: tab}
	tw.printf("INSTANCE\tOUTCOME\tSENSOR\tREASON\n")
	for _, r := range results {
		if len(r.Interfaces) < 2 {
			tw.printf("%s\t%s\t%s\t%s\n", r.InstanceID, r.Outcome, dash(r.TargetID), shortReason(r))
			continue
		}
		// An instance of several source interfaces: its worst outcome, then
		// a row for each interface.
		tw.printf("%s\t%s\t-\t%s\n", r.InstanceID, r.Outcome, countOutcomes(r.Interfaces))
		for _, ir := range r.Interfaces {
			tw.printf("  %s\t%s\t%s\t%s\n", ir.NetworkInterfaceID, ir.Outcome, dash(ir.TargetID), shortReason(ir))
		}
	}
	if tw.err != nil {
		return fmt.Errorf("writing the table: %w", tw.err)
	}
	if err := tab.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	return nil
}

// errWriter remembers the first error writing to w and writes nothing after
// it, so the report can print line by line and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// countOutcomes says how many of an instance's interfaces ended each way,
// worst first: "3 source interfaces: 1 failed, 1 created, 1 skipped".
func countOutcomes(rs []offline.Result) string {
	n := map[workflow.Outcome]int{}
	for _, r := range rs {
		n[r.Outcome]++
	}
	parts := []string{}
	for _, o := range offline.WorstFirst {
		if n[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[o], o))
		}
	}
	return fmt.Sprintf("%d source interfaces: %s", len(rs), strings.Join(parts, ", "))
}

// shortReason is a placement's reason in a table cell; the trace and the
// dead-letter lines below the table carry the whole text.
func shortReason(r offline.Result) string {
	switch r.Outcome {
	case workflow.OutcomeCreated:
		return "new session " + r.SessionID
	case workflow.OutcomeExists:
		return "already mirrored by session " + r.SessionID
	case workflow.OutcomeFailed:
		cause, _ := workflow.ParseCause(r.Cause)
		rejected := cause.Rejections()
		if len(rejected) == 0 {
			return oneLine(r.FailedStep + ": " + r.Reason)
		}
		more := ""
		if len(rejected) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(rejected)-1)
		}
		return oneLine(fmt.Sprintf("%s: %s: %s%s", r.FailedStep, rejected[0].TargetID, rejected[0].Reason, more))
	}
	return oneLine(r.Reason)
}

// traceWorthShowing picks the placement whose trace teaches most: a failed
// one, else a skipped one, else the first created.
func traceWorthShowing(results []offline.Result) (*offline.Result, string) {
	for _, want := range []workflow.Outcome{workflow.OutcomeFailed, workflow.OutcomeSkipped, workflow.OutcomeCreated} {
		for i := range results {
			if results[i].Outcome == want {
				return &results[i], "the first " + string(want) + " placement"
			}
		}
	}
	return nil, ""
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
