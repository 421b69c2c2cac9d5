package offline

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// root is the module root, from this package's folder.
const root = "../.."

// artifacts are what an offline run executes: the synthesized template and
// the step bootstraps built for this machine.
var artifacts struct {
	template   string
	bootstraps string
}

// TestMain uses the template and bootstraps `make test` built
// (MIRRORFLOW_TEMPLATE, MIRRORFLOW_BOOTSTRAPS) or, run alone, builds its own
// from the working tree, so the tests never run a stale template.
func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	artifacts.template = os.Getenv("MIRRORFLOW_TEMPLATE")
	artifacts.bootstraps = os.Getenv("MIRRORFLOW_BOOTSTRAPS")
	if artifacts.template == "" || artifacts.bootstraps == "" {
		dir, err := os.MkdirTemp("", "mirrorflow-offline-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() { _ = os.RemoveAll(dir) }() // best effort: a leftover temp folder fails no test
		if err := build(dir); err != nil {
			fmt.Fprintln(os.Stderr, "building what the offline tests run:", err)
			return 1
		}
	}
	return m.Run()
}

func build(dir string) error {
	if artifacts.bootstraps == "" {
		artifacts.bootstraps = filepath.Join(dir, "local")
		for _, step := range workflow.Steps {
			out := filepath.Join(artifacts.bootstraps, step.Dir, "bootstrap")
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./tasks/"+step.Dir)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("building %s: %w\n%s", step.Dir, err, b)
			}
		}
	}
	if artifacts.template == "" {
		// The assets are the host bootstraps: the template's content does
		// not depend on which build the assets hold.
		out := filepath.Join(dir, "cdk.out")
		cmd := exec.Command(filepath.Join("_node", "node_modules", ".bin", "cdk"), "synth", "--no-notices", "-q",
			"-o", out, "-c", "mirrorflow:assetRoot="+artifacts.bootstraps)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20", "CDK_DISABLE_VERSION_CHECK=true")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("synthesizing (run `make node` first if the CDK CLI is missing): %w\n%s", err, b)
		}
		artifacts.template = filepath.Join(out, "Mirrorflow.template.json")
	}
	return nil
}
