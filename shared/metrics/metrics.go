// Package metrics writes CloudWatch metrics in the embedded metric format
// (EMF): one JSON document per line, which CloudWatch Logs turns into
// metrics when it receives the line in a log group. A Lambda writes the
// documents to stdout, which Lambda sends to the function's log group, so
// publishing a metric costs no API call, no permission and no dependency.
//
// The document's structure is the one "Specification: Embedded metric
// format" (Amazon CloudWatch User Guide) requires: a root member _aws with
// the Timestamp in milliseconds since the epoch and CloudWatchMetrics, an
// array of metric directives, each naming the Namespace, the dimension sets
// (arrays of dimension names) and the metrics (Name, Unit); every dimension
// and every metric a directive names is a member of the root holding its
// value, a string for a dimension and a number for a metric.
package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units mirrorflow's metrics use.
const (
	// Count is a number of things: placements, sessions, source interfaces.
	Count Unit = "Count"
	// None is a unitless value, such as a ratio from 0 to 1.
	None Unit = "None"
)

// Limits of one document, from the specification: a dimension set holds at
// most 30 dimension names and a directive at most 100 metrics.
const (
	MaxDimensions = 30
	MaxMetrics    = 100
)

// awsKey is the root member that holds the metadata.
const awsKey = "_aws"

// Metric is one value to publish.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Dimension is one dimension of a document's metrics: its name and value.
type Dimension struct {
	Name  string
	Value string
}

// Document is what one call to Write publishes: metrics sharing one set of
// dimensions, in one namespace, at one time. Properties are further members
// of the root that CloudWatch Logs keeps in the log event but does not make
// metrics of (an execution id, an interface id): they let a Logs Insights
// query tell documents apart without the cost of a dimension.
type Document struct {
	Namespace  string
	Timestamp  time.Time
	Dimensions []Dimension
	Metrics    []Metric
	Properties map[string]string
}

// ErrInvalid is wrapped by every error Write returns for a document
// CloudWatch would reject: CloudWatch Logs drops such a document silently
// (it only counts it in the AWS/Logs EMFValidationErrors metric), so the
// writer refuses it where a test sees it.
var ErrInvalid = errors.New("invalid embedded metric format document")

// Write writes d as one EMF document, a single line, in a single Write to w
// (so that documents written at once by concurrent handlers to os.Stdout do
// not interleave). A nil w writes nothing.
func Write(w io.Writer, d Document) error {
	if w == nil {
		return nil
	}
	line, err := Marshal(d)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing the %s metrics document: %w", d.Namespace, err)
	}
	return nil
}

// directive is the specification's MetricDirective.
type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

// definition is the specification's MetricDefinition.
type definition struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

// metadata is the specification's metadata object, the _aws member.
type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Marshal returns d as an EMF document, without the newline. It refuses a
// document CloudWatch would not extract metrics from: no namespace or no
// metric, a name that is empty or used twice (by two metrics, two
// dimensions, a metric and a dimension, or a property), too many
// dimensions or metrics, or a value JSON cannot hold (NaN, infinity).
func Marshal(d Document) ([]byte, error) {
	if err := check(d); err != nil {
		return nil, err
	}
	dir := directive{Namespace: d.Namespace, Dimensions: [][]string{make([]string, 0, len(d.Dimensions))}}
	root := make(map[string]any, 1+len(d.Dimensions)+len(d.Metrics)+len(d.Properties))
	for k, v := range d.Properties {
		root[k] = v
	}
	for _, dim := range d.Dimensions {
		dir.Dimensions[0] = append(dir.Dimensions[0], dim.Name)
		root[dim.Name] = dim.Value
	}
	for _, m := range d.Metrics {
		dir.Metrics = append(dir.Metrics, definition{Name: m.Name, Unit: m.Unit})
		root[m.Name] = m.Value
	}
	root[awsKey] = metadata{Timestamp: d.Timestamp.UnixMilli(), CloudWatchMetrics: []directive{dir}}
	out, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s metrics document: %w", d.Namespace, err)
	}
	return out, nil
}

// check says why CloudWatch would reject d, or nil.
func check(d Document) error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case d.Namespace == "":
		return invalid("no namespace")
	case len(d.Metrics) == 0:
		return invalid("no metric in namespace %s", d.Namespace)
	case len(d.Metrics) > MaxMetrics:
		return invalid("%d metrics, more than the %d a directive holds", len(d.Metrics), MaxMetrics)
	case len(d.Dimensions) > MaxDimensions:
		return invalid("%d dimensions, more than the %d a dimension set holds", len(d.Dimensions), MaxDimensions)
	case d.Timestamp.IsZero():
		return invalid("no timestamp")
	}
	var names []string
	for _, dim := range d.Dimensions {
		names = append(names, dim.Name)
	}
	for _, m := range d.Metrics {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			return invalid("metric %s has the value %v, which JSON cannot hold", m.Name, m.Value)
		}
		names = append(names, m.Name)
	}
	for k := range d.Properties {
		names = append(names, k)
	}
	for _, n := range names {
		if n == "" || n == awsKey {
			return invalid("the member name %q is not a metric, dimension or property name", n)
		}
	}
	slices.Sort(names)
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			return invalid("%s names two members of the document; each metric, dimension and property is one member of the root", names[i])
		}
	}
	return nil
}
