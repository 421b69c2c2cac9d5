// Package sfnlocal executes a Step Functions definition on this machine
// with the npm package aws-local-stepfunctions (Retry and Catch behave as in
// AWS), and checks definitions with asl-validator. Both are pinned in
// _node/package.json; the Node side is _node/sfn-runner.mjs.
package sfnlocal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

// Options say where the tools are and where the Task states go.
type Options struct {
	// NodeDir is the folder holding package.json, node_modules and sfn-runner.mjs.
	NodeDir string
	// Definition is the path of the resolved definition (no CloudFormation tokens).
	Definition string
	// LambdaEndpoint is the base URL of a Lambda Invoke API server.
	LambdaEndpoint string
	// SQSFile receives each sqs:sendMessage as a JSON line (see Message).
	SQSFile string
	// RetryInterval, when set, replaces every Retry interval (milliseconds)
	// so that an offline run does not wait as long as AWS would.
	RetryInterval *int
	// StateMachineARN names the state machine in the context object.
	StateMachineARN string
	// Children are the state machines the definition's
	// startExecution.sync:2 states start, by ARN: the path of each one's
	// resolved definition. The engine runs their executions too.
	Children map[string]string
	// Stderr receives the engine's own diagnostics; nil discards them.
	Stderr io.Writer
}

// Execution is the result of one execution.
type Execution struct {
	Name         string          `json:"name"`
	ExecutionARN string          `json:"executionArn"`
	StartTime    string          `json:"startTime"`
	StopTime     string          `json:"stopTime"`
	Status       string          `json:"status"`
	Output       json.RawMessage `json:"output,omitempty"`
	Error        string          `json:"error,omitempty"`
	Cause        string          `json:"cause,omitempty"`
	Events       []Event         `json:"events"`
	// Parent names the execution whose startExecution.sync:2 state ran
	// this one; empty for an execution started by Execute.
	Parent string `json:"parent,omitempty"`
	// Children are the child executions its startExecution.sync:2 states
	// ran, in the order they ended. The engine writes each as it ends, on a
	// line of its own naming its parent; read collects them here.
	Children []Execution `json:"-"`
}

// Succeeded reports whether the execution ended in a Succeed state.
func (e Execution) Succeeded() bool { return e.Status == "SUCCEEDED" }

// Event is one entry of the engine's execution log.
type Event struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	State     string          `json:"state,omitempty"`
	StateType string          `json:"stateType,omitempty"`
	Error     string          `json:"error,omitempty"`
	Cause     string          `json:"cause,omitempty"`
	Attempt   int             `json:"attempt,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
}

// Message is one message an sqs:sendMessage Task sent.
type Message struct {
	QueueURL  string `json:"QueueUrl"`
	MessageID string `json:"MessageId"`
	Body      string `json:"Body"`
}

// ErrToolsMissing says the pinned npm tools are not installed.
var ErrToolsMissing = errors.New("the pinned npm tools are not installed: run `make node`")

// Engine is a running sfn-runner process that takes executions.
type Engine struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	mu      sync.Mutex
	waiting map[string]chan Execution
	// children holds the child executions that ended, by their parent's
	// name, until the parent ends.
	children map[string][]Execution
	done     chan struct{}
	err      error
}

// Start launches the engine on the definition.
func Start(ctx context.Context, opts Options) (*Engine, error) {
	if err := checkTools(opts.NodeDir, "aws-local-stepfunctions"); err != nil {
		return nil, err
	}
	// The engine runs in NodeDir, so every path it is given must be absolute.
	for _, p := range []*string{&opts.NodeDir, &opts.Definition, &opts.SQSFile} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", *p, err)
		}
		*p = abs
	}
	runner := filepath.Join(opts.NodeDir, "sfn-runner.mjs")
	args := []string{runner, "--definition", opts.Definition, "--lambda-endpoint", opts.LambdaEndpoint, "--sqs-file", opts.SQSFile}
	if opts.RetryInterval != nil {
		args = append(args, "--retry-interval-ms", strconv.Itoa(*opts.RetryInterval))
	}
	if opts.StateMachineARN != "" {
		args = append(args, "--state-machine-arn", opts.StateMachineARN)
	}
	for _, arn := range slices.Sorted(maps.Keys(opts.Children)) {
		path, err := filepath.Abs(opts.Children[arn])
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", opts.Children[arn], err)
		}
		args = append(args, "--child", arn+"="+path)
	}
	cmd := exec.CommandContext(ctx, "node", args...) //nolint:gosec // G204: runs the project's own sfn-runner.mjs; the paths are the caller's work folder and --node-dir, passed as arguments, not through a shell.
	cmd.Dir = opts.NodeDir
	cmd.Stderr = opts.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("opening the engine's stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("opening the engine's stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting node %s: %w", runner, err)
	}
	e := &Engine{cmd: cmd, stdin: stdin, waiting: map[string]chan Execution{}, children: map[string][]Execution{}, done: make(chan struct{})}
	go e.read(stdout)
	return e, nil
}

func (e *Engine) read(stdout io.Reader) {
	defer close(e.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var x Execution
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			e.fail(fmt.Errorf("decoding the engine's answer %q: %w", truncate(sc.Text(), 200), err))
			return
		}
		e.mu.Lock()
		// An execution's children end before it does, so they are here.
		x.Children = e.children[x.Name]
		delete(e.children, x.Name)
		if x.Parent != "" {
			e.children[x.Parent] = append(e.children[x.Parent], x)
			e.mu.Unlock()
			continue
		}
		ch, ok := e.waiting[x.Name]
		delete(e.waiting, x.Name)
		e.mu.Unlock()
		if ok {
			ch <- x
		}
	}
	err := sc.Err()
	if werr := e.cmd.Wait(); err == nil {
		err = werr
	}
	if err == nil {
		err = errors.New("the engine exited")
	}
	e.fail(fmt.Errorf("reading the engine's answers: %w", err))
}

func (e *Engine) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = err
	}
}

// Execute runs one execution named name with input and waits for its end.
// Executions may run concurrently; names must be unique while they run.
func (e *Engine) Execute(ctx context.Context, name string, input json.RawMessage) (Execution, error) {
	ch := make(chan Execution, 1)
	e.mu.Lock()
	if e.err != nil {
		err := e.err
		e.mu.Unlock()
		return Execution{}, fmt.Errorf("executing %s: %w", name, err)
	}
	if _, dup := e.waiting[name]; dup {
		e.mu.Unlock()
		return Execution{}, fmt.Errorf("executing %s: an execution of that name is running", name)
	}
	e.waiting[name] = ch
	line, err := json.Marshal(struct {
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	}{name, input})
	if err == nil {
		_, err = e.stdin.Write(append(line, '\n'))
	}
	e.mu.Unlock()
	if err != nil {
		return Execution{}, fmt.Errorf("sending execution %s to the engine: %w", name, err)
	}
	select {
	case x := <-ch:
		return x, nil
	case <-e.done:
		select {
		case x := <-ch:
			return x, nil
		default:
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		return Execution{}, fmt.Errorf("executing %s: %w", name, e.err)
	case <-ctx.Done():
		return Execution{}, fmt.Errorf("executing %s: %w", name, ctx.Err())
	}
}

// Close lets running executions finish and stops the engine.
func (e *Engine) Close() error {
	_ = e.stdin.Close()
	<-e.done
	return nil
}

// Validate runs asl-validator on the definition file and returns its
// findings as an error when the definition is not valid ASL.
func Validate(ctx context.Context, nodeDir, definition string) error {
	if err := checkTools(nodeDir, "asl-validator"); err != nil {
		return err
	}
	bin := filepath.Join(nodeDir, "node_modules", ".bin", "asl-validator")
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--json-path", definition) //nolint:gosec // G204: bin is the pinned asl-validator under the operator's --node-dir, and definition is this run's own output file.
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("validating %s with asl-validator: %w\n%s", definition, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

func checkTools(nodeDir, pkg string) error {
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", pkg, "package.json")); err != nil {
		return fmt.Errorf("finding %s in %s: %w", pkg, nodeDir, ErrToolsMissing)
	}
	return nil
}

// ReadMessages reads the messages an engine wrote to an SQS file.
func ReadMessages(path string) ([]Message, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: path is the SQS file the caller gave the engine in its own work folder.
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading queued messages: %w", err)
	}
	var out []Message
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("decoding queued message %d of %s: %w", i+1, path, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
