package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/mirrorflow/mirrorflow/internal/operate"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/elbv2api"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

var coverageCommand = command{
	name:     "coverage",
	synopsis: "coverage (--snapshot FILE | --live) [--fail-under F] [configuration flags]",
	help: `Says what share of the account's source interfaces is mirrored, and why
not the rest, as docs/coverage.md defines it: the coverage figure, then a
line per interface that is not mirrored (unmirrored, with the reason a
placement would fail or where it would go; skipped, with why), the stale
sessions (mirrorflow's own, that should not be there, with why), and each
sensor's load against its limit and zone.

It runs the workflow's own rule code in-process, changing nothing:
CheckExistingSession's rules batched over each page of running instances,
then, for each unmirrored interface, the candidate steps up to
PickLeastLoaded. --snapshot FILE reads the EC2 simulator seeded from FILE
(with its Config); --live reads the real account (default credential
chain, --region, --profile) with the deployed stack's configuration (its
Configuration output, --stack), or --config FILE, and the flags, as plan
does.

--output json writes {"coverage", "interfaces", "stale", "sensors"}.

Exit codes: 0 when the report ran; 4 when --fail-under F is given and the
coverage is below F; 2 for a bad flag, or a snapshot or --config file that
cannot be read or is malformed; 3 when AWS refused or could not be reached.`,
	run: runCoverage,
}

func runCoverage(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error {
	f := newPlanFlags()
	f.registerAccount(fs)
	failUnder := fs.String("fail-under", "", "exit 4 when the coverage is below `F`, a fraction from 0 to 1 (0.95)")
	if err := f.parse(fs, g, args); err != nil {
		return err
	}
	threshold, err := parseFraction(*failUnder)
	if err != nil {
		return err
	}
	return f.withAccount(ctx, a, g, func(api ec2api.API, lb elbv2api.API, cfg config.Config) error {
		report, err := operate.CoverageOf(ctx, steps.New(api, lb, cfg))
		if err != nil {
			return err
		}
		if err := a.render(g, report, func(w io.Writer) error { return renderCoverageTable(w, report) }); err != nil {
			return err
		}
		if f.set["fail-under"] && report.Coverage < threshold {
			return fmt.Errorf("coverage %s < %s: %w", percent(report.Coverage), percent(threshold), errBelowFailUnder)
		}
		return nil
	})
}

// parseFraction reads --fail-under: empty, or a number from 0 to 1.
func parseFraction(v string) (float64, error) {
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 || math.IsNaN(f) {
		return 0, usagef("--fail-under %q: want a fraction from 0 to 1, such as 0.95", v)
	}
	return f, nil
}

// percent writes a fraction as a percentage with one decimal.
func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// renderCoverageTable writes the coverage figure, then a section each for
// the interfaces that are not mirrored, the stale sessions and the
// sensors; a section with nothing in it says so in one line.
func renderCoverageTable(w io.Writer, r operate.CoverageReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Coverage %s: %d of %d in-scope source interfaces mirrored, %d unmirrored; %d skipped.\n",
		percent(r.Coverage), r.Mirrored, r.Mirrored+r.Unmirrored, r.Unmirrored, r.Skipped)

	rows := [][]string{{"INSTANCE", "INTERFACE", "RULE", "STATUS"}}
	var texts []string
	for _, i := range r.Interfaces {
		if i.Status != workflow.CoverageMirrored {
			rows = append(rows, []string{i.InstanceID, dash(i.NetworkInterfaceID), dash(i.Rule), i.Status})
			texts = append(texts, i.Reason)
		}
	}
	b.WriteString("\nNot mirrored:\n")
	if len(texts) == 0 {
		b.WriteString("  every in-scope source interface is mirrored and none is skipped\n")
	} else {
		wrappedTable(&b, rows, "WHY", texts, nil)
	}

	b.WriteString("\nStale sessions:\n")
	if len(r.Stale) == 0 {
		b.WriteString("  none\n")
	} else {
		rows, texts = [][]string{{"SESSION", "INTERFACE", "TARGET"}}, nil
		for _, s := range r.Stale {
			rows = append(rows, []string{s.SessionID, s.NetworkInterfaceID, s.TargetID})
			texts = append(texts, s.Reason)
		}
		wrappedTable(&b, rows, "WHY", texts, nil)
	}

	b.WriteString("\nSensors:\n")
	if len(r.Sensors) == 0 {
		b.WriteString("  no traffic mirror target is a candidate of any rule\n")
	} else {
		rows, texts = [][]string{{"TARGET", "ZONE", "SOURCES"}}, nil
		for _, s := range r.Sensors {
			load, note := strconv.Itoa(s.Sources), ""
			if s.Limit > 0 {
				load += "/" + strconv.Itoa(s.Limit)
			} else {
				note = "no source limit"
			}
			if s.Draining {
				note = strings.TrimPrefix(note+"; draining: its sessions are stale and move on the next reconcile", "; ")
			}
			rows = append(rows, []string{s.TargetID, dash(s.Zone), load})
			texts = append(texts, note)
		}
		wrappedTable(&b, rows, "NOTE", texts, nil)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the coverage report: %w", err)
	}
	return nil
}
