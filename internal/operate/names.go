package operate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Execution name prefixes: the name says who started an execution and for
// which instance, so trace --instance can find it without reading inputs.
const (
	PrefixManual = "manual"
	PrefixRetry  = "retry"
)

// maxNameLength is Step Functions' limit on an execution name.
const maxNameLength = 80

var (
	instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)
	// nameUnsafe matches what an execution name should not hold: Step
	// Functions forbids whitespace, brackets, wildcards and punctuation, and
	// CloudWatch logging accepts only ASCII letters, digits, - and _.
	nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)
)

// ValidInstanceID reports whether id has the shape of an EC2 instance id, so
// a typo is caught before it becomes a failed execution.
func ValidInstanceID(id string) bool { return instanceIDPattern.MatchString(id) }

// ExecutionName names an execution prefix-<instance>-<UTC time to the
// second>, e.g. manual-i-0a1b2c3d4e5f60718-20261122T103000Z.
func ExecutionName(prefix, instanceID string, at time.Time) string {
	name := fmt.Sprintf("%s-%s-%s", prefix, instanceID, at.UTC().Format("20060102T150405Z"))
	name = nameUnsafe.ReplaceAllString(name, "-")
	if len(name) > maxNameLength {
		name = name[:maxNameLength]
	}
	return name
}

// NameIsFor reports whether an execution name was made by ExecutionName for instanceID.
func NameIsFor(name, instanceID string) bool {
	for _, p := range []string{PrefixManual, PrefixRetry} {
		if strings.HasPrefix(name, p+"-"+instanceID+"-") {
			return true
		}
	}
	return false
}

// ManualInput is the execution input that places instanceID, as a person
// would type it in the console.
func ManualInput(instanceID string) string {
	// A struct of one string always marshals.
	b, _ := json.Marshal(workflow.ManualInput{InstanceID: instanceID})
	return string(b)
}

// InstanceFromInput finds the instance an execution input is about: the
// instanceId of a manual input, or the detail's instance-id of an EC2
// Instance State-change Notification. It returns "" when there is none.
func InstanceFromInput(input string) string {
	var in struct {
		InstanceID string `json:"instanceId"`
		Detail     struct {
			InstanceID string `json:"instance-id"`
		} `json:"detail"`
	}
	if json.Unmarshal([]byte(input), &in) != nil {
		return ""
	}
	if in.InstanceID != "" {
		return in.InstanceID
	}
	return in.Detail.InstanceID
}

// ExecutionARN turns an execution name into its ARN under stateMachineARN,
// so a person can paste the name from mirrorctl failures; an ARN is returned
// as is.
func ExecutionARN(stateMachineARN, nameOrARN string) (string, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}
	const marker = ":stateMachine:"
	i := strings.Index(stateMachineARN, marker)
	if i < 0 {
		return "", fmt.Errorf("building an execution ARN from %q: state machine ARN %q has no %q", nameOrARN, stateMachineARN, marker)
	}
	return stateMachineARN[:i] + ":execution:" + stateMachineARN[i+len(marker):] + ":" + nameOrARN, nil
}

// RegionOf returns the Region field of an ARN, or "" if it has none.
func RegionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

// ConsoleURL is the Step Functions console's graph view of an execution.
func ConsoleURL(executionARN string) string {
	region := RegionOf(executionARN)
	return fmt.Sprintf("https://%s.console.aws.amazon.com/states/home?region=%s#/v2/executions/details/%s", region, region, executionARN)
}
