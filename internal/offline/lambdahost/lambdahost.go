// Package lambdahost runs real Lambda bootstrap binaries on this machine and
// invokes them as the Lambda service would, so the workflow can be executed
// offline with the very binaries that are deployed.
//
// Each execution environment is a bootstrap process with its own server of
// the Lambda Runtime API (GET /2018-06-01/runtime/invocation/next,
// POST .../{id}/response, POST .../{id}/error, POST .../init/error) on
// loopback. As in Lambda, environments start on demand, up to the function's
// concurrency, stay for reuse while idle, and an invocation that finds every
// one busy is throttled rather than queued. The host itself answers the
// Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations) so that a
// state machine engine can call the functions by name over HTTP.
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
	"slices"
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
	// Concurrency is the most execution environments (processes) the
	// function may have at once, as its reserved concurrency bounds it in
	// Lambda; at least 1. An invocation beyond it fails with
	// ErrTooManyRequests.
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

// ErrTooManyRequests is returned by Invoke when every execution environment
// the function may have is busy. Lambda refuses such an invoke with
// TooManyRequestsException instead of queueing it, and leaves the retry to
// the caller: here, the state machine's Retry.
var ErrTooManyRequests = errors.New("rate exceeded: every execution environment of the function is busy")

// errClosed is returned by Invoke once the host is closing.
var errClosed = errors.New("the host is closed")

// Host serves a set of functions. Create it with Start and stop it with Close.
type Host struct {
	mu        sync.Mutex
	functions map[string]*function
	server    *http.Server
	listener  net.Listener
	logs      io.Writer
	invokes   map[string]int
	throttles map[string]int
}

// Options tune a Host.
type Options struct {
	// Logs receives the functions' stdout and stderr; nil discards them.
	Logs io.Writer
}

// Start checks every function's bootstrap and serves the Invoke API on a
// loopback port. Execution environments start as invocations need them and
// are stopped by Close or when ctx ends.
func Start(ctx context.Context, fns []Function, opts Options) (*Host, error) {
	h := &Host{functions: map[string]*function{}, logs: opts.Logs, invokes: map[string]int{}, throttles: map[string]int{}}
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

// Invocations returns how many times each function was invoked; throttled
// invokes are not counted, as in Lambda's Invocations metric.
func (h *Host) Invocations() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.invokes)
}

// Throttles returns how many invokes of each function were refused with
// ErrTooManyRequests, as Lambda's Throttles metric counts them.
func (h *Host) Throttles() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.throttles)
}

// InFlight returns how many of the named function's execution environments
// hold an invocation right now.
func (h *Host) InFlight(name string) int {
	fn, ok := h.functions[name]
	if !ok {
		return 0
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	n := 0
	for _, env := range fn.envs {
		if env.busy {
			n++
		}
	}
	return n
}

// Environments returns how many execution environments the named function
// has right now, busy or idle.
func (h *Host) Environments(name string) int {
	fn, ok := h.functions[name]
	if !ok {
		return 0
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return len(fn.envs)
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
// synchronous (RequestResponse) Lambda invoke does. It fails at once with
// ErrTooManyRequests when every environment the function may have is busy.
func (h *Host) Invoke(ctx context.Context, name string, payload []byte) (Result, error) {
	fn, ok := h.functions[name]
	if !ok {
		return Result{}, fmt.Errorf("invoking %s: %w", name, ErrUnknownFunction)
	}
	in := &invocation{id: newRequestID(), payload: payload, done: make(chan Result, 1)}
	err := fn.assign(in)
	h.mu.Lock()
	switch {
	case err == nil:
		h.invokes[name]++
	case errors.Is(err, ErrTooManyRequests):
		h.throttles[name]++
	}
	h.mu.Unlock()
	if err != nil {
		return Result{}, fmt.Errorf("invoking %s: %w", name, err)
	}
	// The environment enforces the function's timeout whether or not the
	// caller still waits, as Lambda runs an invocation its client gave up on.
	select {
	case r := <-in.done:
		return r, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("waiting for the answer of %s: %w", name, ctx.Err())
	}
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
		writeServiceError(w, http.StatusBadRequest, "InvalidRequestContentException", serviceError{Type: "User", Message: "reading the payload: " + err.Error()})
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	res, err := h.Invoke(r.Context(), name, payload)
	switch {
	case errors.Is(err, ErrUnknownFunction):
		writeServiceError(w, http.StatusNotFound, "ResourceNotFoundException", serviceError{Type: "User", Message: "Function not found: " + name})
		return
	case errors.Is(err, ErrTooManyRequests):
		// Lambda's answer to an invoke beyond the function's reserved
		// concurrency (AWS Lambda API Reference, "Invoke", Errors:
		// TooManyRequestsException; Lambda Developer Guide, "Configuring
		// reserved concurrency for a function").
		writeServiceError(w, http.StatusTooManyRequests, "TooManyRequestsException", serviceError{
			Reason: "ReservedFunctionConcurrentInvocationLimitExceeded", Type: "User", Message: "Rate Exceeded.",
		})
		return
	case err != nil:
		writeServiceError(w, http.StatusInternalServerError, "ServiceException", serviceError{Type: "Service", Message: err.Error()})
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

// serviceError is the body of the Lambda service's own error answers.
type serviceError struct {
	Reason  string `json:"Reason,omitempty"`
	Type    string `json:"Type"`
	Message string `json:"message"`
}

// writeServiceError answers as the Lambda service does when the invoke
// itself fails (not the function): the error's name in X-Amzn-ErrorType,
// which is how the SDKs tell the errors apart.
func writeServiceError(w http.ResponseWriter, status int, typ string, body serviceError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// invocation is one request assigned to, or held by, an execution environment.
type invocation struct {
	id      string
	payload []byte
	done    chan Result
	once    sync.Once
	// timer enforces the function's timeout from when the runtime takes the
	// invocation; guarded by the function's mu.
	timer *time.Timer
}

func (in *invocation) finish(r Result) { in.once.Do(func() { in.done <- r }) }

// function is one hosted function and the execution environments it has
// started, at most spec.Concurrency at once.
type function struct {
	spec   Function
	arn    string
	ctx    context.Context // ends with close; it kills every process
	cancel context.CancelFunc
	logs   io.Writer
	wg     sync.WaitGroup // one per running process

	// mu guards the fields below and the busy, held, proc, gone, exitErr and
	// waiting fields of every environment, so that assigning, taking and
	// reaping see one state.
	mu      sync.Mutex
	envs    []*environment // running, busy or idle
	started int            // environments started so far; numbers them in the logs
	closed  bool
}

// environment is one execution environment: a bootstrap process and the
// Runtime API server only it polls, so the host always knows which
// invocation a process holds when it dies or runs out of time.
type environment struct {
	fn     *function
	slot   int
	addr   string
	server *http.Server
	// next hands the invocation assigned to the environment to its
	// runtime's GET /next; it holds one, and only while busy.
	next chan *invocation
	// exited is closed once the process has exited and the environment has
	// left the function.
	exited chan struct{}

	busy    bool        // assigned an invocation it has not answered yet
	held    *invocation // the invocation the runtime took and is running
	proc    *os.Process
	gone    bool  // the process has exited
	exitErr error // how it exited
	// waiting counts GET /next requests parked for work, so that a test can
	// close the host while runtimes poll.
	waiting int
}

// timeoutGrace lets a runtime that honours its deadline answer before the
// host stops it.
const timeoutGrace = 100 * time.Millisecond

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
	fn := &function{spec: spec, arn: spec.Name, ctx: ctx, cancel: cancel, logs: logs}
	if !strings.HasPrefix(fn.arn, "arn:") {
		fn.arn = "arn:aws:lambda:us-east-1:123456789012:function:" + spec.Name
	}
	return fn, nil
}

// assign gives in to an idle execution environment or, when every one is
// busy and the function may have another, to a new one: as Lambda scales, a
// cold start happens only when no warm environment is free. With none free
// and no room left, in is refused with ErrTooManyRequests rather than queued
// (Lambda Developer Guide, "Understanding Lambda function scaling").
func (fn *function) assign(in *invocation) error {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.closed {
		return errClosed
	}
	for _, env := range fn.envs {
		if !env.busy {
			env.busy = true
			env.next <- in
			return nil
		}
	}
	if len(fn.envs) >= fn.spec.Concurrency {
		return ErrTooManyRequests
	}
	env, err := fn.startEnvironment()
	if err != nil {
		return fmt.Errorf("starting an execution environment: %w", err)
	}
	env.busy = true
	env.next <- in
	fn.envs = append(fn.envs, env)
	return nil
}

// startEnvironment starts a Runtime API server and the bootstrap process
// that polls it. The caller holds fn.mu.
func (fn *function) startEnvironment() (*environment, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the Runtime API: %w", err)
	}
	env := &environment{fn: fn, slot: fn.started, addr: ln.Addr().String(), next: make(chan *invocation, 1), exited: make(chan struct{})}
	fn.started++
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", env.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", env.serveResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", env.serveError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", env.serveInitError)
	env.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = env.server.Serve(ln) }()

	// Running the step's bootstrap is this host's job: the path names the
	// project's own build output (make build-local), chosen by the operator.
	cmd := exec.CommandContext(fn.ctx, fn.spec.Bootstrap) //nolint:gosec // G204: the bootstrap is the project's build output, named by the operator's --bootstraps.
	cmd.Env = env.environ()
	out := &prefixWriter{w: fn.logs, prefix: fmt.Sprintf("[%s#%d] ", fn.spec.Name, env.slot)}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		_ = env.server.Close()
		return nil, fmt.Errorf("starting %s: %w", fn.spec.Bootstrap, err)
	}
	env.proc = cmd.Process
	fn.wg.Add(1)
	go env.reap(cmd)
	return env, nil
}

// reap waits for the environment's process to exit and takes the
// environment out of the function, as Lambda discards an environment whose
// runtime exited (a crash, or a kill after a timeout); the next invocation
// that finds no idle one starts a new one. An invocation the process held or
// had yet to take ends in Runtime.ExitError.
func (env *environment) reap(cmd *exec.Cmd) {
	fn := env.fn
	defer fn.wg.Done()
	err := cmd.Wait()
	fn.mu.Lock()
	env.gone, env.exitErr = true, err
	fn.envs = slices.DeleteFunc(fn.envs, func(e *environment) bool { return e == env })
	var orphans []*invocation
	if env.held != nil {
		env.held.timer.Stop()
		orphans = append(orphans, env.held)
	}
	select {
	case in := <-env.next:
		orphans = append(orphans, in)
	default:
	}
	env.held, env.proc = nil, nil
	fn.mu.Unlock()
	// No process polls the Runtime API server any more.
	_ = env.server.Close()
	if fn.ctx.Err() == nil {
		// The log is diagnostics only: failing to write it must not stop the function.
		_, _ = fmt.Fprintf(fn.logs, "[%s#%d] execution environment exited: %v\n", fn.spec.Name, env.slot, err)
	}
	for _, in := range orphans {
		in.finish(exitFailure(err))
	}
	close(env.exited)
}

// exitFailure is the error of an invocation whose runtime exited under it.
func exitFailure(err error) Result {
	if err == nil {
		return failure("Runtime.ExitError", "Runtime exited without providing a reason")
	}
	return failure("Runtime.ExitError", "Runtime exited with error: "+err.Error())
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

// timeOut ends an invocation that outlived the function's timeout as Lambda
// does: the environment is stopped, and the caller hears Sandbox.Timedout
// only once it is gone, so that a retry finds its slot free.
func (env *environment) timeOut(in *invocation) {
	fn := env.fn
	fn.mu.Lock()
	if env.held != in {
		// The runtime answered, or exited, first.
		fn.mu.Unlock()
		return
	}
	env.held = nil
	proc := env.proc
	fn.mu.Unlock()
	_ = proc.Kill()
	<-env.exited
	in.finish(failure("Sandbox.Timedout", fmt.Sprintf("Task timed out after %.2f seconds", fn.spec.Timeout.Seconds())))
}

func failure(typ, msg string) Result {
	body, _ := json.Marshal(errorDoc{ErrorMessage: msg, ErrorType: typ})
	return Result{Payload: body, ErrorType: typ, ErrorMessage: msg}
}

// serveNext answers a runtime's GET /next with the invocation assigned to
// its environment. Only work or the runtime's going away ends the wait: an
// answer without an invocation would reach aws-lambda-go as one without a
// deadline ("failed to parse deadline", then a POST to
// .../invocation//error). At shutdown the process is stopped first, which
// ends this request.
func (env *environment) serveNext(w http.ResponseWriter, r *http.Request) {
	fn := env.fn
	fn.mu.Lock()
	env.waiting++
	fn.mu.Unlock()
	var in *invocation
	select {
	case in = <-env.next:
	case <-r.Context().Done():
	}
	fn.mu.Lock()
	env.waiting--
	if in == nil {
		fn.mu.Unlock()
		return
	}
	if env.gone {
		// reap ran between the hand-over and here and could not see in.
		exitErr := env.exitErr
		fn.mu.Unlock()
		in.finish(exitFailure(exitErr))
		return
	}
	env.held = in
	deadline := time.Now().Add(fn.spec.Timeout)
	in.timer = time.AfterFunc(fn.spec.Timeout+timeoutGrace, func() { env.timeOut(in) })
	fn.mu.Unlock()
	w.Header().Set("Lambda-Runtime-Aws-Request-Id", in.id)
	w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
	w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", fn.arn)
	w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-"+in.id[:8]+"-"+in.id[8:32]+";Sampled=0")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(in.payload)
}

// take hands back the invocation the environment holds if its id is id,
// and frees the environment for the next invocation: its runtime polls
// GET /next as soon as it has answered.
func (env *environment) take(id string) (*invocation, bool) {
	env.fn.mu.Lock()
	defer env.fn.mu.Unlock()
	if env.held == nil || env.held.id != id {
		return nil, false
	}
	in := env.held
	in.timer.Stop()
	env.held, env.busy = nil, false
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

// close stops the processes and waits until each is gone, reap having
// stopped its Runtime API server after it. A runtime waiting on GET /next
// is never answered on the way (see serveNext): its connection just closes
// with the process.
func (fn *function) close() {
	fn.mu.Lock()
	fn.closed = true
	fn.mu.Unlock()
	fn.cancel()
	fn.wg.Wait()
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
