package lambdahost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gate is a file the probe's waitFor invocations wait for: they run until
// the test opens it, so a test decides when environments are busy.
type gate string

func newGate(t *testing.T) gate { return gate(filepath.Join(t.TempDir(), "open")) }

func (g gate) payload() []byte {
	b, _ := json.Marshal(map[string]string{"waitFor": string(g)})
	return b
}

func (g gate) open(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(string(g), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// eventually waits until cond holds. It bounds the wait only so that a
// broken host fails the test instead of hanging it; it measures nothing.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// outcome is what one Invoke returned.
type outcome struct {
	res Result
	err error
}

// invokeAsync starts n invocations of name with payload at once.
func invokeAsync(h *Host, name string, payload []byte, n int) <-chan outcome {
	out := make(chan outcome, n)
	for range n {
		go func() {
			res, err := h.Invoke(context.Background(), name, payload)
			out <- outcome{res, err}
		}()
	}
	return out
}

// coldStarts is how many execution environments the named function has
// started so far.
func (h *Host) coldStarts(name string) int {
	fn := h.functions[name]
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return fn.started
}

// runtimeAPIs lists the Runtime API addresses of the named function's environments.
func (h *Host) runtimeAPIs(name string) []string {
	fn := h.functions[name]
	fn.mu.Lock()
	defer fn.mu.Unlock()
	var addrs []string
	for _, env := range fn.envs {
		addrs = append(addrs, env.addr)
	}
	return addrs
}

// pollingRuntimes is how many GET /next requests wait on the named function's environments.
func (h *Host) pollingRuntimes(name string) int {
	fn := h.functions[name]
	fn.mu.Lock()
	defer fn.mu.Unlock()
	n := 0
	for _, env := range fn.envs {
		n += env.waiting
	}
	return n
}

func TestInvokesBeyondTheConcurrencyAreThrottled(t *testing.T) {
	tests := []struct {
		name         string
		concurrency  int
		simultaneous int
	}{
		{name: "with one environment, an invoke while it runs is throttled", concurrency: 1, simultaneous: 2},
		{name: "twenty invokes at once against three environments start three and throttle seventeen", concurrency: 3, simultaneous: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startProbe(t, Function{Name: "probe", Timeout: 30 * time.Second, Concurrency: tt.concurrency})
			if n := h.Environments("probe"); n != 0 {
				t.Fatalf("%d environments before any invoke, want 0: they start on demand", n)
			}
			g := newGate(t)
			outcomes := invokeAsync(h, "probe", g.payload(), tt.simultaneous)
			// The gate is shut, so no environment frees up: every invoke beyond
			// the concurrency is answered at once, and only those.
			for range tt.simultaneous - tt.concurrency {
				if o := <-outcomes; !errors.Is(o.err, ErrTooManyRequests) {
					t.Fatalf("an invoke beyond the concurrency returned %v %s, want ErrTooManyRequests", o.err, o.res.Payload)
				}
			}
			if got := h.Environments("probe"); got != tt.concurrency {
				t.Errorf("%d environments under the burst, want %d", got, tt.concurrency)
			}
			if got := h.InFlight("probe"); got != tt.concurrency {
				t.Errorf("%d invocations in flight, want %d", got, tt.concurrency)
			}
			g.open(t)
			for range tt.concurrency {
				if o := <-outcomes; o.err != nil || o.res.Failed() {
					t.Errorf("an admitted invoke: %v %s", o.err, o.res.Payload)
				}
			}

			res, err := h.Invoke(context.Background(), "probe", []byte(`{"echo":"warm"}`))
			if err != nil || res.Failed() {
				t.Fatalf("an invoke after the burst: %v %s, want a freed environment to serve it", err, res.Payload)
			}
			if got := h.coldStarts("probe"); got != tt.concurrency {
				t.Errorf("%d environments were started, want %d: an idle one is reused, not replaced", got, tt.concurrency)
			}
			if got, want := h.Throttles()["probe"], tt.simultaneous-tt.concurrency; got != want {
				t.Errorf("Throttles = %d, want %d", got, want)
			}
			if got, want := h.Invocations()["probe"], tt.concurrency+1; got != want {
				t.Errorf("Invocations = %d, want %d: a throttled invoke is not an invocation", got, want)
			}
		})
	}
}

func TestAThrottledInvokeAnswersAsLambdaDoes(t *testing.T) {
	h := startProbe(t, Function{Name: "probe", Timeout: 30 * time.Second, Concurrency: 1})
	g := newGate(t)
	held := invokeAsync(h, "probe", g.payload(), 1)
	eventually(t, "the invocation holding the only environment", func() bool { return h.InFlight("probe") == 1 })

	resp, err := http.Post(h.Endpoint()+"/2015-03-31/functions/probe/invocations", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // the body is read in full; closing only frees the connection
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("status %d, want 429", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Amzn-ErrorType"); got != "TooManyRequestsException" {
		t.Errorf("X-Amzn-ErrorType %q, want TooManyRequestsException", got)
	}
	if got, want := strings.TrimSpace(string(body)), `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}

	g.open(t)
	if o := <-held; o.err != nil || o.res.Failed() {
		t.Errorf("the held invocation: %v %s", o.err, o.res.Payload)
	}
}

// syncBuffer collects the host's logs, which every process writes at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestClosingNeverAnswersARuntimeWithoutAnInvocation(t *testing.T) {
	const environments = 8
	var logs syncBuffer
	h := startProbeWith(t, Options{Logs: &logs}, Function{Name: "probe", Timeout: 30 * time.Second, Concurrency: environments})
	// Invocations held at once start the environments; once they answer,
	// each runtime polls GET /next for more work, as at the end of every
	// offline run.
	g := newGate(t)
	outcomes := invokeAsync(h, "probe", g.payload(), environments)
	eventually(t, "every environment busy", func() bool { return h.InFlight("probe") == environments })
	g.open(t)
	for range environments {
		if o := <-outcomes; o.err != nil || o.res.Failed() {
			t.Fatalf("invoke: %v %s", o.err, o.res.Payload)
		}
	}
	// A runtime of the test's own polls each environment too, so that the
	// rule is checked on the answer itself and not only on what the probes
	// manage to log before they are stopped.
	answers := make(chan string, environments)
	for _, addr := range h.runtimeAPIs("probe") {
		go func() {
			resp, err := http.Get("http://" + addr + "/2018-06-01/runtime/invocation/next")
			if err != nil {
				answers <- "" // the connection closed with no answer, as when the environment is gone
				return
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close() // read in full; closing only frees the connection
			answers <- fmt.Sprintf("%d %q", resp.StatusCode, b)
		}()
	}
	eventually(t, "every runtime polling GET /next", func() bool { return h.pollingRuntimes("probe") == 2*environments })

	h.Close()
	for range environments {
		if a := <-answers; a != "" {
			t.Errorf("a runtime polling GET /next was answered %s at Close, want no answer", a)
		}
	}
	// An empty answer to GET /next reaches aws-lambda-go as an invocation
	// without a deadline or an id: it logs the first, then posts to
	// .../invocation//error, which net/http redirects (307).
	for _, symptom := range []string{"failed to parse deadline", "invocation//error", "307"} {
		if strings.Contains(logs.String(), symptom) {
			t.Errorf("the logs after Close hold %q:\n%s", symptom, logs.String())
		}
	}
}
