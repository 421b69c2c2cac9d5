package template

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readTwoSteps(t *testing.T) *Template {
	t.Helper()
	tmpl, err := ReadFile("testdata/two-steps.template.json")
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestDefinitionResolvesEveryIntrinsic(t *testing.T) {
	def, err := readTwoSteps(t).Definition(DefaultEnv)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(def, &got); err != nil {
		t.Fatalf("resolved definition is not JSON: %v", err)
	}
	want := map[string]any{
		"StartAt": "CheckExistingSession",
		"States": map[string]any{
			"CheckExistingSession": map[string]any{
				"Type":     "Task",
				"Resource": "arn:aws:states:::lambda:invoke",
				"Parameters": map[string]any{
					"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:CheckFn1A2B3C4D",
					"Payload.$":    "$",
				},
				"Next": "CreateSession",
			},
			"CreateSession": map[string]any{
				"Type":     "Task",
				"Resource": "arn:aws:states:::lambda:invoke",
				"Parameters": map[string]any{
					"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:CreateFn5E6F7A8B",
					"Payload.$":    "$",
				},
				"Next": "Send",
			},
			"Send": map[string]any{
				"Type":     "Task",
				"Resource": "arn:aws:states:::sqs:sendMessage",
				"Parameters": map[string]any{
					"QueueUrl":      "https://sqs.us-east-1.amazonaws.com/123456789012/DeadLetterQueue9F481546",
					"MessageBody.$": "$",
				},
				"Comment": "hello from 123456789012 in us-east-1",
				"End":     true,
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved definition (-want +got):\n%s", diff)
	}
}

func TestDefinitionResolvesInTheGivenEnv(t *testing.T) {
	env := Env{Partition: "aws-cn", Region: "cn-north-1", AccountID: "210987654321", URLSuffix: "amazonaws.com.cn"}
	def, err := readTwoSteps(t).Definition(env)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"arn:aws-cn:states:::lambda:invoke",
		"arn:aws-cn:lambda:cn-north-1:210987654321:function:CheckFn1A2B3C4D",
		"https://sqs.cn-north-1.amazonaws.com.cn/210987654321/DeadLetterQueue9F481546",
	} {
		if !strings.Contains(string(def), want) {
			t.Errorf("definition lacks %q:\n%s", want, def)
		}
	}
}

func TestStateMachineARNIsBuiltFromItsLogicalID(t *testing.T) {
	got, err := readTwoSteps(t).StateMachineARN(DefaultEnv)
	if want := "arn:aws:states:us-east-1:123456789012:stateMachine:PlacementStateMachine1234ABCD"; err != nil || got != want {
		t.Errorf("StateMachineARN() = %q, %v; want %q", got, err, want)
	}
}

func TestFunctionsCarryStepEnvironmentAndAsset(t *testing.T) {
	fns, err := readTwoSteps(t).Functions(DefaultEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []Function{
		{
			LogicalID: "CheckFn1A2B3C4D",
			ARN:       "arn:aws:lambda:us-east-1:123456789012:function:CheckFn1A2B3C4D",
			Step:      "CheckExistingSession",
			Environment: map[string]string{
				"MIRRORFLOW_STEP":      "CheckExistingSession",
				"MIRRORFLOW_FILTER_ID": "tmf-028da7ec9b76b272f",
				"MIRRORFLOW_QUEUE":     "https://sqs.us-east-1.amazonaws.com/123456789012/DeadLetterQueue9F481546",
			},
			Handler:             "bootstrap",
			Runtime:             "provided.al2023",
			Architectures:       []string{"arm64"},
			Timeout:             60 * time.Second,
			ReservedConcurrency: 20,
			AssetPath:           "asset.0c1d2e3f",
		},
		{
			LogicalID:     "CreateFn5E6F7A8B",
			ARN:           "arn:aws:lambda:us-east-1:123456789012:function:CreateFn5E6F7A8B",
			Step:          "CreateSession",
			Environment:   map[string]string{"MIRRORFLOW_STEP": "CreateSession"},
			Handler:       "bootstrap",
			Runtime:       "provided.al2023",
			Architectures: []string{"arm64"},
			Timeout:       3 * time.Second, // Lambda's default: the template sets none
			// No ReservedConcurrentExecutions: ReservedConcurrency stays 0.
		},
	}
	if diff := cmp.Diff(want, fns); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}

	steps, err := readTwoSteps(t).StepFunctions(DefaultEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := steps["CreateSession"].LogicalID; got != "CreateFn5E6F7A8B" {
		t.Errorf("CreateSession runs on %q, want CreateFn5E6F7A8B", got)
	}
}

func TestUnresolvableTemplatesAreErrors(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
	}{
		{
			name:    "a template without a state machine has no definition",
			json:    `{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}`,
			wantErr: "want exactly one AWS::StepFunctions::StateMachine, found 0",
		},
		{
			name: "two state machines are ambiguous",
			json: `{"Resources": {
				"A": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": "{}"}},
				"B": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": "{}"}}}}`,
			wantErr: "found 2",
		},
		{
			name: "Ref to a parameter is not guessed",
			json: `{"Resources": {"SM": {"Type": "AWS::StepFunctions::StateMachine",
				"Properties": {"DefinitionString": {"Fn::Join": ["", ["{\"a\":\"", {"Ref": "SomeParameter"}, "\"}"]]}}}}}`,
			wantErr: "Ref SomeParameter: no such resource",
		},
		{
			name: "an unsupported intrinsic is an error, not left in the definition",
			json: `{"Resources": {"SM": {"Type": "AWS::StepFunctions::StateMachine",
				"Properties": {"DefinitionString": {"Fn::If": ["C", "{}", "{}"]}}}}}`,
			wantErr: "Fn::If is not supported",
		},
		{
			name: "GetAtt of an attribute we cannot invent",
			json: `{"Resources": {"F": {"Type": "AWS::Lambda::Function"}, "SM": {"Type": "AWS::StepFunctions::StateMachine",
				"Properties": {"DefinitionString": {"Fn::Join": ["", ["{\"a\":\"", {"Fn::GetAtt": ["F", "SnapStartResponse"]}, "\"}"]]}}}}}`,
			wantErr: "F.SnapStartResponse: attribute of AWS::Lambda::Function not supported",
		},
		{
			name: "a definition that does not resolve to JSON",
			json: `{"Resources": {"SM": {"Type": "AWS::StepFunctions::StateMachine",
				"Properties": {"DefinitionString": {"Fn::Join": ["", ["{\"a\":", {"Ref": "AWS::Region"}, "}"]]}}}}}`,
			wantErr: "not valid JSON",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			_, err = tmpl.Definition(DefaultEnv)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Definition() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestReservedConcurrencyIsReadFromTheTemplate(t *testing.T) {
	tests := []struct {
		name     string
		property string // the ReservedConcurrentExecutions entry of the function's Properties, if any
		want     int
		wantErr  string
	}{
		{name: "a function without ReservedConcurrentExecutions reserves none", want: 0},
		{name: "a number is the reserved concurrency", property: `"ReservedConcurrentExecutions": 20`, want: 20},
		{name: "a string of digits is read as CloudFormation reads an Integer", property: `"ReservedConcurrentExecutions": "5"`, want: 5},
		{name: "a fraction is an error", property: `"ReservedConcurrentExecutions": 2.5`, wantErr: "2.5 is not a whole number"},
		{name: "a negative number is an error", property: `"ReservedConcurrentExecutions": -1`, wantErr: "-1 is not a whole number"},
		{name: "a Ref to a parameter is not guessed", property: `"ReservedConcurrentExecutions": {"Ref": "Reserved"}`, wantErr: "Ref Reserved: no such resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := `"Handler": "bootstrap"`
			if tt.property != "" {
				props += ", " + tt.property
			}
			tmpl, err := Parse([]byte(`{"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {` + props + `}}}}`))
			if err != nil {
				t.Fatal(err)
			}
			fns, err := tmpl.Functions(DefaultEnv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "reading F ReservedConcurrentExecutions") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Functions() error = %v, want one naming F and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fns[0].ReservedConcurrency; got != tt.want {
				t.Errorf("ReservedConcurrency = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTwoFunctionsClaimingOneStepIsAnError(t *testing.T) {
	tmpl, err := Parse([]byte(`{"Resources": {
		"A": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"MIRRORFLOW_STEP": "PickLeastLoaded"}}}},
		"B": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"MIRRORFLOW_STEP": "PickLeastLoaded"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.StepFunctions(DefaultEnv); err == nil || !strings.Contains(err.Error(), "A and B both run step PickLeastLoaded") {
		t.Errorf("StepFunctions() error = %v, want both functions named", err)
	}
}

// FuzzParseAndResolve checks that no template, however malformed, panics
// the reader: the offline runner feeds it whatever cdk.out holds.
func FuzzParseAndResolve(f *testing.F) {
	f.Add(`{"Resources": {"SM": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": {"Fn::Join": ["", ["{}"]]}}}}}`)
	f.Add(`{"Resources": {"SM": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": {"Fn::Sub": ["${A}${!B}", {"A": {"Ref": "AWS::Region"}}]}}}}}`)
	f.Add(`{"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"X": {"Fn::GetAtt": "F.Arn"}}}}}}}`)
	f.Add(`{"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"ReservedConcurrentExecutions": "9223372036854775808"}}}}`)
	f.Fuzz(func(t *testing.T, data string) {
		tmpl, err := Parse([]byte(data))
		if err != nil {
			return
		}
		_, _ = tmpl.Definition(DefaultEnv)
		_, _ = tmpl.Functions(DefaultEnv)
	})
}
