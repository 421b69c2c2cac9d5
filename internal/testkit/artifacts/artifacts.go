// Package artifacts provides what tests of the offline workflow run: the
// synthesized template and the step bootstraps built for this machine.
package artifacts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Artifacts are the paths an offline run executes.
type Artifacts struct {
	// Template is the synthesized stack template.
	Template string
	// Bootstraps holds <step dir>/bootstrap for every step.
	Bootstraps string
	// NodeDir holds the pinned npm tools.
	NodeDir string
}

// Build returns the template and bootstraps `make test` built
// (MIRRORFLOW_TEMPLATE, MIRRORFLOW_BOOTSTRAPS) or, when a test runs alone,
// builds its own from the working tree into dir, so tests never run a stale
// template. root is the module root, relative to the test's folder.
func Build(root, dir string) (Artifacts, error) {
	a := Artifacts{
		Template:   os.Getenv("MIRRORFLOW_TEMPLATE"),
		Bootstraps: os.Getenv("MIRRORFLOW_BOOTSTRAPS"),
		NodeDir:    filepath.Join(root, "_node"),
	}
	if a.Bootstraps == "" {
		a.Bootstraps = filepath.Join(dir, "local")
		for _, step := range workflow.Functions() {
			out := filepath.Join(a.Bootstraps, step.Dir, "bootstrap")
			cmd := exec.Command("go", "build", //nolint:gosec // G204: builds the project's own tasks/<step> packages, named by workflow.Steps
				"-tags", "lambda.norpc", "-o", out, "./tasks/"+step.Dir)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				return Artifacts{}, fmt.Errorf("building %s: %w\n%s", step.Dir, err, b)
			}
		}
	}
	if a.Template == "" {
		// The assets are the host bootstraps: the template's content does
		// not depend on which build the assets hold.
		out := filepath.Join(dir, "cdk.out")
		cmd := exec.Command(filepath.Join("_node", "node_modules", ".bin", "cdk"), "synth", //nolint:gosec // G204: the pinned CDK CLI under _node, synthesizing this repository
			"--no-notices", "-q",
			"-o", out, "-c", "mirrorflow:assetRoot="+a.Bootstraps)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20", "CDK_DISABLE_VERSION_CHECK=true")
		if b, err := cmd.CombinedOutput(); err != nil {
			return Artifacts{}, fmt.Errorf("synthesizing (run `make node` first if the CDK CLI is missing): %w\n%s", err, b)
		}
		a.Template = filepath.Join(out, "Mirrorflow.template.json")
	}
	return a, nil
}
