package stack_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/cdk/stack"
	"github.com/mirrorflow/mirrorflow/internal/offline/template"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// existingTopic is the TopicArn of the stack synthesized with an existing
// topic and thresholds of its own (notified).
const existingTopic = "arn:aws:sns:us-east-1:123456789012:oncall-pager"

var notifiedOptions = struct {
	notifications stack.NotificationOptions
	alarms        stack.AlarmOptions
}{
	notifications: stack.NotificationOptions{TopicARN: existingTopic},
	alarms:        stack.AlarmOptions{MinCoverage: 0.99, MinSensorHeadroom: 20},
}

func TestNotificationsFromContext(t *testing.T) {
	tests := []contextCase[stack.NotificationOptions]{
		{name: "unset is the stack's topic with no subscriptions"},
		{name: "a cdk.json object of addresses", context: map[string]any{"Emails": []any{"oncall@example.com", "net-team@corp.example.org"}},
			want: stack.NotificationOptions{Emails: []string{"oncall@example.com", "net-team@corp.example.org"}}},
		{name: "a -c string with an existing topic", context: `{"TopicArn":"arn:aws:sns:eu-west-1:123456789012:pager_duty-1"}`,
			want: stack.NotificationOptions{TopicARN: "arn:aws:sns:eu-west-1:123456789012:pager_duty-1"}},
		{name: "a topic in another partition", context: map[string]any{"TopicArn": "arn:aws-us-gov:sns:us-gov-west-1:123456789012:oncall"},
			want: stack.NotificationOptions{TopicARN: "arn:aws-us-gov:sns:us-gov-west-1:123456789012:oncall"}},
		{name: "an address without a domain is named", context: map[string]any{"Emails": []any{"oncall@example.com", "oncall"}}, wantErr: `Emails[1] "oncall"`},
		{name: "an address with a display name is refused: SNS wants the bare address", context: map[string]any{"Emails": []any{"On Call <oncall@example.com>"}}, wantErr: `Emails[0] "On Call <oncall@example.com>"`},
		{name: "a domain without a dot is a typo", context: map[string]any{"Emails": []any{"oncall@example"}}, wantErr: `"oncall@example" is not an email address`},
		{name: "an address given twice, whatever its case, is named", context: map[string]any{"Emails": []any{"oncall@example.com", "OnCall@example.com"}}, wantErr: `Emails[1] "OnCall@example.com" is given twice (also Emails[0])`},
		{name: "an ARN of another service is named", context: map[string]any{"TopicArn": "arn:aws:sqs:us-east-1:123456789012:queue"}, wantErr: `TopicArn "arn:aws:sqs:us-east-1:123456789012:queue" is not an SNS topic ARN`},
		{name: "an account of 11 digits is refused", context: map[string]any{"TopicArn": "arn:aws:sns:us-east-1:12345678901:oncall"}, wantErr: "is not an SNS topic ARN"},
		{name: "a FIFO topic is refused: alarms cannot send to one", context: map[string]any{"TopicArn": "arn:aws:sns:us-east-1:123456789012:oncall.fifo"}, wantErr: "FIFO topic"},
		{name: "addresses and a topic together are refused", context: map[string]any{"Emails": []any{"oncall@example.com"}, "TopicArn": existingTopic}, wantErr: "Emails or TopicArn, not both"},
		{name: "a misspelt key is refused", context: map[string]any{"Email": []any{"oncall@example.com"}}, wantErr: `unknown field "Email"`},
	}
	checkFromContext(t, stack.NotificationsContextKey, stack.NotificationsFromContext, tests)
}

func TestAlarmsFromContext(t *testing.T) {
	tests := []contextCase[stack.AlarmOptions]{
		{name: "unset is 95% coverage and 5 free slots", want: stack.AlarmOptions{MinCoverage: 0.95, MinSensorHeadroom: 5}},
		{name: "a cdk.json object", context: map[string]any{"MinCoverage": 1, "MinSensorHeadroom": 12}, want: stack.AlarmOptions{MinCoverage: 1, MinSensorHeadroom: 12}},
		{name: "a -c string sets one and keeps the other's default", context: `{"MinCoverage":0.8}`, want: stack.AlarmOptions{MinCoverage: 0.8, MinSensorHeadroom: 5}},
		{name: "a percentage is not a fraction", context: map[string]any{"MinCoverage": 95}, wantErr: "MinCoverage 95"},
		{name: "a negative coverage is refused", context: map[string]any{"MinCoverage": -0.5}, wantErr: "MinCoverage -0.5"},
		{name: "a headroom that is not whole is refused", context: map[string]any{"MinSensorHeadroom": 2.5}, wantErr: "MinSensorHeadroom 2.5"},
		{name: "a negative headroom is refused", context: map[string]any{"MinSensorHeadroom": -1}, wantErr: "MinSensorHeadroom -1"},
		{name: "a string where a number belongs is refused", context: map[string]any{"MinCoverage": "0.9"}, wantErr: "MinCoverage"},
		{name: "a misspelt key is refused", context: map[string]any{"MinHeadroom": 3}, wantErr: `unknown field "MinHeadroom"`},
	}
	checkFromContext(t, stack.AlarmsContextKey, stack.AlarmsFromContext, tests)
}

// TestNewRefusesBadNotificationsOrThresholds: Props built in code are
// checked as cdk.json is.
func TestNewRefusesBadNotificationsOrThresholds(t *testing.T) {
	for name, props := range map[string]stack.Props{
		"a malformed address":  {Notifications: stack.NotificationOptions{Emails: []string{"oncall at example.com"}}},
		"a coverage above one": {Alarms: stack.AlarmOptions{MinCoverage: 1.5}},
	} {
		t.Run(name, func(t *testing.T) {
			props.Config, props.AssetRoot = testConfig, assetRoot
			if _, err := stack.New(awscdk.NewApp(nil), stack.Name, props); err == nil {
				t.Error("New built the stack")
			}
		})
	}
}

// alarms are the template's alarms by logical id.
func alarms(s synthesized) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, id := range s.tmpl.LogicalIDs("AWS::CloudWatch::Alarm") {
		out[id] = s.tmpl.Resources[id].Properties
	}
	return out
}

func TestEveryAlarmNotifiesOnAlarmAndOKAndSaysWhatToDo(t *testing.T) {
	for name, tc := range map[string]struct {
		s     synthesized
		topic any
	}{
		"the stack's own topic": {tagged, map[string]any{"Ref": onlyID(t, tagged, "AWS::SNS::Topic")}},
		"rules and GuardDuty":   {ruled, map[string]any{"Ref": onlyID(t, ruled, "AWS::SNS::Topic")}},
		"an existing topic":     {notified, existingTopic},
	} {
		t.Run(name, func(t *testing.T) {
			as := alarms(tc.s)
			if len(as) == 0 {
				t.Fatal("no alarms")
			}
			for id, p := range as {
				for _, key := range []string{"AlarmActions", "OKActions"} {
					if diff := cmp.Diff([]any{tc.topic}, p[key]); diff != "" {
						t.Errorf("%s %s (-want +got):\n%s", id, key, diff)
					}
				}
				if d := str(p["AlarmDescription"]); !strings.Contains(d, "mirrorctl ") {
					t.Errorf("%s's description names no mirrorctl command: %q", id, d)
				}
			}
		})
	}
}

// TestEveryPlacementRuleAlarmsOnFailedDeliveries: each rule the stack has
// (one, or three with Interfaces all and GuardDuty) has an alarm on
// FailedInvocations and one on InvocationsFailedToBeSentToDlq.
func TestEveryPlacementRuleAlarmsOnFailedDeliveries(t *testing.T) {
	for name, tc := range map[string]struct {
		s     synthesized
		rules int
	}{"instance running": {tagged, 1}, "attach and GuardDuty too": {ruled, 3}} {
		t.Run(name, func(t *testing.T) {
			rules := tc.s.tmpl.LogicalIDs("AWS::Events::Rule")
			if len(rules) != tc.rules {
				t.Fatalf("rules %v, want %d", rules, tc.rules)
			}
			for _, rule := range rules {
				for _, metric := range []string{"FailedInvocations", "InvocationsFailedToBeSentToDlq"} {
					hasProps(t, tc.s.assertions, jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
						"Namespace":          "AWS/Events",
						"MetricName":         metric,
						"Dimensions":         []any{map[string]any{"Name": "RuleName", "Value": map[string]any{"Ref": rule}}},
						"Statistic":          "Sum",
						"ComparisonOperator": "GreaterThanThreshold",
						"Threshold":          0,
						"TreatMissingData":   "notBreaching",
					})
				}
			}
			// The two queue and execution alarms, the Reconcile's, coverage
			// and headroom, and two per rule.
			countIs(t, tc.s.assertions, jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(5+2*tc.rules))
		})
	}
}

func TestReconcileFailureAlarm(t *testing.T) {
	hasProps(t, tagged.assertions, jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
		"Namespace":          "AWS/States",
		"MetricName":         "ExecutionsFailed",
		"Dimensions":         []any{map[string]any{"Name": "StateMachineArn", "Value": map[string]any{"Ref": onlyReconcile(t, tagged)}}},
		"ComparisonOperator": "GreaterThanThreshold",
		"Threshold":          0,
	})
}

// TestCoverageAndHeadroomAlarmsUseTheConfiguredThresholds: both alarm on
// what each Reconcile reports, over an hour, keeping their state between
// reports; the headroom one through the Metrics Insights query, since
// zones are known only at run time.
func TestCoverageAndHeadroomAlarmsUseTheConfiguredThresholds(t *testing.T) {
	for name, tc := range map[string]struct {
		s                  synthesized
		coverage, headroom float64
	}{
		"defaults":   {tagged, stack.DefaultMinCoverage, stack.DefaultMinSensorHeadroom},
		"configured": {notified, notifiedOptions.alarms.MinCoverage, notifiedOptions.alarms.MinSensorHeadroom},
	} {
		t.Run(name, func(t *testing.T) {
			hasProps(t, tc.s.assertions, jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
				"Namespace":          workflow.MetricNamespace,
				"MetricName":         workflow.MetricCoverage,
				"Period":             3600,
				"Statistic":          "Minimum",
				"ComparisonOperator": "LessThanThreshold",
				"Threshold":          tc.coverage,
				"TreatMissingData":   "ignore",
			})
			hasProps(t, tc.s.assertions, jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
				"Metrics":            []any{map[string]any{"Expression": stack.SensorHeadroomQuery, "Period": 3600, "Id": assertions.Match_AnyValue(), "Label": assertions.Match_AnyValue()}},
				"ComparisonOperator": "LessThanThreshold",
				"Threshold":          tc.headroom,
				"TreatMissingData":   "ignore",
			})
		})
	}
}

func TestAlarmTopicIsEncryptedWithARotatedKeyCloudWatchMayUseAndTLSOnly(t *testing.T) {
	key := alarmTopicKey(t, tagged)
	topic := onlyID(t, tagged, "AWS::SNS::Topic")
	hasProps(t, tagged.assertions, jsii.String("AWS::SNS::Topic"), &map[string]any{
		"KmsMasterKeyId": map[string]any{"Fn::GetAtt": []any{key, "Arn"}},
	})
	cloudWatch := map[string]any{"Service": "cloudwatch.amazonaws.com"}
	hasProps(t, tagged.assertions, jsii.String("AWS::KMS::Key"), &map[string]any{
		"EnableKeyRotation": true,
		"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Effect":    "Allow",
			"Principal": cloudWatch,
			"Action":    []any{"kms:Decrypt", "kms:GenerateDataKey*"},
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}, "ArnLike": assertions.Match_AnyValue()},
		})})},
	})
	hasProps(t, tagged.assertions, jsii.String("AWS::SNS::TopicPolicy"), &map[string]any{
		"Topics": []any{map[string]any{"Ref": topic}},
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{
				"Effect":    "Deny",
				"Action":    "sns:Publish",
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			}),
			assertions.Match_ObjectLike(&map[string]any{
				"Effect":    "Allow",
				"Principal": cloudWatch,
				"Action":    "sns:Publish",
			}),
		})},
	})
	if _, ok := tagged.tmpl.Outputs[stack.OutputAlarmTopicARN]; !ok {
		t.Errorf("no output %s", stack.OutputAlarmTopicARN)
	}
}

// alarmTopicKey is the logical id of the alarm topic's key (the stack has
// another, for its log groups).
func alarmTopicKey(t *testing.T, s synthesized) string {
	t.Helper()
	for _, id := range s.tmpl.LogicalIDs("AWS::KMS::Key") {
		if strings.HasPrefix(id, "AlarmTopicKey") {
			return id
		}
	}
	t.Fatalf("no AlarmTopicKey among %v", s.tmpl.LogicalIDs("AWS::KMS::Key"))
	return ""
}

func TestEmailsAreSubscribedAndAnExistingTopicReplacesTheStacksOwn(t *testing.T) {
	hasProps(t, ruled.assertions, jsii.String("AWS::SNS::Subscription"), &map[string]any{
		"Protocol": "email",
		"Endpoint": "oncall@example.com",
		"TopicArn": map[string]any{"Ref": onlyID(t, ruled, "AWS::SNS::Topic")},
	})
	countIs(t, tagged.assertions, jsii.String("AWS::SNS::Subscription"), jsii.Number(0))
	for _, typ := range []string{"AWS::SNS::Topic", "AWS::SNS::Subscription"} {
		countIs(t, notified.assertions, jsii.String(typ), jsii.Number(0))
	}
	for _, id := range notified.tmpl.LogicalIDs("AWS::KMS::Key") {
		if strings.HasPrefix(id, "AlarmTopicKey") {
			t.Errorf("with an existing topic the stack still makes the alarm topic's key %s", id)
		}
	}
	got, err := notified.tmpl.Resolve(notified.tmpl.Outputs[stack.OutputAlarmTopicARN].Value, template.DefaultEnv)
	if err != nil || got != existingTopic {
		t.Errorf("output %s = %v (%v), want %s", stack.OutputAlarmTopicARN, got, err, existingTopic)
	}
}

// metricNamePatterns find the names of MetricNamespace's metrics in a
// SEARCH expression ({Mirrorflow,Dim} MetricName="X") and in a Metrics
// Insights query (SELECT F(X) FROM "Mirrorflow" or SCHEMA("Mirrorflow", …)).
var metricNamePatterns = []*regexp.Regexp{
	regexp.MustCompile(`\{` + workflow.MetricNamespace + `[,}][^']*?MetricName="([^"]+)"`),
	regexp.MustCompile(`(?i)SELECT\s+\w+\(\s*"?([^)"\s]+)"?\s*\)\s+FROM\s+(?:SCHEMA\(\s*)?"?` + workflow.MetricNamespace + `\b`),
}

// mirrorflowMetricNames walks v, a dashboard body or an alarm's
// properties, and returns every metric name it uses in MetricNamespace:
// graph metrics ["Mirrorflow", "Name", …], alarm metrics {"Namespace":
// "Mirrorflow", "MetricName": "Name"}, and expressions.
func mirrorflowMetricNames(v any) []string {
	var names []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			if len(x) >= 2 && x[0] == workflow.MetricNamespace {
				names = append(names, str(x[1]))
			}
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if x["Namespace"] == workflow.MetricNamespace {
				names = append(names, str(x["MetricName"]))
			}
			for _, e := range x {
				walk(e)
			}
		case string:
			for _, p := range metricNamePatterns {
				for _, m := range p.FindAllStringSubmatch(x, -1) {
					names = append(names, m[1])
				}
			}
		}
	}
	walk(v)
	return names
}

// TestMetricNamesAreFoundWhereverTheyAre keeps the walker honest: a name
// the dashboard test cannot see is a name it cannot check.
func TestMetricNamesAreFoundWhereverTheyAre(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want []string
	}{
		{"a graph metric", `{"metrics":[["Mirrorflow","Bogus",{"stat":"Sum"}]]}`, []string{"Bogus"}},
		{"another namespace's metric is not ours", `{"metrics":[["AWS/SQS","Bogus","QueueName","q"]]}`, nil},
		{"a SEARCH over a dimension", `{"expression":"SEARCH('{Mirrorflow,Zone} MetricName=\"Bogus\"', 'Sum', 300)"}`, []string{"Bogus"}},
		{"a SEARCH of another namespace is not ours", `{"expression":"SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Sum', 300)"}`, nil},
		{"a Metrics Insights query", `{"Expression":"SELECT MIN(Bogus) FROM \"Mirrorflow\""}`, []string{"Bogus"}},
		{"a Metrics Insights query over a schema", `{"Expression":"SELECT MAX(Bogus) FROM SCHEMA(\"Mirrorflow\", Zone)"}`, []string{"Bogus"}},
		{"an alarm's metric", `{"Namespace":"Mirrorflow","MetricName":"Bogus","Period":3600}`, []string{"Bogus"}},
		{"a metric stat", `{"Metrics":[{"MetricStat":{"Metric":{"Namespace":"Mirrorflow","MetricName":"Bogus"}}}]}`, []string{"Bogus"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, mirrorflowMetricNames(v)); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

// dashboardBody is the stack's dashboard body, resolved and decoded. The
// alarm status widget names alarms by ARN, which the template helper does
// not resolve; the walk has no use for them, so they become their ids.
func dashboardBody(t *testing.T, s synthesized) map[string]any {
	t.Helper()
	id := onlyID(t, s, "AWS::CloudWatch::Dashboard")
	raw := s.tmpl.Resources[id].Properties["DashboardBody"]
	alarmIDs := s.tmpl.LogicalIDs("AWS::CloudWatch::Alarm")
	var replaceAlarmARNs func(v any) any
	replaceAlarmARNs = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 && slices.Contains(alarmIDs, str(ga[0])) {
				return "alarm:" + str(ga[0])
			}
			out := map[string]any{}
			for k, e := range x {
				out[k] = replaceAlarmARNs(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = replaceAlarmARNs(e)
			}
			return out
		}
		return v
	}
	body, err := s.tmpl.Resolve(replaceAlarmARNs(raw), template.DefaultEnv)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(str(body)), &m); err != nil {
		t.Fatalf("dashboard body is not JSON: %v", err)
	}
	return m
}

// TestDashboardAndAlarmsChartOnlyMetricsTheStepsWrite: every metric name
// of MetricNamespace a widget or an alarm uses is one workflow.Metrics
// lists, which a workflow test checks some step writes; and every metric
// the steps write is charted, so none is written for nobody.
func TestDashboardAndAlarmsChartOnlyMetricsTheStepsWrite(t *testing.T) {
	for name, s := range map[string]synthesized{"sensor tag": tagged, "rules": ruled} {
		t.Run(name, func(t *testing.T) {
			used := map[string][]string{}
			for _, n := range mirrorflowMetricNames(dashboardBody(t, s)) {
				used[n] = append(used[n], "the dashboard")
			}
			for id, p := range alarms(s) {
				for _, n := range mirrorflowMetricNames(p) {
					used[n] = append(used[n], "alarm "+id)
				}
			}
			for n, where := range used {
				if !slices.Contains(workflow.Metrics, n) {
					t.Errorf("%s use metric %s/%s, which no step writes (workflow.Metrics)", strings.Join(where, ", "), workflow.MetricNamespace, n)
				}
			}
			var unused []string
			for _, n := range workflow.Metrics {
				if _, ok := used[n]; !ok {
					unused = append(unused, n)
				}
			}
			sort.Strings(unused)
			if len(unused) > 0 {
				t.Errorf("the steps write %v, which no widget or alarm uses", unused)
			}
		})
	}
}

// TestDashboardShowsWhatOnCallNeeds checks the widgets by title and the
// per-zone sensor graphs' SEARCH expressions.
func TestDashboardShowsWhatOnCallNeeds(t *testing.T) {
	body := dashboardBody(t, tagged)
	widgets, _ := body["widgets"].([]any)
	byTitle := map[string]map[string]any{}
	for _, w := range widgets {
		props, _ := w.(map[string]any)["properties"].(map[string]any)
		byTitle[str(props["title"])] = props
	}
	var titles []string
	for title := range byTitle {
		titles = append(titles, title)
	}
	sort.Strings(titles)
	for _, want := range []string{"Alarms", "Coverage", "Placements by outcome", "Placement failures by step", "Sensor sources and capacity per zone",
		"Sensor headroom per zone", "Re-picks", "Dead-letter queue depth", "Placement executions", "Reconcile runs", "What each Reconcile did", "EventBridge"} {
		found := false
		for _, title := range titles {
			found = found || strings.HasPrefix(title, want)
		}
		if !found {
			t.Errorf("no widget titled %q…; the widgets are %q", want, titles)
		}
	}
	alarmsWidget := byTitle[titles[slices.IndexFunc(titles, func(s string) bool { return strings.HasPrefix(s, "Alarms") })]]
	if got, want := len(alarmsWidget["alarms"].([]any)), len(alarms(tagged)); got != want {
		t.Errorf("the alarm widget shows %d alarms, want all %d", got, want)
	}
	raw := fmt.Sprint(byTitle)
	for _, want := range []string{
		`SEARCH('{Mirrorflow,Zone} MetricName="SensorSources"', 'Maximum', 3600)`,
		`SEARCH('{Mirrorflow,Zone} MetricName="SensorCapacity"', 'Maximum', 3600)`,
		`SEARCH('{Mirrorflow,Zone} MetricName="SensorHeadroom"', 'Minimum', 3600)`,
		`SEARCH('{Mirrorflow,Outcome} MetricName="Placements"', 'Sum', 300)`,
		`SEARCH('{Mirrorflow,Step} MetricName="PlacementFailures"', 'Sum', 300)`,
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("no widget graphs %s", want)
		}
	}
}
