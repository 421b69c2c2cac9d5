package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

var reconcileCommand = command{
	name:     "reconcile",
	synopsis: "reconcile [--wait [--timeout 5m]]",
	help: `Starts one execution of the Reconcile state machine, which brings every
running instance's mirroring in line with the configuration: it places
unmirrored source interfaces and moves sessions off draining, retired or gone
targets. Its input is {"trigger": "mirrorctl"}; it is named
mirrorctl-<unix time>. The state machine is the stack's
ReconcileStateMachineArn output, or --reconcile-state-machine.

With --wait, polls the execution (backing off from 1s to 10s) until it ends
or --timeout passes, then prints its status and its output, a JSON summary
of what it did. Exits 4 when it did not succeed.`,
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
	if err := parseNoArgs(fs, g, args); err != nil {
		return err
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
