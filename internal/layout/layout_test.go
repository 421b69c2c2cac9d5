// Package layout_test keeps the tree saying what ships: shared/ is exactly
// what the task Lambdas import, and nothing that ships imports what never
// leaves a laptop (internal/). Go's tooling is the judge: go list -deps
// over the packages the CDK app and the Lambdas are built from.
package layout_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	module = "github.com/mirrorflow/mirrorflow"
	root   = "../.."
)

// goList runs go list with args from the module root and returns the
// import paths it prints.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.Fields(string(out))
}

func TestSharedIsExactlyWhatTheLambdasImport(t *testing.T) {
	deps := goList(t, "-deps", "./tasks/...")
	for _, pkg := range goList(t, "./shared/...") {
		if !slices.Contains(deps, pkg) {
			t.Errorf("%s is under shared/ but no task Lambda imports it; move it under internal/", pkg)
		}
	}
}

func TestWhatShipsImportsNothingInternal(t *testing.T) {
	// Test files may use the test kits and the simulator; what is built
	// into the Lambdas and the CDK app may not.
	for _, pkg := range goList(t, "-deps", "./cdk/...", "./statemachine/...", "./tasks/...", "./shared/...") {
		if strings.HasPrefix(pkg, module+"/internal/") {
			t.Errorf("a package that ships depends on %s", pkg)
		}
	}
}

func TestTaskMainsStayThin(t *testing.T) {
	mains, err := filepath.Glob(filepath.Join(root, "tasks", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("finding tasks/*/main.go: %v (%d found)", err, len(mains))
	}
	for _, path := range mains {
		data, err := os.ReadFile(path) //nolint:gosec // G304: the repository's own tasks/*/main.go, found by Glob above.
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for sc := bufio.NewScanner(bytes.NewReader(data)); sc.Scan(); {
			lines++
		}
		if lines > 30 {
			t.Errorf("%s has %d lines; a step's main.go wires its handler to lambda.Start in at most 30", path, lines)
		}
	}
}
