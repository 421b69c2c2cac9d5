package operate

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// CoverageReport is an account's coverage as docs/coverage.md defines it:
// mirrorctl coverage's JSON contract, the snapshot format's example.
type CoverageReport struct {
	// Coverage is mirrored / (mirrored + unmirrored), 1 when both are 0,
	// rounded to 4 decimal places.
	Coverage   float64                      `json:"coverage"`
	Interfaces []workflow.InterfaceCoverage `json:"interfaces"`
	Stale      []workflow.StaleSession      `json:"stale"`
	Sensors    []workflow.SensorLoad        `json:"sensors"`

	// Mirrored, Unmirrored and Skipped count the interfaces, for a summary
	// line; the JSON leaves them out, as the snapshot format's example does.
	Mirrored   int `json:"-"`
	Unmirrored int `json:"-"`
	Skipped    int `json:"-"`
}

// instancesPerPage is the MaxResults of each DescribeInstances page the
// report judges at once (EC2's largest).
const instancesPerPage = 1000

// CoverageOf judges every running instance of the account, a page of
// DescribeInstances at a time, previews the placement of each unmirrored
// interface, and lists the sensors' load.
func CoverageOf(ctx context.Context, h *steps.Handlers) (CoverageReport, error) {
	report := CoverageReport{Interfaces: []workflow.InterfaceCoverage{}, Stale: []workflow.StaleSession{}}
	targets, err := ec2api.TrafficMirrorTargetsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorTargetsInput{})
	if err != nil {
		return report, fmt.Errorf("describing the traffic mirror targets: %w", Explain(err))
	}
	preview := steps.NewPreviewer(h)
	pages := ec2.NewDescribeInstancesPaginator(h.EC2, &ec2.DescribeInstancesInput{
		Filters:    []ec2types.Filter{ec2api.Filter("instance-state-name", "running")},
		MaxResults: aws.Int32(instancesPerPage),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return report, fmt.Errorf("listing the running instances: %w", Explain(err))
		}
		var instances []ec2types.Instance
		for _, r := range page.Reservations {
			instances = append(instances, r.Instances...)
		}
		c, pending, err := h.Coverage(ctx, instances, targets)
		if err != nil {
			return report, fmt.Errorf("judging %d running instances: %w", len(instances), Explain(err))
		}
		for _, p := range pending {
			why, err := preview.Preview(ctx, p)
			if err != nil {
				return report, Explain(err)
			}
			i := slices.IndexFunc(c.Interfaces, func(ic workflow.InterfaceCoverage) bool {
				return ic.NetworkInterfaceID == p.Source.NetworkInterfaceID
			})
			c.Interfaces[i].Reason = why
		}
		report.Interfaces = append(report.Interfaces, c.Interfaces...)
		report.Stale = append(report.Stale, c.Stale...)
	}
	// EC2 pages instances in an order of its own; the report lists them by
	// id, each instance's interfaces in device order as judged.
	slices.SortStableFunc(report.Interfaces, func(a, b workflow.InterfaceCoverage) int { return cmp.Compare(a.InstanceID, b.InstanceID) })
	slices.SortStableFunc(report.Stale, func(a, b workflow.StaleSession) int { return cmp.Compare(a.SessionID, b.SessionID) })

	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{})
	if err != nil {
		return report, fmt.Errorf("describing the traffic mirror sessions: %w", Explain(err))
	}
	if report.Sensors, err = h.Sensors(ctx, targets, sessions); err != nil {
		return report, fmt.Errorf("reading the sensors' load: %w", Explain(err))
	}
	ratio := workflow.Coverage{Interfaces: report.Interfaces}.Ratio()
	report.Coverage = math.Round(ratio*10000) / 10000
	for _, i := range report.Interfaces {
		switch i.Status {
		case workflow.CoverageMirrored:
			report.Mirrored++
		case workflow.CoverageUnmirrored:
			report.Unmirrored++
		default:
			report.Skipped++
		}
	}
	return report, nil
}
