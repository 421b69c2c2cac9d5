package operate

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Output formats every mirrorctl command accepts.
const (
	FormatTable = "table"
	FormatJSON  = "json"
)

// RenderJSON writes v as indented JSON, leaving & < > as they are so
// console URLs stay copyable.
func RenderJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding JSON output: %w", err)
	}
	return nil
}

// table aligns columns like tabwriter and drops the padding tabwriter
// leaves after a row's last non-empty cell, so output has no trailing blanks.
// Rows are added with printf and println, which remember the first error so
// a renderer checks once, at Flush.
type table struct {
	tw  *tabwriter.Writer
	buf strings.Builder
	out io.Writer
	err error
}

func newTable(w io.Writer) *table {
	t := &table{out: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 8, 2, ' ', 0)
	return t
}

func (t *table) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.tw, format, args...)
	}
}

func (t *table) println(args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintln(t.tw, args...)
	}
}

// Flush writes the aligned rows, or returns the first error met adding them.
func (t *table) Flush() error {
	if t.err != nil {
		return t.err
	}
	if err := t.tw.Flush(); err != nil {
		return err
	}
	lines := strings.SplitAfter(t.buf.String(), "\n")
	t.buf.Reset()
	for _, l := range lines {
		trimmed := strings.TrimRight(strings.TrimSuffix(l, "\n"), " ")
		if strings.HasSuffix(l, "\n") {
			trimmed += "\n"
		}
		if _, err := io.WriteString(t.out, trimmed); err != nil {
			return err
		}
	}
	return nil
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// RenderTraceTable writes a trace for a person: a header saying how the
// execution ended, one line per step with its details on continuation lines,
// and the console link.
func RenderTraceTable(w io.Writer, t Trace) error {
	tw := newTable(w)
	tw.printf("Execution\t%s\n", t.Name)
	if t.InstanceID != "" {
		tw.printf("Instance\t%s\n", t.InstanceID)
	}
	status := t.Status
	switch {
	case t.FailedStep != "" && t.FailedNetworkInterfaceID != "":
		status += " at " + t.FailedStep + " for " + t.FailedNetworkInterfaceID + ": " + t.Error
	case t.FailedStep != "":
		status += " at " + t.FailedStep + ": " + t.Error
	case t.Error != "":
		status += ": " + t.Error
	}
	tw.printf("Status\t%s\n", status)
	started := stamp(t.StartTime)
	if t.StartTime != nil && t.StopTime != nil {
		started += ", took " + Duration(t.StopTime.Sub(*t.StartTime)).String()
	}
	tw.printf("Started\t%s\n", started)
	if t.Redrives > 0 {
		tw.printf("Redrives\t%d\n", t.Redrives)
	}
	if t.Status == StatusSucceeded && t.Outcome != "" {
		outcome := string(t.Outcome)
		if t.TargetID != "" {
			outcome += ", target " + t.TargetID
		}
		if t.SessionID != "" {
			outcome += ", session " + t.SessionID
		}
		tw.printf("Outcome\t%s\n", outcome)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the trace: %w", err)
	}

	if _, err := fmt.Fprintln(w); err != nil {
		return fmt.Errorf("writing the trace: %w", err)
	}
	tw = newTable(w)
	tw.println("STEP\tSTATUS\tDURATION\tRETRIES\tDETAIL")
	shown := ""
	for _, s := range t.Steps {
		// The state machine places each source interface in turn: say
		// whose steps follow.
		if s.NetworkInterfaceID != "" && s.NetworkInterfaceID != shown {
			tw.printf("interface %s\t\t\t\t\n", s.NetworkInterfaceID)
			shown = s.NetworkInterfaceID
		}
		details := stepDetails(s)
		first := ""
		if len(details) > 0 {
			first = details[0]
		}
		duration := "-"
		if s.Duration > 0 {
			duration = s.Duration.String()
		}
		tw.printf("%s\t%s\t%s\t%s\t%s\n", s.Step, s.Status, duration, retries(s), first)
		for _, d := range details[min(1, len(details)):] {
			tw.printf("\t\t\t\t%s\n", d)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the trace: %w", err)
	}
	// An offline execution has no console to link to.
	if t.ConsoleURL == "" {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\nConsole  %s\n", t.ConsoleURL); err != nil {
		return fmt.Errorf("writing the trace: %w", err)
	}
	return nil
}

func retries(s StepTrace) string {
	if s.Retries == 0 {
		return "0"
	}
	if len(s.RetriedErrors) == 0 {
		return strconv.Itoa(s.Retries)
	}
	return fmt.Sprintf("%d (%s)", s.Retries, strings.Join(s.RetriedErrors, ", "))
}

// stepDetails lists what a step's DETAIL column says, one line each: its
// error, its note, what it kept, and each rejection with its reason.
func stepDetails(s StepTrace) []string {
	var out []string
	if s.Status == StatusFailed {
		e := "error " + s.Error
		switch {
		case s.RePick:
			e += " (caught: back to " + workflow.StepPickLeastLoaded + " to pick another sensor)"
		case s.Caught:
			e += " (caught: sent to the dead-letter queue)"
		}
		out = append(out, e)
		// A NoReachableSensor message repeats the rejections listed below.
		if len(s.Rejected) == 0 && s.Reason != "" {
			out = append(out, "cause "+s.Reason)
		}
	}
	if s.Note != "" {
		out = append(out, s.Note)
	}
	if len(s.Kept) > 0 {
		out = append(out, fmt.Sprintf("kept %d: %s", len(s.Kept), strings.Join(s.Kept, ", ")))
	}
	for _, r := range s.Rejected {
		out = append(out, "rejected "+r.TargetID+": "+r.Reason)
	}
	return out
}

// RenderFailuresTable writes one line per instance or interface, newest
// failure first.
func RenderFailuresTable(w io.Writer, rows []Failure) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "No failed placements and no dead-letter messages.")
		if err != nil {
			return fmt.Errorf("writing failures: %w", err)
		}
		return nil
	}
	tw := newTable(w)
	tw.println("WHEN\tINSTANCE\tINTERFACE\tSTEP\tERROR\tIN DLQ\tCOUNT\tEXECUTION\tREASON")
	for _, f := range rows {
		inQueue := "no"
		if f.InQueue {
			inQueue = "yes"
		}
		tw.printf("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", stamp(&f.When), dash(f.InstanceID), dash(f.NetworkInterfaceID), dash(f.Step),
			dash(f.Error), inQueue, f.Failures, dash(f.Execution), dash(f.Reason))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing failures: %w", err)
	}
	return nil
}

// RenderRetryTable writes what became of each dead-letter message.
func RenderRetryTable(w io.Writer, results []RetryResult) error {
	if len(results) == 0 {
		if _, err := fmt.Fprintln(w, "The dead-letter queue is empty: nothing to retry."); err != nil {
			return fmt.Errorf("writing retry results: %w", err)
		}
		return nil
	}
	tw := newTable(w)
	tw.println("MESSAGE\tINSTANCE\tSTATUS\tMESSAGE DELETED\tEXECUTION\tREASON")
	for _, r := range results {
		deleted := "no, left in queue"
		if r.Deleted {
			deleted = "yes"
		}
		tw.printf("%s\t%s\t%s\t%s\t%s\t%s\n", r.MessageID, dash(r.InstanceID), r.Status, deleted,
			dash(nameOf(r.ExecutionARN)), dash(r.Reason))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing retry results: %w", err)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
