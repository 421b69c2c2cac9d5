package sfnlocal

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorflow/mirrorflow/internal/offline/lambdahost"
)

const nodeDir = "../../../_node"

// engineWithProbe starts the engine on testdata/probe.asl.json with its
// Lambda task served by a real lambda.Start binary.
func engineWithProbe(t *testing.T) (*Engine, *lambdahost.Host, string) {
	t.Helper()
	return engineOn(t, "testdata/probe.asl.json")
}

// engineOn starts the engine on definition, whose Lambda tasks call the
// probe function (one execution environment) served by a real lambda.Start binary.
func engineOn(t *testing.T, definition string) (*Engine, *lambdahost.Host, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../lambdahost/testdata/probe")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	host, err := lambdahost.Start(ctx, []lambdahost.Function{{
		Name: "arn:aws:lambda:us-east-1:123456789012:function:Probe", Bootstrap: bin, Timeout: 5 * time.Second,
	}}, lambdahost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)
	sqsFile := filepath.Join(dir, "sqs.jsonl")
	fast := 1
	eng, err := Start(ctx, Options{
		NodeDir: nodeDir, Definition: definition, LambdaEndpoint: host.Endpoint(),
		SQSFile: sqsFile, RetryInterval: &fast, Stderr: os.Stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng, host, sqsFile
}

func TestExecute(t *testing.T) {
	eng, host, sqsFile := engineWithProbe(t)
	ctx := context.Background()

	t.Run("a Lambda task's Payload is the state's output", func(t *testing.T) {
		x, err := eng.Execute(ctx, "ok", json.RawMessage(`{"echo":"hello"}`))
		if err != nil {
			t.Fatal(err)
		}
		if !x.Succeeded() || string(x.Output) != `{"echo":"hello","env":""}` {
			t.Fatalf("status %s output %s error %s %s", x.Status, x.Output, x.Error, x.Cause)
		}
	})

	t.Run("an error named in Retry is retried MaxAttempts times, then caught to the dead-letter path", func(t *testing.T) {
		before := host.Invocations()["arn:aws:lambda:us-east-1:123456789012:function:Probe"]
		x, err := eng.Execute(ctx, "fails", json.RawMessage(`{"fail":true,"echo":"boom"}`))
		if err != nil {
			t.Fatal(err)
		}
		if x.Succeeded() || x.Error != "ProbeFailed" {
			t.Fatalf("status %s error %q", x.Status, x.Error)
		}
		var cause struct{ ErrorType, ErrorMessage string }
		if err := json.Unmarshal([]byte(x.Cause), &cause); err != nil || cause.ErrorMessage != "asked to fail: boom" {
			t.Fatalf("cause %q is not the Lambda error document (%v)", x.Cause, err)
		}
		if got := host.Invocations()["arn:aws:lambda:us-east-1:123456789012:function:Probe"] - before; got != 3 {
			t.Errorf("the function ran %d times, want 1 + 2 retries", got)
		}
		retried := 0
		for _, e := range x.Events {
			if e.Type == "StateRetried" && e.State == "Probe" {
				retried++
			}
		}
		if retried != 2 {
			t.Errorf("%d StateRetried events, want 2", retried)
		}
		msgs, err := ReadMessages(sqsFile)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages %v (%v), want 1", msgs, err)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(msgs[0].Body), &body); err != nil {
			t.Fatal(err)
		}
		if body["error"] != "ProbeFailed" || body["executionId"] != "arn:aws:states:us-east-1:123456789012:execution:Mirrorflow:fails" {
			t.Errorf("dead-letter message %v", body)
		}
	})
}

func TestValidate(t *testing.T) {
	ctx := context.Background()
	t.Run("a valid definition passes asl-validator", func(t *testing.T) {
		if err := Validate(ctx, nodeDir, "testdata/probe.asl.json"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a Next naming no state fails asl-validator", func(t *testing.T) {
		data, err := os.ReadFile("testdata/probe.asl.json")
		if err != nil {
			t.Fatal(err)
		}
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(strings.Replace(string(data), `"Next": "Done"`, `"Next": "Nowhere"`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Validate(ctx, nodeDir, bad); err == nil {
			t.Fatal("asl-validator accepted a Next that names no state")
		}
	})
	t.Run("missing tools say how to install them", func(t *testing.T) {
		err := Validate(ctx, t.TempDir(), "testdata/probe.asl.json")
		if err == nil || !strings.Contains(err.Error(), "make node") {
			t.Fatalf("err = %v", err)
		}
	})
}
