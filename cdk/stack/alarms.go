package stack

import (
	"fmt"
	"math"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// AlarmsContextKey is the cdk.json context key of the alarms' thresholds:
// {"MinCoverage": 0.95, "MinSensorHeadroom": 5}.
const AlarmsContextKey = "mirrorflow:alarms"

// Alarm defaults.
const (
	// DefaultMinCoverage: the coverage alarm goes off when a Reconcile
	// finds fewer than 95% of the in-scope source interfaces mirrored.
	DefaultMinCoverage = 0.95
	// DefaultMinSensorHeadroom: the headroom alarm goes off when some zone's
	// sensors have room for fewer than 5 more sources, about the interfaces
	// of a small Auto Scaling step, so there is time to add a sensor before
	// placements fail with every candidate full.
	DefaultMinSensorHeadroom = 5
)

// AlarmOptions are the thresholds of the alarms on mirrorflow's own metrics.
type AlarmOptions struct {
	// MinCoverage, above 0 and at most 1: the coverage below which the
	// coverage alarm goes off.
	MinCoverage float64 `json:"MinCoverage"`
	// MinSensorHeadroom, a whole number of at least 1: the free source slots
	// in a zone below which the headroom alarm goes off.
	MinSensorHeadroom float64 `json:"MinSensorHeadroom"`
}

// WithDefaults fills what cdk.json left out.
func (o AlarmOptions) WithDefaults() AlarmOptions {
	if o.MinCoverage == 0 {
		o.MinCoverage = DefaultMinCoverage
	}
	if o.MinSensorHeadroom == 0 {
		o.MinSensorHeadroom = DefaultMinSensorHeadroom
	}
	return o
}

// Validate checks the thresholds at synth, naming what is wrong.
func (o AlarmOptions) Validate() error {
	if o.MinCoverage <= 0 || o.MinCoverage > 1 || math.IsNaN(o.MinCoverage) {
		return fmt.Errorf("%s.MinCoverage %v: want a fraction above 0 and at most 1, such as %v (coverage is 0 to 1)",
			AlarmsContextKey, o.MinCoverage, DefaultMinCoverage)
	}
	if o.MinSensorHeadroom != math.Trunc(o.MinSensorHeadroom) || o.MinSensorHeadroom < 1 || o.MinSensorHeadroom > math.MaxInt32 {
		return fmt.Errorf("%s.MinSensorHeadroom %v: want a whole number of free source slots of at least 1, such as %d (headroom is never below 0, so 0 would never go off)",
			AlarmsContextKey, o.MinSensorHeadroom, DefaultMinSensorHeadroom)
	}
	return nil
}

// AlarmsFromContext reads the thresholds from cdk.json, with defaults.
func AlarmsFromContext(node constructs.Node) (AlarmOptions, error) {
	var o AlarmOptions
	if err := decodeContext(node, AlarmsContextKey, &o, `{"MinCoverage": 0.95, "MinSensorHeadroom": 5}`); err != nil {
		return o, err
	}
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("reading context: %w", err)
	}
	return o, nil
}

// Periods of the alarms.
var (
	// failurePeriod is the window of the alarms that count failures: any
	// failure in 5 minutes is one too many.
	failurePeriod = awscdk.Duration_Minutes(jsii.Number(5))
	// reportPeriod is the window of the alarms on what each Reconcile
	// reports (coverage, headroom). The Reconcile writes them once a run,
	// every 6 hours by default, so most windows hold no data point: the
	// alarms treat missing data as "keep the state" (TreatMissingData
	// ignore), and each report moves them to ALARM or back to OK until the
	// next one. An hour, not the schedule's 6, because CloudWatch evaluates
	// a Metrics Insights alarm (the headroom one) on the latest 3 hours of
	// data only ("Limits that apply to alarms based on Metrics Insights
	// queries"): a longer window would never see its report; and one hour
	// so a report is evaluated at most an hour after it is written. A
	// Reconcile that stops running is what ReconcileFailed and the
	// dashboard's Reconcile runs show, not these.
	reportPeriod = awscdk.Duration_Hours(jsii.Number(1))
)

// alarms go off when a placement failed (a message on the dead-letter
// queue, or an execution that failed, including one whose dead-letter send
// failed too, which the queue alarm cannot see), when EventBridge could
// not start a placement, when a Reconcile failed, and when what a
// Reconcile measured is below its threshold. Each sends to the alarm topic
// on ALARM and on OK.
func (s *Stack) alarms() {
	s.alarm("DeadLetterQueueNotEmpty", "A placement failed, or EventBridge or the Reconcile could not start one, and its dead-letter message waits on the queue. "+
		"Run mirrorctl failures to list each with its step and error, fix the cause, then mirrorctl retry --from-dlq (README: When a placement fails).",
		s.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    failurePeriod,
			Statistic: jsii.String("Maximum"),
		}), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0, awscloudwatch.TreatMissingData_NOT_BREACHING)
	s.alarm("PlacementsFailed", "A placement execution failed, so an interface is not mirrored. "+
		"Run mirrorctl failures --since 1h to list it, mirrorctl trace EXECUTION to see which step rejected which sensor and why; "+
		"once fixed, mirrorctl run --instance ID --wait.",
		s.StateMachine.MetricFailed(&awscloudwatch.MetricOptions{
			Period:    failurePeriod,
			Statistic: jsii.String("Sum"),
		}), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0, awscloudwatch.TreatMissingData_NOT_BREACHING)

	for _, r := range s.placementRules() {
		s.ruleAlarms(r.id, r.rule)
	}

	s.alarm("ReconcileFailed", "A Reconcile execution failed: unmirrored interfaces were not placed and stale sessions not deleted until the next run. "+
		"Run mirrorctl failures to read its dead-letter message (the failing Reconcile step and error), mirrorctl trace <execution ARN> for its steps, "+
		"and after the fix mirrorctl reconcile --wait to run it again.",
		s.Reconcile.MetricFailed(&awscloudwatch.MetricOptions{
			Period:    failurePeriod,
			Statistic: jsii.String("Sum"),
		}), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0, awscloudwatch.TreatMissingData_NOT_BREACHING)

	o := s.props.Alarms
	s.alarm("CoverageLow", fmt.Sprintf("The last Reconcile found less than %s of the in-scope source interfaces mirrored. "+
		"Run mirrorctl coverage --live --config FILE for each unmirrored interface and why a placement would fail (full sensors, security groups, no candidate), "+
		"fix that, then mirrorctl reconcile --wait. Stays in ALARM until a Reconcile reports the coverage back at the threshold.", percent(o.MinCoverage)),
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String(workflow.MetricNamespace),
			MetricName: jsii.String(workflow.MetricCoverage),
			Period:     reportPeriod,
			Statistic:  jsii.String("Minimum"),
		}), awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, o.MinCoverage, awscloudwatch.TreatMissingData_IGNORE)
	s.alarm("SensorHeadroomLow", fmt.Sprintf("The last Reconcile found a zone whose sensors have room for fewer than %v more source interfaces: "+
		"placements there will soon fail with every sensor full, or go to another zone. "+
		"Run mirrorctl coverage --live --config FILE for each sensor's load, limit and zone (the dashboard's sensor widgets show which zone), "+
		"and add a sensor in that zone or drain one with mirrorctl drain TARGET.", o.MinSensorHeadroom),
		sensorHeadroomMinimum(), awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, o.MinSensorHeadroom, awscloudwatch.TreatMissingData_IGNORE)
}

// SensorHeadroomQuery is the Metrics Insights query the headroom alarm
// evaluates: the least headroom of any zone.
//
// Zones are known only at run time, and CloudWatch allows no alarm on a
// SEARCH expression, so neither per-zone alarms (the zones would have to be
// listed in cdk.json and kept in step with the sensors) nor a SEARCH are
// used. A Metrics Insights query that returns one time series is
// alarmable ("Create a CloudWatch alarm based on a Metrics Insights
// query"): MIN over every SensorHeadroom series is below the threshold
// exactly when some zone's is, and a zone whose sensors appear later joins
// without a deploy. The notification does not name the zone; the
// description points to the per-zone dashboard widgets and mirrorctl
// coverage, which do. FROM the namespace rather than SCHEMA(…, Zone) so
// that a series written with more dimensions than Zone still counts.
var SensorHeadroomQuery = fmt.Sprintf(`SELECT MIN(%s) FROM "%s"`, workflow.MetricSensorHeadroom, workflow.MetricNamespace)

func sensorHeadroomMinimum() awscloudwatch.IMetric {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(SensorHeadroomQuery),
		Label:      jsii.String("Least sensor headroom of any zone"),
		Period:     reportPeriod,
	})
}

// placementRule is one EventBridge rule that starts placements, with the
// construct id its alarms are named after.
type placementRule struct {
	id   string
	rule awsevents.Rule
}

// placementRules are the rules the stack has, in a fixed order.
func (s *Stack) placementRules() []placementRule {
	rules := []placementRule{{"InstanceRunning", s.Rule}}
	if s.AttachRule != nil {
		rules = append(rules, placementRule{"InterfaceAttached", s.AttachRule})
	}
	if s.FindingRule != nil {
		rules = append(rules, placementRule{"GuardDutyFinding", s.FindingRule})
	}
	return rules
}

// ruleAlarms go off when EventBridge gave up starting a placement for an
// event of rule (FailedInvocations, after TriggerRetryAttempts retries), and
// when it could not even put that event on the dead-letter queue
// (InvocationsFailedToBeSentToDlq): then the event is lost, and only a
// Reconcile will place the instance. Both metrics are sent only when not
// zero, so missing data is not breaching.
func (s *Stack) ruleAlarms(id string, rule awsevents.Rule) {
	metric := func(name string) awscloudwatch.IMetric {
		// The rules are on the default event bus, whose metrics carry the
		// RuleName dimension alone.
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String("AWS/Events"),
			MetricName:    jsii.String(name),
			DimensionsMap: &map[string]*string{"RuleName": rule.RuleName()},
			Period:        failurePeriod,
			Statistic:     jsii.String("Sum"),
		})
	}
	s.alarm(id+"FailedInvocations", "EventBridge could not start a placement for an event of the "+id+" rule after its retries (throttled, the target role refused, the state machine gone). "+
		"Run mirrorctl failures: the event should wait on the dead-letter queue with the error; fix the cause, then mirrorctl retry --from-dlq.",
		metric("FailedInvocations"), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0, awscloudwatch.TreatMissingData_NOT_BREACHING)
	s.alarm(id+"DeadLetterFailed", "EventBridge could not start a placement for an event of the "+id+" rule and could not put the event on the dead-letter queue either "+
		"(the queue policy, its key, or its size limit): the event is lost and no mirrorctl failures lists it. "+
		"Check the queue policy, then run mirrorctl reconcile --wait, which places every running instance that is not mirrored.",
		metric("InvocationsFailedToBeSentToDlq"), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0, awscloudwatch.TreatMissingData_NOT_BREACHING)
}

// alarm is one alarm of one data point against threshold, sending to the
// alarm topic when it goes to ALARM and when it goes back to OK.
func (s *Stack) alarm(id, description string, metric awscloudwatch.IMetric, op awscloudwatch.ComparisonOperator, threshold float64, missing awscloudwatch.TreatMissingData) {
	a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		ComparisonOperator: op,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   missing,
	})
	action := awscloudwatchactions.NewSnsAction(s.AlarmTopic)
	a.AddAlarmAction(action)
	a.AddOkAction(action)
	s.Alarms = append(s.Alarms, a)
}

// percent writes a fraction as a percentage, without float noise
// (0.95 is 95%, not 95.00000000000001%).
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1e6)/1e4, 'f', -1, 64) + "%"
}
