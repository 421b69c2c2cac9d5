// Package emf reads what a step wrote to its metrics writer back as the
// metrics CloudWatch Logs would extract, checking each line against
// "Specification: Embedded metric format" on its own terms (JSON as
// decoded, not the writer's types), so that a test of a step fails when the
// step writes a document CloudWatch would drop.
package emf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// units are the units CloudWatch accepts (MetricDatum.Unit in the
// CloudWatch API Reference), which the specification's MetricDefinition.Unit
// refers to.
var units = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}

// Datum is one metric value as CloudWatch would extract it.
type Datum struct {
	Namespace  string
	Name       string
	Unit       string
	Value      float64
	Timestamp  int64
	Dimensions map[string]string
	// Properties are the document's other string members.
	Properties map[string]string
}

// ErrNotEMF is wrapped by every error for a line CloudWatch would not
// extract metrics from.
var ErrNotEMF = errors.New("not an embedded metric format document")

// Parse reads every line of out as an EMF document and returns the data
// they hold, in order.
func Parse(out []byte) ([]Datum, error) {
	var data []Datum
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		d, err := parseLine(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("reading line %d (%s): %w", n, sc.Text(), err)
		}
		data = append(data, d...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scanning the metrics output: %w", err)
	}
	return data, nil
}

type directive struct {
	Namespace  *string     `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metricDef struct {
	Name *string `json:"Name"`
	Unit string  `json:"Unit"`
}

func parseLine(line []byte) ([]Datum, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrNotEMF, fmt.Sprintf(format, args...))
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return nil, bad("the line is not one JSON object: %v", err)
	}
	raw, ok := root["_aws"]
	if !ok {
		return nil, bad("no _aws member")
	}
	var meta struct {
		Timestamp         *int64      `json:"Timestamp"`
		CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, bad("_aws is not the metadata object: %v", err)
	}
	if meta.Timestamp == nil {
		return nil, bad("no _aws.Timestamp")
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return nil, bad("_aws.CloudWatchMetrics has no directive")
	}
	props := map[string]string{}
	for k, v := range root {
		var s string
		if k != "_aws" && json.Unmarshal(v, &s) == nil {
			props[k] = s
		}
	}
	var out []Datum
	for _, dir := range meta.CloudWatchMetrics {
		if dir.Namespace == nil || *dir.Namespace == "" {
			return nil, bad("a directive has no Namespace")
		}
		if dir.Dimensions == nil || len(dir.Metrics) == 0 || len(dir.Metrics) > 100 {
			return nil, bad("a directive needs Dimensions and 1 to 100 Metrics")
		}
		for _, set := range dir.Dimensions {
			if len(set) > 30 {
				return nil, bad("a dimension set of %d names, more than 30", len(set))
			}
			dims := map[string]string{}
			for _, name := range set {
				var v string
				if err := json.Unmarshal(root[name], &v); err != nil {
					return nil, bad("dimension %s is not a string member of the root", name)
				}
				dims[name] = v
				delete(props, name)
			}
			for _, m := range dir.Metrics {
				if m.Name == nil || *m.Name == "" {
					return nil, bad("a metric definition has no Name")
				}
				if m.Unit != "" && !slices.Contains(units, m.Unit) {
					return nil, bad("metric %s has unit %q, which CloudWatch does not know", *m.Name, m.Unit)
				}
				var v float64
				if err := json.Unmarshal(root[*m.Name], &v); err != nil {
					return nil, bad("metric %s is not a number member of the root", *m.Name)
				}
				out = append(out, Datum{Namespace: *dir.Namespace, Name: *m.Name, Unit: m.Unit, Value: v,
					Timestamp: *meta.Timestamp, Dimensions: dims, Properties: props})
			}
		}
	}
	return out, nil
}

// Sum adds the values of the data named name whose dimensions include dims.
func Sum(data []Datum, name string, dims map[string]string) float64 {
	var sum float64
	for _, d := range data {
		if d.Name == name && matches(d.Dimensions, dims) {
			sum += d.Value
		}
	}
	return sum
}

// Count is how many data are named name with dimensions including dims.
func Count(data []Datum, name string, dims map[string]string) int {
	n := 0
	for _, d := range data {
		if d.Name == name && matches(d.Dimensions, dims) {
			n++
		}
	}
	return n
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
