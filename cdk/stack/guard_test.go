package stack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// guardExceptionsFile lists, rule by rule and resource by resource, the
// Control Tower guard findings the stack accepts and why.
const guardExceptionsFile = "guard-exceptions.json"

// guardReport is what @cdklabs/cdk-validator-cfnguard's validate() returns
// (its PolicyValidationPluginReportBeta1), as _node/cfn-guard.cjs prints it.
type guardReport struct {
	Success    bool `json:"success"`
	Violations []struct {
		RuleName           string `json:"ruleName"`
		Description        string `json:"description"`
		Fix                string `json:"fix"`
		ViolatingResources []struct {
			ResourceLogicalID string   `json:"resourceLogicalId"`
			Locations         []string `json:"locations"`
			TemplatePath      string   `json:"templatePath"`
		} `json:"violatingResources"`
	} `json:"violations"`
}

// TestControlTowerGuardRulesFindNothingUnexcepted runs the Control Tower
// proactive controls that @cdklabs/cdk-validator-cfnguard bundles, with the
// cfn-guard binary it bundles, over the template of every configuration the
// tests synthesize. Every finding must be listed in guard-exceptions.json
// with a reason, and every entry there must still match a finding, so that
// the list says exactly what the stack leaves unsatisfied.
func TestControlTowerGuardRulesFindNothingUnexcepted(t *testing.T) {
	nodeDir, err := filepath.Abs(filepath.Join("..", "..", "_node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "@cdklabs", "cdk-validator-cfnguard")); err != nil {
		t.Fatalf("@cdklabs/cdk-validator-cfnguard is not installed under %s: run `make node` (%v)", nodeDir, err)
	}
	dir := t.TempDir()
	configs := map[string]synthesized{"tagged": tagged, "targeted": targeted, "ruled": ruled, "owned": owned}
	var templates []string
	for name, s := range configs {
		raw, err := json.Marshal(s.assertions.ToJSON())
		if err != nil {
			t.Fatalf("encoding the %s template: %v", name, err)
		}
		path := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		templates = append(templates, path)
	}
	slices.Sort(templates)
	report := runGuard(t, nodeDir, templates)

	exceptions := readGuardExceptions(t)
	matched := map[string]map[string]bool{}
	for _, v := range report.Violations {
		for _, r := range v.ViolatingResources {
			config := strings.TrimSuffix(filepath.Base(r.TemplatePath), ".template.json")
			reason, ok := exceptions[v.RuleName][r.ResourceLogicalID]
			if !ok {
				t.Errorf("%s on %s (%s config) is not in %s: %s\n  fix: %s\n  at %s",
					v.RuleName, r.ResourceLogicalID, config, guardExceptionsFile, v.Description, v.Fix, strings.Join(r.Locations, ", "))
				continue
			}
			if strings.TrimSpace(reason) == "" {
				t.Errorf("%s: the entry for %s on %s gives no reason", guardExceptionsFile, v.RuleName, r.ResourceLogicalID)
			}
			if matched[v.RuleName] == nil {
				matched[v.RuleName] = map[string]bool{}
			}
			matched[v.RuleName][r.ResourceLogicalID] = true
		}
	}
	for rule, resources := range exceptions {
		for resource := range resources {
			if !matched[rule][resource] {
				t.Errorf("%s excepts %s on %s, which no longer fails it in any configuration: remove the entry",
					guardExceptionsFile, rule, resource)
			}
		}
	}
	if t.Failed() {
		return
	}
	n := 0
	for _, r := range matched {
		n += len(r)
	}
	t.Logf("%d guard finding(s), every one excepted with its reason, over %d templates", n, len(templates))
}

// runGuard runs _node/cfn-guard.cjs, which calls the plugin's validate().
func runGuard(t *testing.T, nodeDir string, templates []string) guardReport {
	t.Helper()
	cmd := exec.Command("node", append([]string{filepath.Join(nodeDir, "cfn-guard.cjs")}, templates...)...) //nolint:gosec // G204: the project's own script under _node, given the templates this test wrote
	cmd.Dir = nodeDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running cfn-guard.cjs: %v\n%s", err, stderr.String())
	}
	var report guardReport
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("decoding the guard report: %v\n%s", err, out)
	}
	return report
}

// readGuardExceptions reads rule name → resource logical id → reason.
func readGuardExceptions(t *testing.T) map[string]map[string]string {
	t.Helper()
	raw, err := os.ReadFile(guardExceptionsFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var exceptions map[string]map[string]string
	if err := json.Unmarshal(raw, &exceptions); err != nil {
		t.Fatal(fmt.Errorf("decoding %s: %w", guardExceptionsFile, err))
	}
	return exceptions
}
