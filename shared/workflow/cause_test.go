package workflow_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// lambdaCause builds the cause Step Functions records for err, as
// aws-lambda-go reports it.
func lambdaCause(t *testing.T, err error) string {
	t.Helper()
	b, mErr := json.Marshal(map[string]any{
		"errorMessage": err.Error(), "errorType": steperr.TypeName(err), "stackTrace": []string{},
	})
	if mErr != nil {
		t.Fatal(mErr)
	}
	return string(b)
}

func TestParseCause(t *testing.T) {
	tests := []struct {
		name   string
		cause  string
		want   workflow.LambdaCause
		wantOK bool
	}{
		{
			name:   "a Lambda error's JSON cause yields its message and type",
			cause:  `{"errorMessage":"instance i-0a1b2c3d not found","errorType":"InstanceNotFound","stackTrace":[]}`,
			want:   workflow.LambdaCause{ErrorMessage: "instance i-0a1b2c3d not found", ErrorType: "InstanceNotFound"},
			wantOK: true,
		},
		{
			name:  "a States error's plain-text cause is returned as the message",
			cause: "Task timed out after 30.00 seconds",
			want:  workflow.LambdaCause{ErrorMessage: "Task timed out after 30.00 seconds"},
		},
		{
			name:  "JSON without errorMessage is not a Lambda cause",
			cause: `{"Error":"States.Runtime"}`,
			want:  workflow.LambdaCause{ErrorMessage: `{"Error":"States.Runtime"}`},
		},
		{
			name:  "an empty cause is an empty message",
			cause: "",
			want:  workflow.LambdaCause{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := workflow.ParseCause(tt.cause)
			if ok != tt.wantOK {
				t.Errorf("ParseCause ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCause (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLambdaCauseRejections(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []placement.Rejection
	}{
		{
			name: "NoReachableSensor's rejections round-trip through its message",
			err: &steperr.NoReachableSensor{Step: workflow.StepFilterBySG, InstanceID: "i-0a1b2c3d4e5f60718", Rejected: []placement.Rejection{
				{TargetID: "tmt-0aa11bb22cc33dd44", Reason: "sg-0f1e2d3c4b5a69788: no inbound rule admits UDP 4789 from 10.0.1.25"},
				{TargetID: "tmt-0ee55ff6600112233", Reason: "sg-0123456789abcdef0: UDP 4789 allowed only from 10.0.2.0/24; not from 10.0.1.25"},
			}},
			want: []placement.Rejection{
				{TargetID: "tmt-0aa11bb22cc33dd44", Reason: "sg-0f1e2d3c4b5a69788: no inbound rule admits UDP 4789 from 10.0.1.25"},
				{TargetID: "tmt-0ee55ff6600112233", Reason: "sg-0123456789abcdef0: UDP 4789 allowed only from 10.0.2.0/24; not from 10.0.1.25"},
			},
		},
		{
			name: "short target ids are recognised too",
			err: &steperr.NoReachableSensor{Step: workflow.StepFilterByNACL, InstanceID: "i-0a1b2c3d", Rejected: []placement.Rejection{
				{TargetID: "tmt-0a1b2c3d", Reason: "acl-0abc: rule 100 denies UDP 4789"},
			}},
			want: []placement.Rejection{{TargetID: "tmt-0a1b2c3d", Reason: "acl-0abc: rule 100 denies UDP 4789"}},
		},
		{
			name: "NoReachableSensor without candidates lists no rejections",
			err:  &steperr.NoReachableSensor{Step: workflow.StepGatherCandidates, InstanceID: "i-0a1b2c3d", Detail: "no traffic mirror target carries mirrorflow:sensor=true"},
			want: nil,
		},
		{
			name: "other errors list no rejections",
			err:  &steperr.SensorFull{TargetID: "tmt-0a1b2c3d", SourceENI: "eni-0a1b2c3d"},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := workflow.ParseCause(lambdaCause(t, tt.err))
			if !ok {
				t.Fatal("ParseCause did not recognise a Lambda cause")
			}
			if diff := cmp.Diff(tt.want, c.Rejections()); diff != "" {
				t.Errorf("Rejections (-want +got):\n%s", diff)
			}
		})
	}
}
