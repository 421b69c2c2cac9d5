package workflow

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/steperr"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseInput(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		file        string
		wantID      string
		wantTrigger string
		// wantErr is a fragment of the InvalidInput message; empty means success.
		wantErr string
	}{
		{name: "a running state-change event places its instance", file: "eventbridge-running.json",
			wantID: "i-0e26b3747ee8aab5c", wantTrigger: TriggerEventBridge},
		{name: "a manual input places its instance", file: "manual.json",
			wantID: "i-5202beb1625020651", wantTrigger: TriggerManual},
		{name: "the old 8-hex instance id form is accepted", input: `{"instanceId":"i-0abc1234"}`,
			wantID: "i-0abc1234", wantTrigger: TriggerManual},
		{name: "the Reconcile workflow's input places its instance", input: `{"instanceId":"i-0abc1234","trigger":"reconcile"}`,
			wantID: "i-0abc1234", wantTrigger: TriggerReconcile},
		{name: "a trigger the placement does not know is rejected", input: `{"instanceId":"i-0abc1234","trigger":"eventbridge"}`,
			wantErr: `trigger "eventbridge" is not one the placement knows`},
		{name: "whitespace around the input is ignored", input: " \n\t{\"instanceId\":\"i-0abc1234\"}\n",
			wantID: "i-0abc1234", wantTrigger: TriggerManual},
		{name: "an instance that is stopping is not mirrored", file: "eventbridge-stopping.json",
			wantErr: `is "stopping"; only "running"`},
		{name: "another detail-type from aws.ec2 is rejected", file: "eventbridge-spot-interruption.json",
			wantErr: `detail-type is "EC2 Spot Instance Interruption Warning"`},
		{name: "an event from another source is rejected",
			input:   `{"source":"aws.autoscaling","detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"i-0abc1234","state":"running"}}`,
			wantErr: `event source is "aws.autoscaling"`},
		{name: "an event without detail is rejected",
			input:   `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification"}`,
			wantErr: "event detail is missing"},
		{name: "an event whose detail is a string is rejected",
			input:   `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":"i-0abc1234"}`,
			wantErr: "event detail is missing or not a JSON object"},
		{name: "an event without instance-id is rejected",
			input:   `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{"state":"running"}}`,
			wantErr: "event detail instance-id is missing"},
		{name: "an event with a malformed time is rejected",
			input:   `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","time":"yesterday","detail":{"instance-id":"i-0abc1234","state":"running"}}`,
			wantErr: "decoding the EventBridge event"},
		{name: "CloudTrail's record of an interface attached to an instance places that instance", file: "cloudtrail-attach.json",
			wantID: "i-0e26b3747ee8aab5c", wantTrigger: TriggerCloudTrail},
		{name: "an AttachNetworkInterface call that failed attached nothing and is rejected", file: "cloudtrail-attach-failed.json",
			wantErr: "the AttachNetworkInterface call failed (Client.InvalidParameterCombination)"},
		{name: "another API call recorded by CloudTrail is rejected",
			input:   `{"source":"aws.ec2","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ec2.amazonaws.com","eventName":"DetachNetworkInterface","requestParameters":{"attachmentId":"eni-attach-00eb752237a160808"}}}`,
			wantErr: `CloudTrail event is DetachNetworkInterface from "ec2.amazonaws.com", want AttachNetworkInterface`},
		{name: "an AttachNetworkInterface record from another event source is rejected",
			input:   `{"source":"aws.ec2","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ecs.amazonaws.com","eventName":"AttachNetworkInterface","requestParameters":{"instanceId":"i-0abc1234"}}}`,
			wantErr: `from "ecs.amazonaws.com", want AttachNetworkInterface from "ec2.amazonaws.com"`},
		{name: "a CloudTrail record from another source than aws.ec2 is rejected",
			input:   `{"source":"aws.autoscaling","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ec2.amazonaws.com","eventName":"AttachNetworkInterface","requestParameters":{"instanceId":"i-0abc1234"}}}`,
			wantErr: `event source is "aws.autoscaling"`},
		{name: "an AttachNetworkInterface record without requestParameters is rejected",
			input:   `{"source":"aws.ec2","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ec2.amazonaws.com","eventName":"AttachNetworkInterface"}}`,
			wantErr: "requestParameters is missing"},
		{name: "an AttachNetworkInterface record without an instance id is rejected",
			input:   `{"source":"aws.ec2","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ec2.amazonaws.com","eventName":"AttachNetworkInterface","requestParameters":{"networkInterfaceId":"eni-0a9c4b60624c0e41d","deviceIndex":1}}}`,
			wantErr: "requestParameters.instanceId is missing"},
		{name: "a GuardDuty finding about an instance places that instance", file: "guardduty-instance.json",
			wantID: "i-0e26b3747ee8aab5c", wantTrigger: TriggerGuardDuty},
		{name: "a GuardDuty finding about an access key names no instance to mirror", file: "guardduty-access-key.json",
			wantErr: `resource of type "AccessKey", want "Instance"`},
		{name: "a GuardDuty Finding from another source is rejected",
			input:   `{"source":"aws.securityhub","detail-type":"GuardDuty Finding","detail":{"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0abc1234"}}}}`,
			wantErr: `event source is "aws.securityhub"`},
		{name: "another detail-type from aws.guardduty is rejected",
			input:   `{"source":"aws.guardduty","detail-type":"GuardDuty Runtime Protection Unhealthy","detail":{}}`,
			wantErr: `detail-type is "GuardDuty Runtime Protection Unhealthy", want "GuardDuty Finding"`},
		{name: "a GuardDuty finding without a resource is rejected",
			input:   `{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"severity":8}}`,
			wantErr: "resource is missing"},
		{name: "a GuardDuty finding about an instance without instanceDetails is rejected",
			input:   `{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"severity":8,"resource":{"resourceType":"Instance"}}}`,
			wantErr: "resource.instanceDetails is missing"},
		{name: "a GuardDuty finding about an instance without its id is rejected",
			input:   `{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"severity":8,"resource":{"resourceType":"Instance","instanceDetails":{"instanceType":"m5.large"}}}}`,
			wantErr: "resource.instanceDetails.instanceId is missing"},
		{name: "a GuardDuty finding naming something that is not an instance id is rejected",
			input:   `{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"severity":8,"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-99999999x"}}}}`,
			wantErr: `instanceId "i-99999999x" is not an instance id`},
		{name: "unknown fields in manual input are rejected", file: "manual-unknown-field.json",
			wantErr: `unknown field "targetId"`},
		{name: "an interface id is not an instance id", file: "manual-bad-id.json",
			wantErr: `instanceId "eni-7b8fba278842ef307" is not an instance id`},
		{name: "upper-case hex is not an instance id", input: `{"instanceId":"i-0ABC1234"}`,
			wantErr: "is not an instance id"},
		{name: "an id of 9 hex digits is neither form", input: `{"instanceId":"i-0abc12345"}`,
			wantErr: "is not an instance id"},
		{name: "a manual input without instanceId is rejected", input: `{}`,
			wantErr: "instanceId is missing"},
		{name: "a numeric instanceId is rejected", input: `{"instanceId":42}`,
			wantErr: "decoding the manual input"},
		{name: "an array of inputs is rejected", file: "array.json", wantErr: "is an array, not a JSON object"},
		{name: "empty input is rejected", input: "", wantErr: "the execution input is empty"},
		{name: "null is rejected", input: "null", wantErr: "is null, not a JSON object"},
		{name: "a bare instance id string is rejected", input: `"i-0abc1234"`, wantErr: "is a string, not a JSON object"},
		{name: "two objects back to back are rejected", input: `{"instanceId":"i-0abc1234"}{"instanceId":"i-0abc5678"}`,
			wantErr: "unexpected data after the JSON object"},
		{name: "truncated JSON is rejected", input: `{"instanceId":"i-0abc1234"`, wantErr: "decoding the execution input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.input)
			if tt.file != "" {
				raw = readTestdata(t, tt.file)
			}
			id, trigger, err := ParseInput(raw)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseInput: %v", err)
				}
				if id != tt.wantID || trigger != tt.wantTrigger {
					t.Errorf("ParseInput = (%q, %q), want (%q, %q)", id, trigger, tt.wantID, tt.wantTrigger)
				}
				return
			}
			var invalid *steperr.InvalidInput
			if !errors.As(err, &invalid) {
				t.Fatalf("ParseInput error = %#v, want *steperr.InvalidInput", err)
			}
			if got := steperr.TypeName(err); got != "InvalidInput" {
				t.Errorf("Lambda errorType = %q, want InvalidInput", got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
			if id != "" {
				t.Errorf("ParseInput returned instance %q along with an error", id)
			}
		})
	}
}

// TestEventRoundTrip checks the sample event survives aws-lambda-go's types
// unchanged, so the fields ParseInput reads are the ones EventBridge sends.
func TestEventRoundTrip(t *testing.T) {
	for _, file := range []string{"eventbridge-running.json", "eventbridge-stopping.json", "eventbridge-spot-interruption.json",
		"cloudtrail-attach.json", "cloudtrail-attach-failed.json", "guardduty-instance.json", "guardduty-access-key.json"} {
		t.Run(file, func(t *testing.T) {
			raw := readTestdata(t, file)
			var ev events.EventBridgeEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip changed the event (-want +got):\n%s", diff)
			}
		})
	}
}

// TestManualInputRoundTrip checks that what mirrorctl run sends is what ParseInput accepts.
func TestManualInputRoundTrip(t *testing.T) {
	for _, id := range []string{"i-0abc1234", "i-5202beb1625020651"} {
		raw, err := json.Marshal(ManualInput{InstanceID: id})
		if err != nil {
			t.Fatal(err)
		}
		got, trigger, err := ParseInput(raw)
		if err != nil || got != id || trigger != TriggerManual {
			t.Errorf("ParseInput(%s) = (%q, %q, %v), want (%q, manual, nil)", raw, got, trigger, err, id)
		}
	}
}

// TestStartCarriesInputVerbatim checks the first step's payload keeps the
// execution input as raw JSON, which is what ParseInput is given.
func TestStartCarriesInputVerbatim(t *testing.T) {
	event := readTestdata(t, "eventbridge-running.json")
	payload, err := json.Marshal(map[string]any{"input": json.RawMessage(event), "executionId": "arn:aws:states:us-east-1:123456789012:execution:mirrorflow:abc"})
	if err != nil {
		t.Fatal(err)
	}
	var start Start
	if err := json.Unmarshal(payload, &start); err != nil {
		t.Fatal(err)
	}
	id, trigger, err := ParseInput(start.Input)
	if err != nil || id != "i-0e26b3747ee8aab5c" || trigger != TriggerEventBridge {
		t.Errorf("ParseInput(Start.Input) = (%q, %q, %v)", id, trigger, err)
	}
}

func FuzzParseInput(f *testing.F) {
	for _, name := range []string{"eventbridge-running.json", "eventbridge-stopping.json", "eventbridge-spot-interruption.json",
		"cloudtrail-attach.json", "cloudtrail-attach-failed.json", "guardduty-instance.json", "guardduty-access-key.json",
		"manual.json", "manual-unknown-field.json", "manual-bad-id.json", "array.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"detail":{"instance-id":"i-0abc1234","state":"running"}}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, trigger, err := ParseInput(raw)
		if err != nil {
			if !steperr.IsNamed(err) {
				t.Fatalf("ParseInput returned %T, not a named step error", err)
			}
			return
		}
		if !instanceIDPattern.MatchString(id) {
			t.Fatalf("ParseInput accepted malformed instance id %q", id)
		}
		if !slices.Contains([]string{TriggerEventBridge, TriggerCloudTrail, TriggerGuardDuty, TriggerManual, TriggerReconcile}, trigger) {
			t.Fatalf("ParseInput returned trigger %q", trigger)
		}
	})
}
