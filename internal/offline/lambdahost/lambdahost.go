// Package lambdahost runs real Lambda bootstrap binaries on this machine and
// invokes them as the Lambda service would, so the workflow can be executed
// offline with the very binaries that are deployed.
//
// Each function gets its own server of the Lambda Runtime API
// (GET /2018-06-01/runtime/invocation/next, POST .../{id}/response,
// POST .../{id}/error, POST .../init/error) on loopback, and one or more
// bootstrap processes that poll it, as execution environments do. The host
// itself answers the Lambda Invoke API
// (POST /2015-03-31/functions/{name}/invocations) so that a state machine
// engine can call the functions by name over HTTP.
package lambdahost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Function describes one Lambda function to host.
type Function struct {
	// Name is what the Invoke API is called with: a function name or ARN.
	Name string
	// Bootstrap is the path of the executable built with lambda.Start.
	Bootstrap string
	// Env is the function's environment (from the template), on top of which
	// the host sets the runtime's own variables.
	Env map[string]string
	// Timeout is the function's timeout; an invocation that outlives it ends
	// in a Sandbox.Timedout error and its process is replaced.
	Timeout time.Duration
	// Concurrency is how many execution environments (processes) serve the
	// function at once; at least 1.
	Concurrency int
}

// Result is what one invocation returned.
type Result struct {
	// Payload is the function's response, or the error document when
	// ErrorType is set (as Lambda returns it with X-Amz-Function-Error).
	Payload []byte
	// ErrorType is the Lambda errorType when the function failed.
	ErrorType string
	// ErrorMessage is the function's errorMessage when it failed.
	ErrorMessage string
}

// Failed reports whether the function returned an error.
func (r Result) Failed() bool { return r.ErrorType != "" }

// errorDoc is the body of POST .../error and of a failed Invoke answer.
type errorDoc struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

// ErrUnknownFunction is returned by Invoke for a name the host does not serve.
var ErrUnknownFunction = errors.New("function not found")

// Host serves a set of functions. Create it with Start and stop it with Close.
type Host struct {
	mu        sync.Mutex
	functions map[string]*function
	server    *http.Server
	listener  net.Listener
	logs      io.Writer
	invokes   map[string]int
}

// Options tune a Host.
type Options struct {
	// Logs receives the functions' stdout and stderr; nil discards them.
	Logs io.Writer
}

// Start launches every function's execution environments and the Invoke
// API on a loopback port; the environments are stopped by Close or when ctx ends.
func Start(ctx context.Context, fns []Function, opts Options) (*Host, error) {
	h := &Host{functions: map[string]*function{}, logs: opts.Logs, invokes: map[string]int{}}
	if h.logs == nil {
		h.logs = io.Discard
	}
	for _, f := range fns {
		if _, dup := h.functions[f.Name]; dup {
			h.Close()
			return nil, fmt.Errorf("starting function %s: the name is given twice", f.Name)
		}
		fn, err := startFunction(ctx, f, h.logs)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("starting function %s: %w", f.Name, err)
		}
		h.functions[f.Name] = fn
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("listening for the Invoke API: %w", err)
	}
	h.listener = ln
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", h.serveInvoke)
	h.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.server.Serve(ln) }()
	return h, nil
}

// Endpoint is the base URL of the host's Invoke API.
func (h *Host) Endpoint() string { return "http://" + h.listener.Addr().String() }

// Invocations returns how many times each function was invoked.
func (h *Host) Invocations() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.invokes)
}

// InFlight returns how many of the named function's execution environments
// hold an invocation right now.
func (h *Host) InFlight(name string) int {
	fn, ok := h.functions[name]
	if !ok {
		return 0
	}
	n := 0
	for _, env := range fn.envs {
		env.mu.Lock()
		if env.held != nil {
			n++
		}
		env.mu.Unlock()
	}
	return n
}

// Names lists the functions the host serves, sorted.
func (h *Host) Names() []string {
	names := make([]string, 0, len(h.functions))
	for n := range h.functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Invoke runs one invocation of the named function with payload, as a
// synchronous (RequestResponse) Lambda invoke does.
func (h *Host) Invoke(ctx context.Context, name string, payload []byte) (Result, error) {
	fn, ok := h.functions[name]
	if !ok {
		return Result{}, fmt.Errorf("invoking %s: %w", name, ErrUnknownFunction)
	}
	h.mu.Lock()
	h.invokes[name]++
	h.mu.Unlock()
	return fn.invoke(ctx, payload)
}

// Close stops the Invoke API and every execution environment.
func (h *Host) Close() {
	if h.server != nil {
		_ = h.server.Close()
	}
	for _, fn := range h.functions {
		fn.close()
	}
}

func (h *Host) serveInvoke(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	payload, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		writeServiceError(w, http.StatusBadRequest, "InvalidRequestContentException", "reading the payload: "+err.Error())
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	res, err := h.Invoke(r.Context(), name, payload)
	switch {
	case errors.Is(err, ErrUnknownFunction):
		writeServiceError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	case err != nil:
		writeServiceError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if res.Failed() {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

// writeServiceError answers as the Lambda service does when the invoke
// itself fails (not the function).
func writeServiceError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}

// invocation is one request waiting for, or held by, an execution environment.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan Result
	once     sync.Once
}

func (in *invocation) finish(r Result) { in.once.Do(func() { in.done <- r }) }

// function is one hosted function: a queue of invocations and the execution
// environments that take them.
type function struct {
	spec   Function
	arn    string
	queue  chan *invocation
	envs   []*environment
	ctx    context.Context
	cancel context.CancelFunc
	logs   io.Writer
	wg     sync.WaitGroup
}

// environment is one execution environment: a bootstrap process and the
// Runtime API server only it polls, so the host always knows which
// invocation a process holds when it dies or runs out of time.
type environment struct {
	fn     *function
	slot   int
	addr   string
	server *http.Server
	mu     sync.Mutex
	held   *invocation
	proc   *os.Process
}

func startFunction(parent context.Context, spec Function, logs io.Writer) (*function, error) {
	if spec.Concurrency < 1 {
		spec.Concurrency = 1
	}
	if spec.Timeout <= 0 {
		spec.Timeout = 30 * time.Second
	}
	if _, err := os.Stat(spec.Bootstrap); err != nil {
		return nil, fmt.Errorf("finding the bootstrap: %w", err)
	}
	ctx, cancel := context.WithCancel(parent)
	fn := &function{spec: spec, arn: spec.Name, queue: make(chan *invocation), ctx: ctx, cancel: cancel, logs: logs}
	if !strings.HasPrefix(fn.arn, "arn:") {
		fn.arn = "arn:aws:lambda:us-east-1:123456789012:function:" + spec.Name
	}
	for i := 0; i < spec.Concurrency; i++ {
		env, err := fn.newEnvironment(i)
		if err != nil {
			fn.close()
			return nil, err
		}
		fn.envs = append(fn.envs, env)
		fn.wg.Add(1)
		go env.keepRunning()
	}
	return fn, nil
}

func (fn *function) newEnvironment(slot int) (*environment, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the Runtime API: %w", err)
	}
	env := &environment{fn: fn, slot: slot, addr: ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", env.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", env.serveResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", env.serveError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", env.serveInitError)
	env.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = env.server.Serve(ln) }()
	return env, nil
}

// keepRunning runs the environment's process and starts it again when it
// exits (a crash, or a kill after a timeout), as Lambda replaces a failed
// environment, until the function is closed.
func (env *environment) keepRunning() {
	fn := env.fn
	defer fn.wg.Done()
	for fn.ctx.Err() == nil {
		start := time.Now()
		err := env.runProcess()
		if fn.ctx.Err() != nil {
			return
		}
		// The log is diagnostics only: failing to write it must not stop the function.
		_, _ = fmt.Fprintf(fn.logs, "[%s#%d] execution environment exited: %v\n", fn.spec.Name, env.slot, err)
		// Back off when the binary exits at once, so a broken bootstrap does not spin.
		if time.Since(start) < time.Second {
			select {
			case <-fn.ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

func (env *environment) runProcess() error {
	fn := env.fn
	// Running the step's bootstrap is this host's job: the path names the
	// project's own build output (make build-local), chosen by the operator.
	cmd := exec.CommandContext(fn.ctx, fn.spec.Bootstrap) //nolint:gosec // G204: the bootstrap is the project's build output, named by the operator's --bootstraps.
	cmd.Env = env.environ()
	out := &prefixWriter{w: fn.logs, prefix: fmt.Sprintf("[%s#%d] ", fn.spec.Name, env.slot)}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", fn.spec.Bootstrap, err)
	}
	env.mu.Lock()
	env.proc = cmd.Process
	env.mu.Unlock()
	err := cmd.Wait()
	env.mu.Lock()
	held := env.held
	env.held, env.proc = nil, nil
	env.mu.Unlock()
	if held != nil {
		msg := "Runtime exited without providing a reason"
		if err != nil {
			msg = "Runtime exited with error: " + err.Error()
		}
		held.finish(failure("Runtime.ExitError", msg))
	}
	return err
}

// environ is the process environment: a clean one, as in Lambda, with the
// function's variables and the runtime's own.
func (env *environment) environ() []string {
	fn := env.fn
	vars := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"AWS_LAMBDA_RUNTIME_API":          env.addr,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.spec.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"_HANDLER":                        "bootstrap",
	}
	for k, v := range fn.spec.Env {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (fn *function) invoke(ctx context.Context, payload []byte) (Result, error) {
	in := &invocation{id: newRequestID(), payload: payload, done: make(chan Result, 1)}
	// Wait for a free execution environment; like Lambda's own queueing,
	// the wait does not count against the function's timeout.
	select {
	case fn.queue <- in:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("waiting for an execution environment: %w", ctx.Err())
	case <-fn.ctx.Done():
		return Result{}, fmt.Errorf("waiting for an execution environment: %w", fn.ctx.Err())
	}
	timer := time.NewTimer(fn.spec.Timeout + 100*time.Millisecond)
	defer timer.Stop()
	select {
	case r := <-in.done:
		return r, nil
	case <-timer.C:
		// Lambda stops an environment whose invocation ran out of time.
		fn.kill(in)
		return failure("Sandbox.Timedout", fmt.Sprintf("Task timed out after %.2f seconds", fn.spec.Timeout.Seconds())), nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("waiting for the function's answer: %w", ctx.Err())
	}
}

// kill stops the process holding in, if any still does.
func (fn *function) kill(in *invocation) {
	for _, env := range fn.envs {
		env.mu.Lock()
		if env.held == in {
			env.held = nil
			if env.proc != nil {
				_ = env.proc.Kill()
			}
		}
		env.mu.Unlock()
	}
}

func failure(typ, msg string) Result {
	body, _ := json.Marshal(errorDoc{ErrorMessage: msg, ErrorType: typ})
	return Result{Payload: body, ErrorType: typ, ErrorMessage: msg}
}

func (env *environment) serveNext(w http.ResponseWriter, r *http.Request) {
	fn := env.fn
	var in *invocation
	select {
	case in = <-fn.queue:
	case <-r.Context().Done():
		return
	case <-fn.ctx.Done():
		return
	}
	in.deadline = time.Now().Add(fn.spec.Timeout)
	env.mu.Lock()
	env.held = in
	env.mu.Unlock()
	w.Header().Set("Lambda-Runtime-Aws-Request-Id", in.id)
	w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(in.deadline.UnixMilli(), 10))
	w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", fn.arn)
	w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-"+in.id[:8]+"-"+in.id[8:32]+";Sampled=0")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(in.payload)
}

// take hands back the invocation the environment holds if its id is id.
func (env *environment) take(id string) (*invocation, bool) {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.held == nil || env.held.id != id {
		return nil, false
	}
	in := env.held
	env.held = nil
	return in, true
}

const maxPayload = 6 << 20

func (env *environment) serveResponse(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		http.Error(w, "reading the response: "+err.Error(), http.StatusBadRequest)
		return
	}
	in, ok := env.take(r.PathValue("id"))
	if !ok {
		http.Error(w, `{"errorMessage":"unknown or expired request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
		return
	}
	if len(body) > maxPayload {
		in.finish(failure("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes)."))
	} else {
		in.finish(Result{Payload: body})
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func (env *environment) serveError(w http.ResponseWriter, r *http.Request) {
	in, ok := env.take(r.PathValue("id"))
	if !ok {
		http.Error(w, `{"errorMessage":"unknown or expired request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
		return
	}
	in.finish(decodeError(r))
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// serveInitError records a runtime that failed before it could take work;
// its process exits next and is started again.
func (env *environment) serveInitError(w http.ResponseWriter, r *http.Request) {
	res := decodeError(r)
	// The log is diagnostics only: the runtime is answered whether or not it is written.
	_, _ = fmt.Fprintf(env.fn.logs, "[%s#%d] init error %s: %s\n", env.fn.spec.Name, env.slot, res.ErrorType, res.ErrorMessage)
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func decodeError(r *http.Request) Result {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var doc errorDoc
	if err != nil || json.Unmarshal(body, &doc) != nil || doc.ErrorType == "" {
		typ := r.Header.Get("Lambda-Runtime-Function-Error-Type")
		if typ == "" {
			typ = "Runtime.Unknown"
		}
		return failure(typ, strings.TrimSpace(string(body)))
	}
	out, _ := json.Marshal(doc)
	return Result{Payload: out, ErrorType: doc.ErrorType, ErrorMessage: doc.ErrorMessage}
}

// close stops the processes first and only then their Runtime API
// servers, so no process polls a server that is gone.
func (fn *function) close() {
	fn.cancel()
	fn.wg.Wait()
	for _, env := range fn.envs {
		_ = env.server.Close()
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// prefixWriter writes each line of a process's output with the function's name.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    bytes.Buffer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadString('\n')
		if err != nil {
			p.buf.WriteString(line)
			break
		}
		if _, werr := io.WriteString(p.w, p.prefix+line); werr != nil {
			return len(b), fmt.Errorf("writing function output: %w", werr)
		}
	}
	return len(b), nil
}
