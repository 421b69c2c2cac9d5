// Package offline runs the real placement workflow with no AWS: the state
// machine definition that cdk synth produced, checked by asl-validator and
// executed by aws-local-stepfunctions; its Task states sent to the real step
// bootstraps through the local Lambda host; and EC2 played by the simulator
// seeded from a snapshot. Only Retry waits may be shortened.
package offline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/elbv2sim"
	"github.com/mirrorflow/mirrorflow/internal/offline/lambdahost"
	"github.com/mirrorflow/mirrorflow/internal/offline/sfnlocal"
	"github.com/mirrorflow/mirrorflow/internal/offline/template"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Options say what to run.
type Options struct {
	// Template is the synthesized stack template (cdk.out/Mirrorflow.template.json).
	Template string
	// Snapshot seeds the EC2 simulator.
	Snapshot *snapshot.Snapshot
	// Simulator tunes the EC2 simulator (throttling, faults, latency).
	Simulator ec2sim.Options
	// Bootstraps is the folder with one <step dir>/bootstrap per step, built for this machine.
	Bootstraps string
	// NodeDir holds the pinned npm tools and sfn-runner.mjs.
	NodeDir string
	// RetryInterval replaces every Retry interval, in milliseconds; nil keeps the definition's.
	RetryInterval *int
	// Concurrency caps every function's execution environments, which start
	// on demand; an invoke beyond the cap is throttled (429), as Lambda
	// throttles beyond a function's reserved concurrency. 0 takes each
	// function's ReservedConcurrentExecutions from the template, or 10 where
	// it reserves none; N > 0 gives every function N.
	Concurrency int
	// Logs receives the functions' and the engine's output; nil discards it.
	Logs io.Writer
}

// Run is a running offline deployment: simulator, functions and engine.
type Run struct {
	Sim         *ec2sim.Sim
	endpoints   *elbv2sim.Sim
	ec2Endpoint string
	Host        *lambdahost.Host
	engine      *sfnlocal.Engine
	// reconcile runs the Reconcile definition, its placements as children
	// in the same engine; started by the first Reconcile.
	reconcile     *sfnlocal.Engine
	reconcileOnce sync.Once
	reconcileErr  error
	reconcileOpts sfnlocal.Options
	workDir       string
	sqsFile       string
	cancel        context.CancelFunc
	// ctx lives as long as the run: the Reconcile engine starts on it.
	ctx context.Context
}

// Credentials the steps use against the simulator, so the SDK never looks for real ones.
const (
	offlineAccessKey = "AKIAMIRRORFLOWOFFLINE"
	offlineSecretKey = "offline-secret-key-not-used-by-aws"
)

// Start brings the deployment up. Close it when done.
func Start(ctx context.Context, opts Options) (_ *Run, err error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &Run{cancel: cancel, ctx: ctx}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if opts.Logs == nil {
		opts.Logs = io.Discard
	}
	tmpl, err := template.ReadFile(opts.Template)
	if err != nil {
		return nil, fmt.Errorf("starting the offline run: %w", err)
	}
	env := template.DefaultEnv
	def, err := tmpl.Definition(env)
	if err != nil {
		return nil, fmt.Errorf("resolving the state machine definition: %w", err)
	}
	if r.workDir, err = os.MkdirTemp("", "mirrorflow-offline-"); err != nil {
		return nil, fmt.Errorf("making a work folder: %w", err)
	}
	defPath := filepath.Join(r.workDir, "definition.asl.json")
	if err := os.WriteFile(defPath, def, 0o600); err != nil {
		return nil, fmt.Errorf("writing the resolved definition: %w", err)
	}
	if err := sfnlocal.Validate(ctx, opts.NodeDir, defPath); err != nil {
		return nil, fmt.Errorf("checking the synthesized definition: %w", err)
	}

	r.Sim = ec2sim.New(opts.Snapshot, opts.Simulator)
	// One endpoint answers EC2 and ELBv2 from the snapshot's account.
	r.endpoints = elbv2sim.New(r.Sim)
	endpoint, err := r.endpoints.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting the EC2 simulator: %w", err)
	}
	r.ec2Endpoint = endpoint

	fns, err := functions(tmpl, env, opts, endpoint)
	if err != nil {
		return nil, err
	}
	if r.Host, err = lambdahost.Start(ctx, fns, lambdahost.Options{Logs: opts.Logs}); err != nil {
		return nil, fmt.Errorf("starting the step functions' Lambdas: %w", err)
	}

	r.sqsFile = filepath.Join(r.workDir, "dead-letter-queue.jsonl")
	smARN, err := tmpl.StateMachineARN(env)
	if err != nil {
		return nil, fmt.Errorf("naming the state machine: %w", err)
	}
	r.engine, err = sfnlocal.Start(ctx, sfnlocal.Options{
		NodeDir: opts.NodeDir, Definition: defPath, LambdaEndpoint: r.Host.Endpoint(),
		SQSFile: r.sqsFile, RetryInterval: opts.RetryInterval, StateMachineARN: smARN, Stderr: opts.Logs,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the state machine engine: %w", err)
	}
	if err := r.prepareReconcile(ctx, tmpl, env, opts, defPath, smARN); err != nil {
		return nil, err
	}
	return r, nil
}

// prepareReconcile resolves the Reconcile definition, when the template has
// one, and checks it with asl-validator; its engine starts with the first
// Reconcile, with the placement definition as the child its Map starts.
func (r *Run) prepareReconcile(ctx context.Context, tmpl *template.Template, env template.Env, opts Options, placementDef, placementARN string) error {
	if _, ok := tmpl.Outputs[template.OutputReconcile]; !ok {
		return nil
	}
	id, err := tmpl.StateMachineOf(template.OutputReconcile)
	if err != nil {
		return err
	}
	def, err := tmpl.DefinitionOf(env, id)
	if err != nil {
		return fmt.Errorf("resolving the Reconcile definition: %w", err)
	}
	path := filepath.Join(r.workDir, "reconcile.asl.json")
	if err := os.WriteFile(path, def, 0o600); err != nil {
		return fmt.Errorf("writing the resolved Reconcile definition: %w", err)
	}
	if err := sfnlocal.Validate(ctx, opts.NodeDir, path); err != nil {
		return fmt.Errorf("checking the synthesized Reconcile definition: %w", err)
	}
	r.reconcileOpts = sfnlocal.Options{
		NodeDir: opts.NodeDir, Definition: path, LambdaEndpoint: r.Host.Endpoint(),
		SQSFile: r.sqsFile, RetryInterval: opts.RetryInterval, StateMachineARN: template.ARNOf(env, id),
		Children: map[string]string{placementARN: placementDef}, Stderr: opts.Logs,
	}
	return nil
}

// Reconcile runs one execution of the Reconcile state machine, named name,
// with input ({} or {"trigger": "..."}); the placements it starts run as its
// children, listed in the result's Children.
func (r *Run) Reconcile(ctx context.Context, name string, input any) (sfnlocal.Execution, error) {
	if r.reconcileOpts.Definition == "" {
		return sfnlocal.Execution{}, errors.New("running the Reconcile: the template has no Reconcile state machine (no ReconcileStateMachineArn output)")
	}
	r.reconcileOnce.Do(func() {
		r.reconcile, r.reconcileErr = sfnlocal.Start(r.ctx, r.reconcileOpts)
	})
	if r.reconcileErr != nil {
		return sfnlocal.Execution{}, fmt.Errorf("starting the Reconcile engine: %w", r.reconcileErr)
	}
	raw, err := json.Marshal(input)
	if err != nil {
		return sfnlocal.Execution{}, fmt.Errorf("encoding the input of %s: %w", name, err)
	}
	return r.reconcile.Execute(ctx, name, raw)
}

// functions lists one hosted function per workflow step, with the
// environment the template gives it plus what points it at the simulator,
// and its concurrency (see Options.Concurrency).
func functions(tmpl *template.Template, env template.Env, opts Options, endpoint string) ([]lambdahost.Function, error) {
	byStep, err := tmpl.StepFunctions(env)
	if err != nil {
		return nil, fmt.Errorf("finding the step functions in the template: %w", err)
	}
	var out []lambdahost.Function
	for _, step := range workflow.Functions() {
		fn, ok := byStep[step.Name]
		if !ok {
			return nil, fmt.Errorf("finding the function of step %s: the template has none", step.Name)
		}
		vars := maps.Clone(fn.Environment)
		// The snapshot's Config is the configuration of the account it
		// describes, so it stands in for the cdk.json one the template carries.
		if cfg := opts.Snapshot.Config; cfg != nil {
			maps.Copy(vars, cfg.Env())
		}
		maps.Copy(vars, map[string]string{
			"AWS_ENDPOINT_URL_EC2":                       endpoint,
			"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2": endpoint,
			"AWS_REGION":                env.Region,
			"AWS_DEFAULT_REGION":        env.Region,
			"AWS_ACCESS_KEY_ID":         offlineAccessKey,
			"AWS_SECRET_ACCESS_KEY":     offlineSecretKey,
			"AWS_EC2_METADATA_DISABLED": "true",
		})
		// A deployed function without reserved concurrency shares the
		// account's (1,000 by default); a laptop's process count is bounded
		// instead.
		const defaultConcurrency = 10
		concurrency := defaultConcurrency
		switch {
		case opts.Concurrency > 0:
			concurrency = opts.Concurrency
		case fn.ReservedConcurrency > 0:
			concurrency = fn.ReservedConcurrency
		}
		out = append(out, lambdahost.Function{
			Name:        fn.ARN,
			Bootstrap:   filepath.Join(opts.Bootstraps, step.Dir, "bootstrap"),
			Env:         vars,
			Timeout:     fn.Timeout,
			Concurrency: concurrency,
		})
	}
	return out, nil
}

// EC2Endpoint is the simulator's URL, for clients that look at the account.
func (r *Run) EC2Endpoint() string { return r.ec2Endpoint }

// Execute runs one execution of the state machine with input, named name.
func (r *Run) Execute(ctx context.Context, name string, input any) (sfnlocal.Execution, error) {
	raw, err := json.Marshal(input)
	if err != nil {
		return sfnlocal.Execution{}, fmt.Errorf("encoding the input of %s: %w", name, err)
	}
	return r.engine.Execute(ctx, name, raw)
}

// DeadLetters returns the messages the dead-letter path has sent so far.
func (r *Run) DeadLetters() ([]workflow.DeadLetter, error) {
	msgs, err := sfnlocal.ReadMessages(r.sqsFile)
	if err != nil {
		return nil, fmt.Errorf("reading the dead-letter queue: %w", err)
	}
	out := make([]workflow.DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		var dl workflow.DeadLetter
		if err := json.Unmarshal([]byte(m.Body), &dl); err != nil {
			return nil, fmt.Errorf("decoding dead-letter message %s: %w", m.MessageID, err)
		}
		out = append(out, dl)
	}
	return out, nil
}

// Close stops the engine, the functions and the simulator and removes the
// work folder. It is best effort, as a deferred teardown: each part is
// stopped even when another fails, and there is no caller left to act on an
// error.
func (r *Run) Close() {
	if r.engine != nil {
		_ = r.engine.Close()
	}
	if r.reconcile != nil {
		_ = r.reconcile.Close()
	}
	if r.Host != nil {
		r.Host.Close()
	}
	if r.cancel != nil {
		r.cancel()
	}
	if r.endpoints != nil {
		_ = r.endpoints.Close()
	}
	if r.workDir != "" {
		_ = os.RemoveAll(r.workDir)
	}
}

// Result is one placement as a person reads it: what happened and why.
type Result struct {
	InstanceID         string           `json:"instanceId"`
	NetworkInterfaceID string           `json:"networkInterfaceId,omitempty"`
	Outcome            workflow.Outcome `json:"outcome"`
	TargetID           string           `json:"targetId,omitempty"`
	SessionID          string           `json:"sessionId,omitempty"`
	Reason             string           `json:"reason,omitempty"`
	FailedStep         string           `json:"failedStep,omitempty"`
	// Cause is the failed step's cause as Step Functions caught it (for a
	// Lambda error, aws-lambda-go's JSON document): the execution's, or the
	// interface's when one failed inside the Map.
	Cause string `json:"-"`
	// Interfaces has each source interface's result when there are several.
	Interfaces []Result           `json:"interfaces,omitempty"`
	Execution  sfnlocal.Execution `json:"-"`
}

// Summarize reads an execution's outcome. The state machine places each
// source interface of the instance in its Map; the Map's output (the final
// payload of a succeeded execution, or the Map state's output in the events
// of one that failed because an interface did) has one entry per interface.
// With one interface, as with Interfaces "primary", the result is that
// interface's; with several, Interfaces has each and the result sums them
// up: failed if any failed, else created if any was, else exists if any
// did, else skipped. An execution that failed before the Map (the instance
// as a whole) names the step and the error.
func Summarize(instanceID string, x sfnlocal.Execution) Result {
	res := Result{InstanceID: instanceID, Execution: x}
	var placed struct {
		Outcome    workflow.Outcome  `json:"outcome"`
		Reason     string            `json:"reason"`
		Interfaces []json.RawMessage `json:"interfaces"`
		Placed     *struct {
			Interfaces []json.RawMessage `json:"interfaces"`
		} `json:"placed"`
	}
	doc := x.Output
	if !x.Succeeded() {
		doc = mapOutput(x.Events)
	}
	if len(doc) > 0 {
		if err := json.Unmarshal(doc, &placed); err != nil {
			res.Outcome, res.Reason = workflow.OutcomeFailed, "decoding the final payload: "+err.Error()
			return res
		}
		if placed.Placed != nil {
			placed.Interfaces = placed.Placed.Interfaces
		}
	}
	switch {
	case len(placed.Interfaces) > 0:
		for _, raw := range placed.Interfaces {
			res.Interfaces = append(res.Interfaces, interfaceResult(instanceID, raw))
		}
		if len(res.Interfaces) == 1 {
			one := res.Interfaces[0]
			one.Execution = x
			return one
		}
		sumUp(&res)
	case x.Succeeded():
		res.Outcome, res.Reason = placed.Outcome, placed.Reason
	default:
		res.Outcome = workflow.OutcomeFailed
		res.FailedStep, res.Cause = failedStep(x.Events), x.Cause
		cause, _ := workflow.ParseCause(x.Cause)
		res.Reason = x.Error + ": " + cause.ErrorMessage
	}
	return res
}

// interfaceResult reads one entry of the Map's output: an interface's
// final payload, or the InterfaceFailed summary of one that failed.
func interfaceResult(instanceID string, raw json.RawMessage) Result {
	var v struct {
		workflow.Placement
		NetworkInterfaceID string `json:"networkInterfaceId"`
		FailedStep         string `json:"failedStep"`
		Cause              string `json:"cause"`
	}
	res := Result{InstanceID: instanceID}
	if err := json.Unmarshal(raw, &v); err != nil {
		res.Outcome, res.Reason = workflow.OutcomeFailed, "decoding an interface's payload: "+err.Error()
		return res
	}
	res.Outcome, res.TargetID, res.SessionID, res.Reason = v.Outcome, v.TargetID, v.SessionID, v.Reason
	res.NetworkInterfaceID = v.NetworkInterfaceID
	if v.Source != nil {
		res.NetworkInterfaceID = v.Source.NetworkInterfaceID
	}
	if v.Outcome == workflow.OutcomeFailed && v.FailedStep != "" {
		res.FailedStep, res.Cause = v.FailedStep, v.Cause
		cause, _ := workflow.ParseCause(v.Cause)
		res.Reason = v.Error + ": " + cause.ErrorMessage
	}
	return res
}

// WorstFirst orders the outcomes from the one an operator must act on to
// the one with nothing done.
var WorstFirst = []workflow.Outcome{workflow.OutcomeFailed, workflow.OutcomeCreated, workflow.OutcomeExists, workflow.OutcomeSkipped}

// sumUp gives an instance of several interfaces one outcome, the worst
// that happened to any of them, and the first such interface's reason.
func sumUp(res *Result) {
	for _, o := range WorstFirst {
		for _, r := range res.Interfaces {
			if r.Outcome == o {
				res.Outcome, res.Reason, res.FailedStep, res.Cause = o, r.Reason, r.FailedStep, r.Cause
				res.NetworkInterfaceID, res.TargetID, res.SessionID = r.NetworkInterfaceID, r.TargetID, r.SessionID
				return
			}
		}
	}
}

// mapOutput is the output the Map state of the execution exited with,
// which a failed execution has no other record of.
func mapOutput(events []sfnlocal.Event) json.RawMessage {
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Type == "StateExited" && e.StateType == "Map" {
			return e.Output
		}
	}
	return nil
}

// failedStep is the last workflow step that failed in the execution's events.
func failedStep(events []sfnlocal.Event) string {
	step := ""
	for _, e := range events {
		if e.Type == "StateFailed" {
			if _, ok := workflow.StepNamed(e.State); ok {
				step = e.State
			}
		}
	}
	return step
}

// SortResults orders results by instance id, for stable output.
func SortResults(rs []Result) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].InstanceID < rs[j].InstanceID })
}

// ErrNoRunningInstances is returned when the snapshot has nothing to place.
var ErrNoRunningInstances = errors.New("the snapshot has no running instances")

// DefaultTimeout bounds one execution of the demo.
const DefaultTimeout = 2 * time.Minute
