package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// OutputDashboardName names the dashboard, for the console link.
const OutputDashboardName = "DashboardName"

// graphPeriod is the period of the dashboard's count graphs.
var graphPeriod = awscdk.Duration_Minutes(jsii.Number(5))

// dashboard is the CloudWatch dashboard an on-call engineer opens first:
// the alarms' states, then coverage, placements, sensor load per zone, the
// dead-letter queue and the Reconcile runs.
//
// The metrics that carry a dimension whose values are known only at run
// time (an outcome, a step, a zone) are graphed with SEARCH expressions,
// which dashboards allow (alarms do not), so a new zone appears without a
// deploy.
func (s *Stack) dashboard() {
	alarms := make([]interfacesawscloudwatch.IAlarmRef, len(s.Alarms))
	for i, a := range s.Alarms {
		alarms[i] = a
	}
	o := s.props.Alarms
	s.Dashboard = awscloudwatch.NewDashboard(s.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
	})
	s.Dashboard.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title:  jsii.String("Alarms (each one's description says what to do and which mirrorctl command shows it)"),
		Alarms: &alarms,
		SortBy: awscloudwatch.AlarmStatusWidgetSortBy_STATE_UPDATED_TIMESTAMP,
		Width:  jsii.Number(24),
		Height: jsii.Number(4),
	}))
	s.Dashboard.AddWidgets(
		graph("Coverage (written by each Reconcile)", []awscloudwatch.IMetric{
			mirrorflowMetric(workflow.MetricCoverage, "Minimum", reportPeriod, "Coverage"),
		}, &awscloudwatch.YAxisProps{Min: jsii.Number(0), Max: jsii.Number(1)}, &awscloudwatch.HorizontalAnnotation{
			Value: jsii.Number(o.MinCoverage), Label: jsii.String("CoverageLow below " + percent(o.MinCoverage)), Fill: awscloudwatch.Shading_BELOW,
		}),
		graph("Placements by outcome", []awscloudwatch.IMetric{
			search(workflow.MetricPlacements, workflow.DimOutcome, "Sum", graphPeriod, ""),
		}, nil, nil),
		graph("Placement failures by step", []awscloudwatch.IMetric{
			search(workflow.MetricPlacementFailures, workflow.DimStep, "Sum", graphPeriod, ""),
		}, nil, nil),
	)
	s.Dashboard.AddWidgets(
		graph("Sensor sources and capacity per zone (sensors with a limit)", []awscloudwatch.IMetric{
			search(workflow.MetricSensorSources, workflow.DimZone, "Maximum", reportPeriod, "Sources"),
			search(workflow.MetricSensorCapacity, workflow.DimZone, "Maximum", reportPeriod, "Capacity"),
		}, &awscloudwatch.YAxisProps{Min: jsii.Number(0)}, nil),
		graph("Sensor headroom per zone (free source slots)", []awscloudwatch.IMetric{
			search(workflow.MetricSensorHeadroom, workflow.DimZone, "Minimum", reportPeriod, ""),
		}, &awscloudwatch.YAxisProps{Min: jsii.Number(0)}, &awscloudwatch.HorizontalAnnotation{
			Value: jsii.Number(o.MinSensorHeadroom), Label: jsii.String(fmt.Sprintf("SensorHeadroomLow below %v", o.MinSensorHeadroom)), Fill: awscloudwatch.Shading_BELOW,
		}),
		graph("Re-picks (a sensor was full; PickLeastLoaded chose again)", []awscloudwatch.IMetric{
			mirrorflowMetric(workflow.MetricRePicks, "Sum", graphPeriod, "Re-picks"),
		}, &awscloudwatch.YAxisProps{Min: jsii.Number(0)}, nil),
	)
	execs := func(label string, m func(*awscloudwatch.MetricOptions) awscloudwatch.Metric) awscloudwatch.IMetric {
		return m(&awscloudwatch.MetricOptions{Period: graphPeriod, Statistic: jsii.String("Sum"), Label: jsii.String(label)})
	}
	s.Dashboard.AddWidgets(
		graph("Dead-letter queue depth (mirrorctl failures)", []awscloudwatch.IMetric{
			s.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
				Period: graphPeriod, Statistic: jsii.String("Maximum"), Label: jsii.String("Messages waiting"),
			}),
		}, &awscloudwatch.YAxisProps{Min: jsii.Number(0)}, nil),
		graph("Placement executions", []awscloudwatch.IMetric{
			execs("Started", s.StateMachine.MetricStarted),
			execs("Succeeded", s.StateMachine.MetricSucceeded),
			execs("Failed", s.StateMachine.MetricFailed),
		}, &awscloudwatch.YAxisProps{Min: jsii.Number(0)}, nil),
		graph("Reconcile runs", []awscloudwatch.IMetric{
			execs("Started", s.Reconcile.MetricStarted),
			execs("Succeeded", s.Reconcile.MetricSucceeded),
			execs("Failed", s.Reconcile.MetricFailed),
		}, &awscloudwatch.YAxisProps{Min: jsii.Number(0)}, nil),
	)
	s.Dashboard.AddWidgets(
		graph("What each Reconcile did", []awscloudwatch.IMetric{
			mirrorflowMetric(workflow.MetricReconcilePlaced, "Sum", reportPeriod, "Placed"),
			mirrorflowMetric(workflow.MetricReconcileFailed, "Sum", reportPeriod, "Failed"),
			mirrorflowMetric(workflow.MetricReconcileDeleted, "Sum", reportPeriod, "Stale sessions deleted"),
		}, &awscloudwatch.YAxisProps{Min: jsii.Number(0)}, nil),
		graph("EventBridge: placements not started (per rule)", s.ruleFailureMetrics(), &awscloudwatch.YAxisProps{Min: jsii.Number(0)}, nil),
	)
	awscdk.NewCfnOutput(s.Stack, jsii.String(OutputDashboardName), &awscdk.CfnOutputProps{
		Description: jsii.String("The CloudWatch dashboard of mirrorflow: alarms, coverage, placements, sensor load per zone, dead letters, Reconcile runs."),
		Value:       s.Dashboard.DashboardName(),
	})
}

// ruleFailureMetrics are FailedInvocations and InvocationsFailedToBeSentToDlq
// of every placement rule.
func (s *Stack) ruleFailureMetrics() []awscloudwatch.IMetric {
	var ms []awscloudwatch.IMetric
	for _, r := range s.placementRules() {
		for _, name := range []string{"FailedInvocations", "InvocationsFailedToBeSentToDlq"} {
			ms = append(ms, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:     jsii.String("AWS/Events"),
				MetricName:    jsii.String(name),
				DimensionsMap: &map[string]*string{"RuleName": r.rule.RuleName()},
				Period:        graphPeriod,
				Statistic:     jsii.String("Sum"),
				Label:         jsii.String(r.id + " " + name),
			}))
		}
	}
	return ms
}

// mirrorflowMetric is a metric of MetricNamespace with no dimensions.
func mirrorflowMetric(name, statistic string, period awscdk.Duration, label string) awscloudwatch.IMetric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(workflow.MetricNamespace),
		MetricName: jsii.String(name),
		Statistic:  jsii.String(statistic),
		Period:     period,
		Label:      jsii.String(label),
	})
}

// search graphs every series of name in MetricNamespace that has exactly
// the dimension dim, one line per value of dim.
func search(name, dim, statistic string, period awscdk.Duration, label string) awscloudwatch.IMetric {
	return awscloudwatch.NewSearchExpression(&awscloudwatch.SearchExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', '%s', %v)`,
			workflow.MetricNamespace, dim, name, statistic, *period.ToSeconds(nil))),
		// Each line is labelled with label and its dimension's value.
		Label:  jsii.String(label),
		Period: period,
	})
}

// graph is a third of a dashboard row.
func graph(title string, left []awscloudwatch.IMetric, axis *awscloudwatch.YAxisProps, threshold *awscloudwatch.HorizontalAnnotation) awscloudwatch.IWidget {
	props := &awscloudwatch.GraphWidgetProps{
		Title:     jsii.String(title),
		Left:      &left,
		LeftYAxis: axis,
		Width:     jsii.Number(8),
		Height:    jsii.Number(6),
	}
	if threshold != nil {
		props.LeftAnnotations = &[]*awscloudwatch.HorizontalAnnotation{threshold}
	}
	return awscloudwatch.NewGraphWidget(props)
}
