package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/shared/placement"
)

var drainCommand = command{
	name:     "drain",
	synopsis: "drain TARGET [--wait [--timeout 5m]]",
	help: `Moves every source off a sensor before maintenance. TARGET is a traffic
mirror target id (tmt- and 17 hex digits). drain checks that it exists, tags
it mirrorflow:draining=true (from then on no placement chooses it, and its
sessions are stale), says how many source interfaces it holds, and starts one
execution of the Reconcile state machine, which moves them to other sensors.
A target already draining is not tagged again; the Reconcile is started
anyway. The execution is named mirrorctl-drain-TARGET-<unix time>, with input
{"trigger": "mirrorctl"}; the state machine is the stack's
ReconcileStateMachineArn output, or --reconcile-state-machine.

With --wait, polls the execution (backing off from 1s to 10s) until it ends
or --timeout passes, then prints its status and output, as reconcile --wait
does. Exits 2 when TARGET is malformed or no such target exists (nothing is
changed), 3 on an AWS error, 4 when the Reconcile did not succeed. undrain
TARGET removes the tag.`,
	run: runDrain,
}

var undrainCommand = command{
	name:     "undrain",
	synopsis: "undrain TARGET",
	help: `Lets placements choose a drained sensor again: removes the tag
mirrorflow:draining=true from the traffic mirror target TARGET (DeleteTags
with that key and value). It starts nothing: the sources a drain moved stay
where they are, and only new placements may use TARGET again. A target that
is not draining is left as it is. Exits 2 when TARGET is malformed or no
such target exists, 3 on an AWS error.`,
	run: runUndrain,
}

// drained is what drain prints.
type drained struct {
	TargetID string `json:"targetId"`
	// AlreadyDraining says the target carried the tag before: drain did not
	// tag it again.
	AlreadyDraining bool `json:"alreadyDraining"`
	// Load is what the target held when drain started the Reconcile.
	Load      operate.Load `json:"load"`
	Reconcile reconcileRun `json:"reconcile"`
}

// undrained is what undrain prints.
type undrained struct {
	TargetID string `json:"targetId"`
	// WasDraining says the tag was there to remove.
	WasDraining bool         `json:"wasDraining"`
	Load        operate.Load `json:"load"`
}

func runDrain(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	wait := fs.Bool("wait", false, "wait for the Reconcile execution to end and print its output")
	timeout := fs.Duration("timeout", defaultWaitTimeout, "how long --wait waits")
	id, err := parseTarget(fs, g, args, "drain")
	if err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	// The Reconcile state machine is found first, so that a stack without
	// one refuses the drain before the target is tagged.
	c, err := a.resolve(ctx, g, need{reconcile: true})
	if err != nil {
		return err
	}
	d := drained{TargetID: id}
	if d.AlreadyDraining, err = setDraining(ctx, c, id, true); err != nil {
		return err
	}
	if d.Load, err = operate.LoadOf(ctx, c.ec2, id); err != nil {
		return err
	}
	name := fmt.Sprintf("mirrorctl-drain-%s-%d", id, a.now().Unix())
	d.Reconcile, err = a.reconcileOnce(ctx, c, name, *wait, *timeout)
	if d.Reconcile.ExecutionARN == "" {
		return fmt.Errorf("%s is draining, but its sources were not moved: %w; run mirrorctl reconcile to move them", id, err)
	}
	if rerr := a.render(g, d, func(w io.Writer) error { return renderDrained(w, d) }); rerr != nil {
		return rerr
	}
	return err
}

func runUndrain(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	id, err := parseTarget(fs, g, args, "undrain")
	if err != nil {
		return err
	}
	c, err := a.resolve(ctx, g, need{})
	if err != nil {
		return err
	}
	u := undrained{TargetID: id}
	if u.WasDraining, err = setDraining(ctx, c, id, false); err != nil {
		return err
	}
	if u.Load, err = operate.LoadOf(ctx, c.ec2, id); err != nil {
		return err
	}
	return a.render(g, u, func(w io.Writer) error { return renderUndrained(w, u) })
}

// parseTarget parses the flags and the one TARGET argument of drain and
// undrain, and refuses one that is not a traffic mirror target id.
func parseTarget(fs *flag.FlagSet, g *globals, args []string, name string) (string, error) {
	rest, err := parse(fs, g, args)
	if err != nil {
		return "", err
	}
	switch {
	case len(rest) != 1:
		return "", usagef("%s takes one traffic mirror target id", name)
	case !operate.ValidTargetID(rest[0]):
		return "", usagef("%q is not a traffic mirror target id (tmt- followed by 17 hex digits)", rest[0])
	}
	return rest[0], nil
}

// setDraining describes the target, then tags it draining or removes the
// tag unless it already is as asked, and returns whether it was draining.
// A target that does not exist is a usage error (exit 2): nothing was
// changed, and running again cannot help.
func setDraining(ctx context.Context, c *clients, id string, draining bool) (bool, error) {
	t, err := operate.DescribeTarget(ctx, c.ec2, id)
	if err == nil {
		was := placement.Draining(t)
		if was != draining {
			err = operate.SetDraining(ctx, c.ec2, id, draining)
		}
		if err == nil {
			return was, nil
		}
	}
	if operate.IsNoTarget(err) {
		return false, &inputError{err}
	}
	return false, err
}

func renderDrained(w io.Writer, d drained) error {
	var b strings.Builder
	if d.AlreadyDraining {
		fmt.Fprintf(&b, "%s was already draining (%s=%s); starting a Reconcile to move what it still holds.\n",
			d.TargetID, placement.DrainingTagKey, placement.DrainingTagValue)
	} else {
		fmt.Fprintf(&b, "%s is draining: tagged %s=%s, so no placement chooses it.\n",
			d.TargetID, placement.DrainingTagKey, placement.DrainingTagValue)
	}
	if d.Load.Sessions == 0 {
		b.WriteString("It holds no sessions now; nothing is left for the Reconcile below to move.\n\n")
	} else {
		fmt.Fprintf(&b, "It holds %s now; the Reconcile below moves them to other sensors.\n\n", holds(d.Load))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the drain: %w", err)
	}
	return renderReconcile(w, d.Reconcile)
}

func renderUndrained(w io.Writer, u undrained) error {
	var b strings.Builder
	if u.WasDraining {
		fmt.Fprintf(&b, "%s is no longer draining: removed %s=%s; new placements may choose it again.\n",
			u.TargetID, placement.DrainingTagKey, placement.DrainingTagValue)
	} else {
		fmt.Fprintf(&b, "%s was not draining (no %s=%s tag); nothing to remove.\n",
			u.TargetID, placement.DrainingTagKey, placement.DrainingTagValue)
	}
	fmt.Fprintf(&b, "Nothing was started: the sources a drain moved stay where they are. It holds %s now.\n", holds(u.Load))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the undrain: %w", err)
	}
	return nil
}

// holds says a target's load in words.
func holds(l operate.Load) string {
	return fmt.Sprintf("%d source interface%s (%d session%s)", l.Sources, plural(l.Sources), l.Sessions, plural(l.Sessions))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
