// Package workflow is the contract between the states of the placement
// state machine: the step names (which are the state names a person sees in
// the console), the payload every step receives and returns, the execution
// input forms, and the dead-letter message.
package workflow

import (
	"encoding/json"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/placement"
)

// Step names are the Task state names, in workflow order.
const (
	StepCheckExistingSession = "CheckExistingSession"
	StepGatherCandidates     = "GatherCandidates"
	StepFilterByZone         = "FilterByAvailabilityZone"
	StepFilterBySG           = "FilterBySecurityGroup"
	StepFilterByNACL         = "FilterByNetworkACL"
	StepPickLeastLoaded      = "PickLeastLoaded"
	StepCreateSession        = "CreateSession"
)

// Step is one Task of the workflow and the folder under tasks/ its Lambda is built from.
type Step struct {
	Name string
	Dir  string
	// Doc says what the step does, for the Lambda's description.
	Doc string
	// EC2Actions are the only EC2 API actions the step calls: its IAM role
	// grants these and nothing else, and its tests check it calls no other.
	EC2Actions []string
	// ELBv2Actions are the Elastic Load Balancing (v2) actions it calls
	// (IAM prefix elasticloadbalancing), likewise.
	ELBv2Actions []string
}

// Steps lists the workflow's Tasks in order. The stack, the Makefile's build
// and mirrorctl plan all follow this list.
var Steps = []Step{
	{StepCheckExistingSession, "checksession",
		"Finds the instance's source interfaces and decides which need a session: not a sensor, not opted out, in scope, an eligible source, not already mirrored, with room for another session.",
		[]string{"DescribeInstances", "DescribeSubnets", "DescribeTrafficMirrorSessions", "DescribeTrafficMirrorTargets", "DescribeNetworkInterfaces", "DescribeVpcEndpoints"},
		[]string{"DescribeLoadBalancers"}},
	{StepGatherCandidates, "gathercandidates",
		"Lists the candidate traffic mirror targets and resolves each to its interface, load balancer or endpoint, zone and capacity.",
		[]string{"DescribeTrafficMirrorTargets", "DescribeNetworkInterfaces", "DescribeInstances", "DescribeVpcEndpoints", "DescribeSubnets"},
		[]string{"DescribeLoadBalancers", "DescribeListeners"}},
	{StepFilterByZone, "filterzone",
		"Keeps sensors in the source's Availability Zone, others only as a fallback unless LocalZoneOnly.",
		nil, nil},
	{StepFilterBySG, "filtersecuritygroup",
		"Keeps sensors whose security groups admit VXLAN (UDP 4789) from the source.",
		[]string{"DescribeSecurityGroups", "GetManagedPrefixListEntries"}, nil},
	{StepFilterByNACL, "filternacl",
		"Keeps sensors whose path is allowed by the network ACLs of both subnets.",
		[]string{"DescribeNetworkAcls"}, nil},
	{StepPickLeastLoaded, "pickleastloaded",
		"Drops full sensors and picks one with the fewest sessions, spreading ties by free source slots.",
		[]string{"DescribeTrafficMirrorSessions"}, nil},
	{StepCreateSession, "createsession",
		"Deletes the interface's stale mirrorflow sessions, then creates the traffic mirror session, idempotently, tagged with the execution.",
		[]string{"CreateTrafficMirrorSession", "CreateTags", "DescribeTrafficMirrorSessions", "DeleteTrafficMirrorSession"}, nil},
}

// StepEnvVar is the Lambda environment variable naming the workflow step a
// function runs. It is part of the contract between the stack, which sets it
// on every step's function, and whoever runs the functions (the offline
// runner maps the template's functions to steps with it).
const StepEnvVar = "MIRRORFLOW_STEP"

// StepNamed returns the step called name.
func StepNamed(name string) (Step, bool) {
	for _, s := range Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// Outcome is how a placement ended.
type Outcome string

// Outcomes, as mirrorctl and the snapshot format name them.
const (
	OutcomeCreated Outcome = "created"
	OutcomeExists  Outcome = "exists"
	OutcomeSkipped Outcome = "skipped"
	OutcomeFailed  Outcome = "failed"
)

// Start is what the state machine hands the first step: the execution input
// as it came (an EventBridge event or {"instanceId": "i-..."}) and the
// execution's id, taken from the context object ($$.Execution.Id).
type Start struct {
	Input       json.RawMessage `json:"input"`
	ExecutionID string          `json:"executionId"`
}

// ManualInput is what a person pastes into the console's New execution, and
// what mirrorctl run and retry send.
type ManualInput struct {
	InstanceID string `json:"instanceId"`
	// Trigger is empty for a person's placement, or TriggerReconcile for
	// one the Reconcile workflow started.
	Trigger string `json:"trigger,omitempty"`
}

// Instance is what CheckExistingSession returns: the instance and its
// source interfaces (the primary one, or every one with Interfaces "all"),
// each a placement of its own that the state machine's Map places in turn.
// When the instance as a whole has nothing to mirror (it is gone, a sensor,
// or opted out), Outcome is skipped with the Reason and Interfaces may be
// empty.
type Instance struct {
	ExecutionID string `json:"executionId,omitempty"`
	InstanceID  string `json:"instanceId"`
	// Trigger is one of the Trigger constants: what started the placement.
	Trigger string  `json:"trigger"`
	Outcome Outcome `json:"outcome,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	// Interfaces are the placements of the source interfaces, in device
	// order. CheckExistingSession sets the Outcome of those it decides
	// (exists, skipped, failed); the others go through the candidate steps.
	Interfaces []Placement `json:"interfaces"`
	// Steps holds CheckExistingSession's report for the whole instance.
	Steps []StepReport `json:"steps"`
}

// ErrorInterfacePlacementFailed is the error an execution fails with when
// one or more of its source interfaces could not be placed; each of them
// has its own dead-letter message with its step's error, and the
// execution's cause names them.
const ErrorInterfacePlacementFailed = "InterfacePlacementFailed"

// ErrorNoRoomOnSource is the error a source interface fails with when it
// cannot get another session: it holds EC2's 3 sessions already, or its
// session number is taken (rule 6 of the snapshot format). The dead-letter
// message carries it like a step's error.
const ErrorNoRoomOnSource = "NoRoomOnSource"

// Placement is the payload of one source interface: what every step after
// the first receives and returns. Each step appends its own StepReport, so
// the console's input and output views of any state tell the placement's
// story so far.
type Placement struct {
	ExecutionID string `json:"executionId,omitempty"`
	InstanceID  string `json:"instanceId"`
	// Trigger is one of the Trigger constants: what started the placement.
	Trigger string            `json:"trigger"`
	Source  *placement.Source `json:"source,omitempty"`
	// Scope is the configuration that decides this interface: its rule's
	// filter, candidates, zone policy and session number.
	Scope *config.Scope `json:"scope,omitempty"`
	// Error names why CheckExistingSession failed the interface without a
	// step failing (ErrorNoRoomOnSource); Reason says it in words.
	Error string `json:"error,omitempty"`
	// Outcome is empty while the placement goes on; CheckExistingSession sets
	// exists or skipped, CreateSession sets created.
	Outcome Outcome `json:"outcome,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	// SourceSessions counts the sessions the source interface had when
	// CheckExistingSession read them. CreateSession re-reads them, to delete
	// the stale ones, only when there were any: most sources have none, and a
	// burst then spends no DescribeTrafficMirrorSessions on it.
	SourceSessions int `json:"sourceSessions,omitempty"`
	// DeletedSessions are the interface's stale mirrorflow sessions
	// CreateSession deleted before it created the new one (in a dry run,
	// those it would delete).
	DeletedSessions []string `json:"deletedSessions,omitempty"`
	// TargetID is the existing or chosen sensor; SessionID the existing or created session.
	TargetID  string `json:"targetId,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
	// Candidates are the sensors still in the running: after
	// PickLeastLoaded, every sensor that passed the filters, so that a
	// re-pick can choose again among them.
	Candidates []placement.Sensor `json:"candidates"`
	// FullSensors are the sensors CreateSession found full in this
	// execution (EC2 refused another source); PickLeastLoaded never picks
	// them again.
	FullSensors []string `json:"fullSensors,omitempty"`
	// RePicks counts the passes back to PickLeastLoaded after a full
	// sensor; MaxRePicks bounds them.
	RePicks int `json:"rePicks,omitempty"`
	// SensorFull is where the state machine's Catch puts CreateSession's
	// SensorFull error before routing back to PickLeastLoaded, which clears it.
	SensorFull *CaughtError `json:"sensorFull,omitempty"`
	Steps      []StepReport `json:"steps"`
}

// CaughtError is an error as a Step Functions Catch records it at its
// ResultPath: the error name and its cause (for a Lambda error, the JSON
// document aws-lambda-go returned).
type CaughtError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// MaxRePicks bounds the loop from CreateSession back to PickLeastLoaded.
// Each pass leaves out one more sensor that EC2 found full, so the loop ends
// by itself once no candidate has room; the bound keeps a placement among
// thousands of candidates from looping through all of them while a burst
// fills them. A pass costs about a dozen history events and one short step
// report, so 25 passes stay far inside Step Functions' 25,000 events and
// 256 KiB payload.
const MaxRePicks = 25

// StepReport is one step's section of the payload: what it kept, what it
// rejected and why.
type StepReport struct {
	Step     string                `json:"step"`
	Kept     []string              `json:"kept,omitempty"`
	Rejected []placement.Rejection `json:"rejected,omitempty"`
	// Note is the step's own summary ("2 of 4 sensors in us-east-1a; 2 kept as cross-zone fallback").
	Note string `json:"note,omitempty"`
}

// Triggers.
const (
	// TriggerEventBridge: EC2's state-change event, an instance now running.
	TriggerEventBridge = "eventbridge"
	// TriggerCloudTrail: CloudTrail's record of an interface attached to an
	// instance (deployed only with Interfaces "all").
	TriggerCloudTrail = "cloudtrail"
	// TriggerGuardDuty: a GuardDuty finding about the instance; the
	// placement decides its interfaces under GuardDuty.Rule.
	TriggerGuardDuty = "guardduty"
	TriggerManual    = "manual"
)

// DeadLetter is the message the state machine's dead-letter path sends to
// SQS for every placement that could not be made. The state machine builds
// it from the context object and the caught error, so it exists even when
// the first step failed before the payload had an instance id.
type DeadLetter struct {
	// Step is the state that failed.
	Step string `json:"step"`
	// InstanceID is empty when the first step rejected the input.
	InstanceID string `json:"instanceId,omitempty"`
	// NetworkInterfaceID is the source interface whose placement failed;
	// empty when the instance failed as a whole (at CheckExistingSession).
	NetworkInterfaceID string `json:"networkInterfaceId,omitempty"`
	ExecutionID        string `json:"executionId"`
	// Input is the execution's input, so the placement can be started again as it was.
	Input json.RawMessage `json:"input"`
	// Error is the error name (the Lambda's errorType, or a States.* name).
	Error string `json:"error"`
	// Cause is the error's cause as Step Functions recorded it: for a Lambda
	// error, a JSON document with errorMessage and errorType.
	Cause string `json:"cause"`
	// StartTime is when the failed execution started.
	StartTime string `json:"startTime,omitempty"`
}
