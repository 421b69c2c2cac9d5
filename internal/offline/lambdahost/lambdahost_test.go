package lambdahost

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildProbe builds testdata/probe, a real lambda.Start binary, once per test binary.
var buildProbe = sync.OnceValues(func() (string, error) {
	dir := probeDir
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./testdata/probe")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{out: string(b), err: err}
	}
	return out, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "building the probe: " + e.err.Error() + "\n" + e.out }

func startProbe(t *testing.T, fns ...Function) *Host {
	t.Helper()
	return startProbeWith(t, Options{}, fns...)
}

// startProbeWith hosts fns, each running the probe, with opts.
func startProbeWith(t *testing.T, opts Options, fns ...Function) *Host {
	t.Helper()
	bin, err := buildProbe()
	if err != nil {
		t.Fatal(err)
	}
	for i := range fns {
		fns[i].Bootstrap = bin
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := Start(ctx, fns, opts)
	if err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { h.Close(); cancel() })
	return h
}

func TestInvoke(t *testing.T) {
	h := startProbe(t, Function{Name: "probe", Env: map[string]string{"PROBE_ENV": "from-template"}, Timeout: 2 * time.Second})
	tests := []struct {
		name          string
		payload       string
		wantPayload   string
		wantErrorType string
		wantMessage   string
	}{
		{name: "a response is the function's return value", payload: `{"echo":"hi"}`, wantPayload: `{"echo":"hi","env":"from-template"}`},
		{name: "a returned error reports its Go type name as errorType", payload: `{"fail":true,"echo":"x"}`, wantErrorType: "ProbeFailed", wantMessage: "asked to fail: x"},
		{name: "an invocation that outlives the timeout is Sandbox.Timedout", payload: `{"sleepMs":4000}`, wantErrorType: "Sandbox.Timedout", wantMessage: "Task timed out after 2.00 seconds"},
		{name: "the environment is replaced after a timeout", payload: `{"echo":"again"}`, wantPayload: `{"echo":"again","env":"from-template"}`},
		{name: "a process that exits mid-invocation is Runtime.ExitError", payload: `{"exit":true}`, wantErrorType: "Runtime.ExitError", wantMessage: "Runtime exited with error: exit status 3"},
		{name: "the environment is replaced after a crash", payload: `{"echo":"back"}`, wantPayload: `{"echo":"back","env":"from-template"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := h.Invoke(ctx, "probe", []byte(tt.payload))
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if res.ErrorType != tt.wantErrorType || res.ErrorMessage != tt.wantMessage {
				t.Fatalf("error = %q %q, want %q %q", res.ErrorType, res.ErrorMessage, tt.wantErrorType, tt.wantMessage)
			}
			if tt.wantPayload != "" && strings.TrimSpace(string(res.Payload)) != tt.wantPayload {
				t.Fatalf("payload = %s, want %s", res.Payload, tt.wantPayload)
			}
		})
	}
	if got := h.Invocations()["probe"]; got != len(tests) {
		t.Errorf("Invocations = %d, want %d", got, len(tests))
	}
}

func TestInvokeAPIOverHTTP(t *testing.T) {
	h := startProbe(t, Function{Name: "arn:aws:lambda:us-east-1:123456789012:function:Probe", Timeout: 2 * time.Second})
	post := func(name, body string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Post(h.Endpoint()+"/2015-03-31/functions/"+name+"/invocations", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }() // the body is read in full first; closing only frees the connection
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	t.Run("a function error answers 200 with X-Amz-Function-Error and the error document", func(t *testing.T) {
		resp, body := post("arn:aws:lambda:us-east-1:123456789012:function:Probe", `{"fail":true,"echo":"no"}`)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" {
			t.Fatalf("status %d, X-Amz-Function-Error %q", resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"))
		}
		var doc errorDoc
		if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.ErrorType != "ProbeFailed" || doc.ErrorMessage != "asked to fail: no" {
			t.Fatalf("body %s (%v)", body, err)
		}
	})
	t.Run("an unknown function is ResourceNotFoundException", func(t *testing.T) {
		resp, _ := post("Nope", `{}`)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})
}

func TestConcurrentEnvironmentsServeInParallel(t *testing.T) {
	h := startProbe(t, Function{Name: "probe", Timeout: 10 * time.Second, Concurrency: 3})
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.Invoke(context.Background(), "probe", []byte(`{"sleepMs":1500}`))
			if err != nil || res.Failed() {
				t.Errorf("Invoke: %v %s", err, res.Payload)
			}
		}()
	}
	// Each environment takes one invocation at a time, so three held at once
	// means three environments worked in parallel.
	peak := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-time.After(20 * time.Millisecond):
			peak = max(peak, h.InFlight("probe"))
		}
	}
	if peak != 3 {
		t.Errorf("at most %d invocations were in flight at once, want 3", peak)
	}
}

func TestStartRejectsAMissingBootstrap(t *testing.T) {
	_, err := Start(context.Background(), []Function{{Name: "f", Bootstrap: "/nonexistent/bootstrap"}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "starting function f: finding the bootstrap") {
		t.Fatalf("err = %v", err)
	}
}

// probeDir holds the probe binary for the whole test run.
var probeDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdahost-probe-")
	if err != nil {
		panic(err)
	}
	probeDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
