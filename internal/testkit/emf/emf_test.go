package emf

import "testing"

// TestValidateFindsBrokenDocuments makes sure the reader the step tests
// rely on can fail.
func TestValidateFindsBrokenDocuments(t *testing.T) {
	tests := []struct{ name, line string }{
		{"not JSON", `{"_aws":`},
		{"no metadata", `{"Placements":1}`},
		{"no timestamp", `{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1}`},
		{"no directive", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`},
		{"no namespace", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1}`},
		{"a metric with no member", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]}}`},
		{"a metric that is a string", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":"1"}`},
		{"a dimension that is a number", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M"}]}]},"M":1,"D":2}`},
		{"a dimension with no member", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M"}]}]},"M":1}`},
		{"an unknown unit", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Things"}]}]},"M":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.line)); err == nil {
				t.Error("Parse accepted it")
			}
		})
	}
}
