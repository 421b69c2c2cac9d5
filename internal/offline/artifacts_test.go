package offline

import (
	"fmt"
	"os"
	"testing"

	"github.com/mirrorflow/mirrorflow/internal/testkit/artifacts"
)

// root is the module root, from this package's folder.
const root = "../.."

// built are what an offline run executes.
var built artifacts.Artifacts

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mirrorflow-offline-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }() // best effort: a leftover temp folder fails no test
	if built, err = artifacts.Build(root, dir); err != nil {
		fmt.Fprintln(os.Stderr, "building what the offline tests run:", err)
		return 1
	}
	return m.Run()
}
