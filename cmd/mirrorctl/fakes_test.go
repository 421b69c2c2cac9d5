package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorflow/mirrorflow/internal/testkit/sqsfake"
)

// call is one request a fake received: the operation and its input as the
// SDK serialized it.
type call struct {
	Op    string
	Input map[string]any
}

// recorder keeps the calls a fake received, in order.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) record(op string, in map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{Op: op, Input: in})
}

// Calls returns the calls of one operation.
func (r *recorder) Calls(op string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []call
	for _, c := range r.calls {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the calls so far.
func (r *recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// jsonTarget checks an awsJson1_0 request and returns its operation and input.
func jsonTarget(t *testing.T, req *http.Request, service string) (string, map[string]any, bool) {
	if ct := req.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		t.Errorf("%s request Content-Type = %q, want application/x-amz-json-1.0", service, ct)
		return "", nil, false
	}
	if !strings.HasPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		t.Errorf("%s request is not SigV4-signed", service)
	}
	target, ok := strings.CutPrefix(req.Header.Get("X-Amz-Target"), service+".")
	if !ok {
		t.Errorf("X-Amz-Target = %q, want %s.<Operation>", req.Header.Get("X-Amz-Target"), service)
		return "", nil, false
	}
	// Reading the whole body before answering keeps the client's request
	// write from racing the response (aws-sdk-go-v2 issue 2737).
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Errorf("reading %s request: %v", target, err)
		return "", nil, false
	}
	in := map[string]any{}
	if err := json.Unmarshal(body, &in); err != nil {
		t.Errorf("decoding %s input: %v", target, err)
		return "", nil, false
	}
	return target, in, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

// jsonError answers as the awsJson1_0 protocol documents an error.
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func str(in map[string]any, k string) string {
	s, _ := in[k].(string)
	return s
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// fakeExecution is one execution the fake Step Functions holds.
type fakeExecution struct {
	arn, name, stateMachine, input string
	status, errName, cause, output string
	start, stop                    time.Time
	// events is the history in wire form (timestamps as epoch seconds).
	events       []map[string]any
	polls        int
	redriveCount int
	// ending is how a RUNNING execution ends once polled enough.
	ending ending
}

// ending is how a started execution turns out.
type ending struct {
	status, errName, cause, output string
}

// fakeSFN is a behavioural Step Functions: executions in a map, names
// unique per state machine, statuses that change as they are polled, the
// documented error codes.
type fakeSFN struct {
	recorder
	t             *testing.T
	mu            sync.Mutex
	stateMachines map[string]bool
	executions    map[string]*fakeExecution
	// end decides how an execution started through the API ends.
	end func(input string) ending
	// pollsToEnd is how many DescribeExecution calls see it RUNNING first.
	pollsToEnd int
	pageSize   int
	clock      time.Time
}

func newFakeSFN(t *testing.T) *fakeSFN {
	return &fakeSFN{
		t: t, stateMachines: map[string]bool{}, executions: map[string]*fakeExecution{},
		end:        func(string) ending { return ending{status: "SUCCEEDED", output: placedOutput} },
		pollsToEnd: 1, pageSize: 10,
		clock: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
	}
}

func (f *fakeSFN) tick() time.Time {
	f.clock = f.clock.Add(time.Second)
	return f.clock
}

// loadHistory adds an execution whose history is an
// `aws stepfunctions get-execution-history` document.
func (f *fakeSFN) loadHistory(arn, path string) {
	f.t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	var doc struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		f.t.Fatalf("decoding %s: %v", path, err)
	}
	e := &fakeExecution{arn: arn, name: arn[strings.LastIndex(arn, ":")+1:], stateMachine: smOf(arn)}
	for _, ev := range doc.Events {
		ts, err := time.Parse(time.RFC3339Nano, ev["timestamp"].(string))
		if err != nil {
			f.t.Fatalf("event %v: %v", ev["id"], err)
		}
		ev["timestamp"] = epoch(ts)
		switch ev["type"] {
		case "ExecutionStarted":
			e.start, e.status = ts, "RUNNING"
			e.input = ev["executionStartedEventDetails"].(map[string]any)["input"].(string)
		case "ExecutionFailed":
			d := ev["executionFailedEventDetails"].(map[string]any)
			e.stop, e.status, e.errName, e.cause = ts, "FAILED", str(d, "error"), str(d, "cause")
		case "ExecutionSucceeded":
			e.stop, e.status = ts, "SUCCEEDED"
		case "ExecutionAborted":
			e.stop, e.status = ts, "ABORTED"
		case "ExecutionTimedOut":
			e.stop, e.status = ts, "TIMED_OUT"
		}
		e.events = append(e.events, ev)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.executions[arn] = e
}

func smOf(executionARN string) string {
	parts := strings.Split(executionARN, ":")
	return strings.Join(append(parts[:5], "stateMachine", parts[6]), ":")
}

func (f *fakeSFN) event(e *fakeExecution, typ, key string, details map[string]any, at time.Time) {
	ev := map[string]any{"timestamp": epoch(at), "type": typ, "id": len(e.events) + 1, "previousEventId": len(e.events)}
	if key != "" {
		ev[key] = details
	}
	e.events = append(e.events, ev)
}

func (f *fakeSFN) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	op, in, ok := jsonTarget(f.t, req, "AWSStepFunctions")
	if !ok {
		jsonError(w, 400, "SerializationException", "bad request")
		return
	}
	f.record(op, in)
	f.mu.Lock()
	defer f.mu.Unlock()
	notFound := func(arn string) { jsonError(w, 400, "ExecutionDoesNotExist", "Execution Does Not Exist: '"+arn+"'") }
	switch op {
	case "StartExecution":
		sm, name, input := str(in, "stateMachineArn"), str(in, "name"), str(in, "input")
		if !f.stateMachines[sm] {
			jsonError(w, 400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '"+sm+"'")
			return
		}
		arn := strings.Replace(sm, ":stateMachine:", ":execution:", 1) + ":" + name
		if e, ok := f.executions[arn]; ok {
			if e.input != input || e.status != "RUNNING" {
				jsonError(w, 400, "ExecutionAlreadyExists", "Execution Already Exists: '"+arn+"'")
				return
			}
		} else {
			e := &fakeExecution{arn: arn, name: name, stateMachine: sm, input: input, status: "RUNNING", start: f.tick(), ending: f.end(input)}
			f.event(e, "ExecutionStarted", "executionStartedEventDetails", map[string]any{"input": input}, e.start)
			f.executions[arn] = e
		}
		writeJSON(w, map[string]any{"executionArn": arn, "startDate": epoch(f.executions[arn].start)})
	case "DescribeExecution":
		e, ok := f.executions[str(in, "executionArn")]
		if !ok {
			notFound(str(in, "executionArn"))
			return
		}
		if e.status == "RUNNING" {
			if e.polls++; e.polls > f.pollsToEnd && e.ending.status != "" {
				f.finish(e)
			}
		}
		out := map[string]any{"executionArn": e.arn, "stateMachineArn": e.stateMachine, "name": e.name, "status": e.status,
			"startDate": epoch(e.start), "input": e.input, "redriveCount": e.redriveCount}
		if !e.stop.IsZero() {
			out["stopDate"] = epoch(e.stop)
		}
		for k, v := range map[string]string{"error": e.errName, "cause": e.cause, "output": e.output} {
			if v != "" {
				out[k] = v
			}
		}
		writeJSON(w, out)
	case "GetExecutionHistory":
		e, ok := f.executions[str(in, "executionArn")]
		if !ok {
			notFound(str(in, "executionArn"))
			return
		}
		events := append([]map[string]any(nil), e.events...)
		if in["reverseOrder"] == true {
			for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
				events[i], events[j] = events[j], events[i]
			}
		}
		page, next := f.page(len(events), in)
		out := map[string]any{"events": events[page[0]:page[1]]}
		if next != "" {
			out["nextToken"] = next
		}
		writeJSON(w, out)
	case "ListExecutions":
		sm := str(in, "stateMachineArn")
		if !f.stateMachines[sm] {
			jsonError(w, 400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '"+sm+"'")
			return
		}
		var list []*fakeExecution
		for _, e := range f.executions {
			if e.stateMachine == sm && (str(in, "statusFilter") == "" || str(in, "statusFilter") == e.status) {
				list = append(list, e)
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].start.After(list[j].start) })
		page, next := f.page(len(list), in)
		items := []map[string]any{}
		for _, e := range list[page[0]:page[1]] {
			item := map[string]any{"executionArn": e.arn, "stateMachineArn": e.stateMachine, "name": e.name, "status": e.status, "startDate": epoch(e.start)}
			if !e.stop.IsZero() {
				item["stopDate"] = epoch(e.stop)
			}
			items = append(items, item)
		}
		out := map[string]any{"executions": items}
		if next != "" {
			out["nextToken"] = next
		}
		writeJSON(w, out)
	case "RedriveExecution":
		e, ok := f.executions[str(in, "executionArn")]
		if !ok {
			notFound(str(in, "executionArn"))
			return
		}
		if e.status == "RUNNING" || e.status == "SUCCEEDED" {
			jsonError(w, 400, "ExecutionNotRedrivable", "Execution is "+e.status+": '"+e.arn+"'")
			return
		}
		at := f.tick()
		e.status, e.stop, e.errName, e.cause, e.polls = "RUNNING", time.Time{}, "", "", 0
		e.redriveCount++
		e.ending = f.end(e.input)
		f.event(e, "ExecutionRedriven", "executionRedrivenEventDetails", map[string]any{"redriveCount": e.redriveCount}, at)
		writeJSON(w, map[string]any{"redriveDate": epoch(at)})
	default:
		jsonError(w, 400, "UnknownOperationException", "the fake does not serve "+op)
	}
}

// finish ends a running execution as its ending says, with the history
// events Step Functions writes.
func (f *fakeSFN) finish(e *fakeExecution) {
	at := f.tick()
	e.status, e.stop, e.errName, e.cause, e.output = e.ending.status, at, e.ending.errName, e.ending.cause, e.ending.output
	switch e.status {
	case "SUCCEEDED":
		f.event(e, "ExecutionSucceeded", "executionSucceededEventDetails", map[string]any{"output": e.output}, at)
	case "FAILED":
		f.event(e, "ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": e.errName, "cause": e.cause}, at)
	}
}

// page cuts a list by the request's nextToken and maxResults (the fake's
// small page size when unset, so the SDK paginators turn pages).
func (f *fakeSFN) page(n int, in map[string]any) ([2]int, string) {
	start := 0
	if tok := str(in, "nextToken"); tok != "" {
		start, _ = strconv.Atoi(tok)
	}
	size := f.pageSize
	if m, ok := in["maxResults"].(float64); ok && m > 0 {
		size = int(m)
	}
	end := min(start+size, n)
	if end < n {
		return [2]int{start, end}, strconv.Itoa(end)
	}
	return [2]int{start, end}, ""
}

// fakeCFN is CloudFormation's DescribeStacks over the query protocol.
type fakeCFN struct {
	recorder
	t      *testing.T
	stacks map[string]map[string]string
}

func (c *fakeCFN) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if err := req.ParseForm(); err != nil {
		c.t.Errorf("parsing CloudFormation form: %v", err)
	}
	op, name := req.PostForm.Get("Action"), req.PostForm.Get("StackName")
	c.record(op, map[string]any{"StackName": name, "Version": req.PostForm.Get("Version")})
	w.Header().Set("Content-Type", "text/xml")
	outputs, ok := c.stacks[name]
	if op != "DescribeStacks" || !ok {
		w.WriteHeader(400)
		_, _ = fmt.Fprintf(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id %s does not exist</Message></Error><RequestId>8f6b0c2e-1d3a-4e5f-9a7b-0c1d2e3f4a5b</RequestId></ErrorResponse>`, xmlEscape(name))
		return
	}
	var b strings.Builder
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "<member><OutputKey>%s</OutputKey><OutputValue>%s</OutputValue></member>", k, xmlEscape(outputs[k]))
	}
	_, _ = fmt.Fprintf(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>`+
		`<StackName>%s</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/%s/6a1b2c3d-4e5f-11ef-8a9b-0a1b2c3d4e5f</StackId>`+
		`<CreationTime>2026-11-20T08:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>%s</Outputs>`+
		`</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f</RequestId></ResponseMetadata></DescribeStacksResponse>`,
		xmlEscape(name), xmlEscape(name), b.String())
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// servers starts the three fakes on loopback.
func servers(t *testing.T, f *fakeSFN, q *sqsfake.Queue, c *fakeCFN) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, h := range map[string]http.Handler{"SFN": f, "SQS": q, "CloudFormation": c} {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		out[id] = s.URL
	}
	return out
}
