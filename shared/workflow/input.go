package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mirrorflow/mirrorflow/shared/steperr"
)

// The execution input forms ParseInput accepts.
const (
	// EventSourceEC2 and EventDetailTypeStateChange identify the EventBridge
	// event EC2 sends when an instance changes state; the rule that starts
	// the workflow matches on them.
	EventSourceEC2             = "aws.ec2"
	EventDetailTypeStateChange = "EC2 Instance State-change Notification"
	// EventStateRunning is the only state worth mirroring: an instance that
	// is pending has no traffic yet, and one that is stopping never will.
	EventStateRunning = "running"

	// EventDetailTypeCloudTrail, CloudTrailEventSourceEC2 and
	// CloudTrailEventAttach identify the event EventBridge receives from
	// CloudTrail when someone attaches a network interface to an instance
	// (source aws.ec2): with Interfaces "all", the new interface is a source.
	EventDetailTypeCloudTrail = "AWS API Call via CloudTrail"
	CloudTrailEventSourceEC2  = "ec2.amazonaws.com"
	CloudTrailEventAttach     = "AttachNetworkInterface"

	// EventSourceGuardDuty and EventDetailTypeGuardDuty identify a GuardDuty
	// finding; GuardDutyResourceInstance is the resourceType of a finding
	// about an EC2 instance, the only kind that names one to mirror.
	EventSourceGuardDuty      = "aws.guardduty"
	EventDetailTypeGuardDuty  = "GuardDuty Finding"
	GuardDutyResourceInstance = "Instance"
)

// instanceIDPattern is EC2's instance id shape: the 8-hex form older
// accounts still hold and the 17-hex form of every instance since 2016.
var instanceIDPattern = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// StateChangeDetail is the detail of an EC2 Instance State-change
// Notification; aws-lambda-go leaves each service's detail as raw JSON.
type StateChangeDetail struct {
	InstanceID string `json:"instance-id"`
	State      string `json:"state"`
}

// CloudTrailDetail is the part of a CloudTrail record (the detail of an
// "AWS API Call via CloudTrail" event) that ParseInput reads.
type CloudTrailDetail struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	// ErrorCode is set when the call failed: nothing was attached.
	ErrorCode         string `json:"errorCode"`
	RequestParameters *struct {
		InstanceID         string `json:"instanceId"`
		NetworkInterfaceID string `json:"networkInterfaceId"`
	} `json:"requestParameters"`
}

// GuardDutyDetail is the part of a GuardDuty finding (the detail of a
// "GuardDuty Finding" event) that ParseInput reads.
type GuardDutyDetail struct {
	Type     string   `json:"type"`
	Severity *float64 `json:"severity"`
	Resource *struct {
		ResourceType    string `json:"resourceType"`
		InstanceDetails *struct {
			InstanceID string `json:"instanceId"`
		} `json:"instanceDetails"`
	} `json:"resource"`
}

// ParseInput reads the execution input, which is one of the EventBridge
// events that start a placement (EC2's state change to running, CloudTrail's
// record of a successful AttachNetworkInterface, a GuardDuty finding about
// an instance) or the {"instanceId": ...} a person pastes into the console
// (with "trigger": "reconcile" when the Reconcile workflow starts it). It
// returns the instance to place and the trigger (TriggerEventBridge,
// TriggerCloudTrail, TriggerGuardDuty, TriggerManual or TriggerReconcile).
// A GuardDuty finding's severity is the rule's to filter: the placement
// does not know the configured minimum. Any other input is a
// *steperr.InvalidInput that says what was wrong, because the same input
// fails the same way on every try and the state machine must not retry it.
func ParseInput(raw json.RawMessage) (instanceID, trigger string, err error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return "", "", &steperr.InvalidInput{Reason: "the execution input is empty; expected an EC2 Instance State-change Notification or {\"instanceId\": \"i-...\"}"}
	}
	if trimmed[0] != '{' {
		return "", "", &steperr.InvalidInput{Reason: fmt.Sprintf("the execution input is %s, not a JSON object; expected an EC2 Instance State-change Notification or {\"instanceId\": \"i-...\"}", jsonKind(trimmed[0]))}
	}
	var keys map[string]json.RawMessage
	if err := decodeOne(trimmed, &keys, false); err != nil {
		return "", "", &steperr.InvalidInput{Reason: "decoding the execution input", Err: err}
	}
	if isEvent(keys) {
		return parseEvent(trimmed)
	}
	return parseManual(trimmed)
}

// isEvent reports whether the input claims to be an EventBridge event, so
// that an event with a wrong source or detail-type is reported as such
// rather than as a manual input with unknown fields.
func isEvent(keys map[string]json.RawMessage) bool {
	for _, k := range []string{"source", "detail-type", "detail"} {
		if _, ok := keys[k]; ok {
			return true
		}
	}
	return false
}

func parseEvent(data []byte) (id, trigger string, err error) {
	var ev events.EventBridgeEvent
	if err := decodeOne(data, &ev, false); err != nil {
		return "", "", &steperr.InvalidInput{Reason: "decoding the EventBridge event", Err: err}
	}
	var parse func(json.RawMessage) (string, error)
	switch {
	case ev.Source == EventSourceEC2 && ev.DetailType == EventDetailTypeStateChange:
		parse, trigger = parseStateChange, TriggerEventBridge
	case ev.Source == EventSourceEC2 && ev.DetailType == EventDetailTypeCloudTrail:
		parse, trigger = parseAttach, TriggerCloudTrail
	case ev.Source == EventSourceGuardDuty && ev.DetailType == EventDetailTypeGuardDuty:
		parse, trigger = parseFinding, TriggerGuardDuty
	case ev.Source != EventSourceEC2 && ev.Source != EventSourceGuardDuty:
		return "", "", &steperr.InvalidInput{Reason: fmt.Sprintf("event source is %q, want %q or %q", truncate(ev.Source, 64), EventSourceEC2, EventSourceGuardDuty)}
	case ev.Source == EventSourceEC2:
		return "", "", &steperr.InvalidInput{Reason: fmt.Sprintf("event detail-type is %q, want %q or %q from %s",
			truncate(ev.DetailType, 64), EventDetailTypeStateChange, EventDetailTypeCloudTrail, EventSourceEC2)}
	default:
		return "", "", &steperr.InvalidInput{Reason: fmt.Sprintf("event detail-type is %q, want %q from %s",
			truncate(ev.DetailType, 64), EventDetailTypeGuardDuty, EventSourceGuardDuty)}
	}
	if t := bytes.TrimSpace(ev.Detail); len(t) == 0 || t[0] != '{' {
		return "", "", &steperr.InvalidInput{Reason: "event detail is missing or not a JSON object"}
	}
	id, err = parse(ev.Detail)
	if err != nil {
		return "", "", err
	}
	return id, trigger, nil
}

// parseStateChange reads an EC2 Instance State-change Notification's detail.
func parseStateChange(detail json.RawMessage) (string, error) {
	var d StateChangeDetail
	if err := decodeOne(detail, &d, false); err != nil {
		return "", &steperr.InvalidInput{Reason: "decoding the event detail", Err: err}
	}
	if d.State != EventStateRunning {
		return "", &steperr.InvalidInput{Reason: fmt.Sprintf("event says instance %s is %q; only %q instances are mirrored", d.InstanceID, d.State, EventStateRunning)}
	}
	if err := checkInstanceID(d.InstanceID, "event detail instance-id"); err != nil {
		return "", err
	}
	return d.InstanceID, nil
}

// parseAttach reads the CloudTrail record of an AttachNetworkInterface
// call. A failed call attached nothing; the rule leaves those out too.
func parseAttach(detail json.RawMessage) (string, error) {
	var d CloudTrailDetail
	if err := decodeOne(detail, &d, false); err != nil {
		return "", &steperr.InvalidInput{Reason: "decoding the CloudTrail event detail", Err: err}
	}
	if d.EventSource != CloudTrailEventSourceEC2 || d.EventName != CloudTrailEventAttach {
		return "", &steperr.InvalidInput{Reason: fmt.Sprintf("CloudTrail event is %s from %q, want %s from %q",
			truncate(d.EventName, 64), truncate(d.EventSource, 64), CloudTrailEventAttach, CloudTrailEventSourceEC2)}
	}
	if d.ErrorCode != "" {
		return "", &steperr.InvalidInput{Reason: fmt.Sprintf("the %s call failed (%s), so no interface was attached", CloudTrailEventAttach, truncate(d.ErrorCode, 64))}
	}
	if d.RequestParameters == nil {
		return "", &steperr.InvalidInput{Reason: "CloudTrail event detail requestParameters is missing"}
	}
	if err := checkInstanceID(d.RequestParameters.InstanceID, "CloudTrail event detail requestParameters.instanceId"); err != nil {
		return "", err
	}
	return d.RequestParameters.InstanceID, nil
}

// parseFinding reads a GuardDuty finding about an EC2 instance.
func parseFinding(detail json.RawMessage) (string, error) {
	var d GuardDutyDetail
	if err := decodeOne(detail, &d, false); err != nil {
		return "", &steperr.InvalidInput{Reason: "decoding the GuardDuty finding", Err: err}
	}
	if d.Resource == nil {
		return "", &steperr.InvalidInput{Reason: "GuardDuty finding detail resource is missing"}
	}
	if d.Resource.ResourceType != GuardDutyResourceInstance {
		return "", &steperr.InvalidInput{Reason: fmt.Sprintf("GuardDuty finding is about a resource of type %q, want %q: only an instance has interfaces to mirror",
			truncate(d.Resource.ResourceType, 64), GuardDutyResourceInstance)}
	}
	if d.Resource.InstanceDetails == nil {
		return "", &steperr.InvalidInput{Reason: "GuardDuty finding detail resource.instanceDetails is missing"}
	}
	if err := checkInstanceID(d.Resource.InstanceDetails.InstanceID, "GuardDuty finding detail resource.instanceDetails.instanceId"); err != nil {
		return "", err
	}
	return d.Resource.InstanceDetails.InstanceID, nil
}

func parseManual(data []byte) (id, trigger string, err error) {
	var in ManualInput
	if err := decodeOne(data, &in, true); err != nil {
		return "", "", &steperr.InvalidInput{Reason: "decoding the manual input (only {\"instanceId\": \"i-...\"}, with \"trigger\": \"reconcile\" from the Reconcile workflow, is accepted)", Err: err}
	}
	if err := checkInstanceID(in.InstanceID, "instanceId"); err != nil {
		return "", "", err
	}
	switch in.Trigger {
	case "":
		return in.InstanceID, TriggerManual, nil
	case TriggerReconcile:
		return in.InstanceID, TriggerReconcile, nil
	}
	return "", "", &steperr.InvalidInput{Reason: fmt.Sprintf("trigger %q is not one the placement knows (only %q, from the Reconcile workflow)", truncate(in.Trigger, 64), TriggerReconcile)}
}

func checkInstanceID(id, field string) error {
	if id == "" {
		return &steperr.InvalidInput{Reason: field + " is missing"}
	}
	if !instanceIDPattern.MatchString(id) {
		return &steperr.InvalidInput{Reason: fmt.Sprintf("%s %q is not an instance id (i- followed by 8 or 17 lowercase hex digits)", field, truncate(id, 64))}
	}
	return nil
}

// decodeOne decodes exactly one JSON value from data: trailing values would
// mean the console held two inputs and we would silently take the first.
func decodeOne(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

func jsonKind(first byte) string {
	switch {
	case first == '[':
		return "an array"
	case first == '"':
		return "a string"
	case first == 'n':
		return "null"
	case first == 't' || first == 'f':
		return "a boolean"
	case first == '-' || (first >= '0' && first <= '9'):
		return "a number"
	}
	return "not JSON"
}

// truncate keeps error messages readable when someone pastes a whole document as an id.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
