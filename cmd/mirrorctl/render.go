package main

import (
	"io"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

// render writes v as JSON when --output json, else with table.
func (a *app) render(g *globals, v any, table func(io.Writer) error) error {
	if g.output == operate.FormatJSON {
		return operate.RenderJSON(a.stdout, v)
	}
	return table(a.stdout)
}

// renderTrace writes a trace in the chosen format.
func (a *app) renderTrace(g *globals, t operate.Trace) error {
	return a.render(g, t, func(w io.Writer) error { return operate.RenderTraceTable(w, t) })
}
