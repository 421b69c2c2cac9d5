package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/testkit/emf"
)

var at = time.Date(2026, 11, 30, 17, 53, 0, 123e6, time.UTC)

// TestWriteFollowsTheSpecification decodes each written line and checks the
// structure "Specification: Embedded metric format" requires: one JSON
// object on one line, _aws.Timestamp in milliseconds, one directive naming
// the namespace, the dimension set and each metric with its unit, and every
// dimension (a string) and metric (a number) as a member of the root.
func TestWriteFollowsTheSpecification(t *testing.T) {
	tests := []struct {
		name string
		doc  Document
		want map[string]any
	}{
		{name: "a counter with one dimension",
			doc: Document{Namespace: "Mirrorflow", Timestamp: at,
				Dimensions: []Dimension{{"Outcome", "created"}}, Metrics: []Metric{{"Placements", Count, 1}}},
			want: map[string]any{
				"_aws": map[string]any{"Timestamp": float64(at.UnixMilli()), "CloudWatchMetrics": []any{map[string]any{
					"Namespace": "Mirrorflow", "Dimensions": []any{[]any{"Outcome"}},
					"Metrics": []any{map[string]any{"Name": "Placements", "Unit": "Count"}},
				}}},
				"Outcome": "created", "Placements": float64(1),
			}},
		{name: "metrics without dimensions have one empty dimension set",
			doc: Document{Namespace: "Mirrorflow", Timestamp: at,
				Metrics: []Metric{{"Coverage", None, 0.75}, {"ReconcilePlaced", Count, 3}}},
			want: map[string]any{
				"_aws": map[string]any{"Timestamp": float64(at.UnixMilli()), "CloudWatchMetrics": []any{map[string]any{
					"Namespace": "Mirrorflow", "Dimensions": []any{[]any{}},
					"Metrics": []any{map[string]any{"Name": "Coverage", "Unit": "None"}, map[string]any{"Name": "ReconcilePlaced", "Unit": "Count"}},
				}}},
				"Coverage": 0.75, "ReconcilePlaced": float64(3),
			}},
		{name: "properties are root members that no directive names",
			doc: Document{Namespace: "Mirrorflow", Timestamp: at,
				Dimensions: []Dimension{{"Step", "GatherCandidates"}}, Metrics: []Metric{{"PlacementFailures", Count, 1}},
				Properties: map[string]string{"ExecutionId": "arn:x", "NetworkInterfaceId": "eni-1"}},
			want: map[string]any{
				"_aws": map[string]any{"Timestamp": float64(at.UnixMilli()), "CloudWatchMetrics": []any{map[string]any{
					"Namespace": "Mirrorflow", "Dimensions": []any{[]any{"Step"}},
					"Metrics": []any{map[string]any{"Name": "PlacementFailures", "Unit": "Count"}},
				}}},
				"Step": "GatherCandidates", "PlacementFailures": float64(1), "ExecutionId": "arn:x", "NetworkInterfaceId": "eni-1",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.doc); err != nil {
				t.Fatal(err)
			}
			line := buf.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Fatalf("wrote %q, want exactly one line", line)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("the line is not one JSON object: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if _, err := emf.Parse([]byte(line)); err != nil {
				t.Errorf("not a valid EMF document: %v", err)
			}
		})
	}
}

// TestWriteRefusesWhatCloudWatchWouldDrop: CloudWatch Logs drops an invalid
// document without a word, so the writer must refuse it instead.
func TestWriteRefusesWhatCloudWatchWouldDrop(t *testing.T) {
	ok := Document{Namespace: "Mirrorflow", Timestamp: at, Metrics: []Metric{{"Placements", Count, 1}}}
	tests := []struct {
		name   string
		change func(*Document)
	}{
		{"a document needs a namespace", func(d *Document) { d.Namespace = "" }},
		{"a document needs a metric", func(d *Document) { d.Metrics = nil }},
		{"a document needs a timestamp", func(d *Document) { d.Timestamp = time.Time{} }},
		{"NaN is no JSON number", func(d *Document) { d.Metrics[0].Value = math.NaN() }},
		{"infinity is no JSON number", func(d *Document) { d.Metrics[0].Value = math.Inf(1) }},
		{"a metric needs a name", func(d *Document) { d.Metrics = append(d.Metrics, Metric{Unit: Count}) }},
		{"a dimension cannot be named _aws", func(d *Document) { d.Dimensions = []Dimension{{"_aws", "x"}} }},
		{"a metric and a dimension cannot share a name", func(d *Document) { d.Dimensions = []Dimension{{"Placements", "x"}} }},
		{"two metrics cannot share a name", func(d *Document) { d.Metrics = append(d.Metrics, Metric{"Placements", Count, 2}) }},
		{"a property cannot shadow a dimension", func(d *Document) {
			d.Dimensions = []Dimension{{"Zone", "us-east-1a"}}
			d.Properties = map[string]string{"Zone": "us-east-1b"}
		}},
		{"a dimension set holds at most 30 dimensions", func(d *Document) {
			for i := range MaxDimensions + 1 {
				d.Dimensions = append(d.Dimensions, Dimension{Name: "D" + strings.Repeat("x", i), Value: "v"})
			}
		}},
		{"a directive holds at most 100 metrics", func(d *Document) {
			for i := range MaxMetrics {
				d.Metrics = append(d.Metrics, Metric{Name: "M" + strings.Repeat("x", i), Unit: Count})
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok
			d.Metrics = append([]Metric(nil), ok.Metrics...)
			tt.change(&d)
			var buf bytes.Buffer
			if err := Write(&buf, d); !errors.Is(err, ErrInvalid) {
				t.Errorf("Write = %v, want ErrInvalid", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q for a refused document", buf.String())
			}
		})
	}
	if err := Write(nil, ok); err != nil {
		t.Errorf("Write to no writer = %v, want nothing written and no error", err)
	}
}
