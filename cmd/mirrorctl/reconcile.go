package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/elbv2api"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

var reconcileCommand = command{
	name:     "reconcile",
	synopsis: "reconcile [--wait [--timeout 5m]] | reconcile --dry-run (--snapshot FILE | --live)",
	help: `Starts one execution of the Reconcile state machine, which brings every
running instance's mirroring in line with the configuration: it places
unmirrored source interfaces and moves sessions off draining, retired or gone
targets. Its input is {"trigger": "mirrorctl"}; it is named
mirrorctl-<unix time>. The state machine is the stack's
ReconcileStateMachineArn output, or --reconcile-state-machine.

With --wait, polls the execution (backing off from 1s to 10s) until it ends
or --timeout passes, then prints its status and its output, a JSON summary
of what it did. Exits 4 when it did not succeed.

With --dry-run, starts nothing: it prints the coverage report (as mirrorctl
coverage does, from --snapshot FILE or --live with the configuration flags
plan takes) and what a Reconcile would do now: the instances it would place
again, and the stale sessions it would delete itself (those of interfaces
no placement touches; an unmirrored interface's stale sessions are deleted
by its placement, just before it creates the new one).`,
	run: runReconcile,
}

// reconcileInput is the input of every Reconcile execution mirrorctl starts.
const reconcileInput = `{"trigger": "mirrorctl"}`

// reconcileRun is one Reconcile execution as reconcile and drain print it:
// what was started and, after --wait, how it ended.
type reconcileRun struct {
	ExecutionARN string `json:"executionArn"`
	Name         string `json:"name"`
	Input        string `json:"input"`
	ConsoleURL   string `json:"consoleUrl"`
	// Status and what follows are set only by --wait.
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	// Output is the execution's output, kept as the JSON it is.
	Output json.RawMessage `json:"output,omitempty"`
}

func runReconcile(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	wait := fs.Bool("wait", false, "wait for the execution to end and print its output")
	timeout := fs.Duration("timeout", defaultWaitTimeout, "how long --wait waits")
	dryRun := fs.Bool("dry-run", false, "start nothing: print the coverage and what a Reconcile would do (needs --snapshot or --live)")
	f := newPlanFlags()
	f.registerAccount(fs)
	if err := parseNoArgs(fs, g, args); err != nil {
		return err
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if *dryRun {
		if *wait {
			return usagef("--wait does not apply to --dry-run, which starts nothing")
		}
		if err := f.check(); err != nil {
			return err
		}
		return f.withAccount(ctx, a, g, func(api ec2api.API, lb elbv2api.API, cfg config.Config) error {
			return a.reconcileDryRun(ctx, g, steps.New(api, lb, cfg))
		})
	}
	for _, name := range []string{"snapshot", "live", "config", "filter-id", "target-id", "sensor-tag", "local-zone-only", "session-number"} {
		if f.set[name] {
			return usagef("--%s applies to --dry-run only; a Reconcile reads the account with the deployed configuration", name)
		}
	}
	if *timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	c, err := a.resolve(ctx, g, need{reconcile: true})
	if err != nil {
		return err
	}
	name := fmt.Sprintf("mirrorctl-%d", a.now().Unix())
	r, err := a.reconcileOnce(ctx, c, name, *wait, *timeout)
	if r.ExecutionARN == "" {
		return err
	}
	if rerr := a.render(g, r, func(w io.Writer) error { return renderReconcile(w, r) }); rerr != nil {
		return rerr
	}
	return err
}

// reconcileOnce starts one Reconcile execution named name and, with wait,
// follows it until it ends or timeout passes. It returns what to print,
// and an error when the start failed (no ExecutionARN then), the wait
// failed, or the execution did not succeed (errNotSucceeded); in the last
// two the execution is still printed before the error.
func (a *app) reconcileOnce(ctx context.Context, c *clients, name string, wait bool, timeout time.Duration) (reconcileRun, error) {
	arn, err := operate.Start(ctx, c.sfn, c.deployment.ReconcileStateMachineARN, name, reconcileInput)
	if err != nil {
		return reconcileRun{}, err
	}
	r := reconcileRun{ExecutionARN: arn, Name: name, Input: reconcileInput, ConsoleURL: operate.ConsoleURL(arn)}
	if !wait {
		return r, nil
	}
	last, stillRunning, err := a.follow(ctx, c, arn, timeout, nil)
	if err != nil {
		// The execution was started: its ARN is still worth printing.
		return r, err
	}
	r.Status = operate.StatusRunning
	if last != nil {
		r.Status, r.Error, r.Cause = string(last.Status), aws.ToString(last.Error), aws.ToString(last.Cause)
		if out := aws.ToString(last.Output); out != "" {
			r.Output = jsonOrString(out)
		}
	}
	return r, verdict("the reconcile", name, r.Status, stillRunning, timeout)
}

// jsonOrString keeps an execution's output as JSON; Step Functions only
// ever returns JSON, but should it not, the text is kept as a JSON string
// rather than failing the whole answer.
func jsonOrString(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	// Marshalling a string cannot fail.
	b, _ := json.Marshal(s)
	return b
}

// renderReconcile writes a started Reconcile execution and, after --wait,
// how it ended with its output indented below.
func renderReconcile(w io.Writer, r reconcileRun) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Started   %s\nARN       %s\nConsole   %s\n", r.Name, r.ExecutionARN, r.ConsoleURL)
	if r.Status != "" {
		status := r.Status
		if r.Error != "" {
			status += ": " + r.Error
		}
		fmt.Fprintf(&b, "Status    %s\n", status)
		if r.Cause != "" {
			fmt.Fprintf(&b, "Cause     %s\n", r.Cause)
		}
	}
	if len(r.Output) > 0 {
		var indented strings.Builder
		if err := operate.RenderJSON(&indented, r.Output); err != nil {
			return err
		}
		b.WriteString("Output\n")
		for _, line := range strings.Split(strings.TrimRight(indented.String(), "\n"), "\n") {
			b.WriteString("  " + line + "\n")
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the reconcile: %w", err)
	}
	return nil
}

// ReconcilePlan is what reconcile --dry-run prints: the coverage, and what
// a Reconcile would do now.
type ReconcilePlan struct {
	Coverage operate.CoverageReport `json:"coverage"`
	// Place are the instances it would place again, each by an execution
	// of its own.
	Place []string `json:"place"`
	// Delete are the stale sessions it would delete itself.
	Delete []workflow.StaleSession `json:"delete"`
}

// reconcileDryRun judges the account as the Reconcile's first step does
// and says what it would do, changing nothing.
func (a *app) reconcileDryRun(ctx context.Context, g *globals, h *steps.Handlers) error {
	report, err := operate.CoverageOf(ctx, h)
	if err != nil {
		return err
	}
	plan := ReconcilePlan{Coverage: report, Place: []string{}, Delete: []workflow.StaleSession{}}
	for _, i := range report.Interfaces {
		if i.Status == workflow.CoverageUnmirrored && !slices.Contains(plan.Place, i.InstanceID) {
			plan.Place = append(plan.Place, i.InstanceID)
		}
	}
	for _, s := range report.Stale {
		if !s.Placed {
			plan.Delete = append(plan.Delete, s)
		}
	}
	return a.render(g, plan, func(w io.Writer) error {
		if err := renderCoverageTable(w, report); err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "A Reconcile now would place %d instance(s) again, each by a placement execution of its own", len(plan.Place))
		if len(plan.Place) > 0 {
			b.WriteString(": " + strings.Join(plan.Place, ", "))
		}
		fmt.Fprintf(&b, "; and delete %d stale session(s) itself", len(plan.Delete))
		for i, s := range plan.Delete {
			sep := ", "
			if i == 0 {
				sep = ": "
			}
			b.WriteString(sep + s.SessionID)
		}
		b.WriteString(" (the other stale sessions are deleted by their interface's placement).")
		text := "\n" + strings.Join(wrap(b.String(), planTableWidth), "\n") + "\n"
		if _, err := io.WriteString(w, text); err != nil {
			return fmt.Errorf("writing the dry run: %w", err)
		}
		return nil
	})
}
