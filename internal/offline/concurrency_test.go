package offline

import (
	"encoding/json"
	"testing"

	"github.com/mirrorflow/mirrorflow/internal/offline/template"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// stepTemplate is a template with one function per step (the placement's
// and the Reconcile's); the first
// step's function reserves reserved concurrent executions (none when 0).
func stepTemplate(t *testing.T, reserved int) *template.Template {
	t.Helper()
	resources := map[string]any{}
	for i, step := range workflow.Functions() {
		props := map[string]any{"Environment": map[string]any{"Variables": map[string]any{workflow.StepEnvVar: step.Name}}}
		if i == 0 && reserved > 0 {
			props["ReservedConcurrentExecutions"] = reserved
		}
		resources[step.Dir+"Fn"] = map[string]any{"Type": template.TypeFunction, "Properties": props}
	}
	data, err := json.Marshal(map[string]any{"Resources": resources})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestEachFunctionsConcurrency(t *testing.T) {
	tests := []struct {
		name        string
		reserved    int // the first step's ReservedConcurrentExecutions in the template
		concurrency int // Options.Concurrency
		wantFirst   int
		wantOthers  int
	}{
		{name: "by default a function has its reserved concurrency, and 10 where the template reserves none", reserved: 4, wantFirst: 4, wantOthers: 10},
		{name: "a template without reserved concurrency gives every function 10", wantFirst: 10, wantOthers: 10},
		{name: "a Concurrency option overrides the template for every function", reserved: 4, concurrency: 2, wantFirst: 2, wantOthers: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Snapshot: &snapshot.Snapshot{}, Bootstraps: "bin", Concurrency: tt.concurrency}
			fns, err := functions(stepTemplate(t, tt.reserved), template.DefaultEnv, opts, "http://127.0.0.1:1")
			if err != nil {
				t.Fatal(err)
			}
			if len(fns) != len(workflow.Functions()) {
				t.Fatalf("%d functions, want one per step (%d)", len(fns), len(workflow.Functions()))
			}
			for i, fn := range fns {
				want := tt.wantOthers
				if i == 0 {
					want = tt.wantFirst
				}
				if fn.Concurrency != want {
					t.Errorf("%s: Concurrency %d, want %d", workflow.Steps[i].Name, fn.Concurrency, want)
				}
			}
		})
	}
}
