// Package template reads a CloudFormation template synthesized by the
// mirrorflow stack, without the CDK: it finds the state machine, resolves the
// intrinsic functions in its definition into plain ASL JSON, and lists the
// step functions with their environment and asset.
//
// It exists so that tests and the offline runner can validate and execute
// exactly the workflow that would be deployed. Resolution stands in for
// CloudFormation with a fixed Env: a Lambda's ARN is built from its logical
// id, and a queue's URL likewise, so a runner can map them back.
package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// CloudFormation resource types this package looks for.
const (
	TypeStateMachine = "AWS::StepFunctions::StateMachine"
	TypeFunction     = "AWS::Lambda::Function"
	TypeQueue        = "AWS::SQS::Queue"
)

// lambdaDefaultTimeout is what Lambda gives a function with no Timeout.
const lambdaDefaultTimeout = 3 * time.Second

// assetPathKey is the metadata key cdk synth writes on a resource built from
// an asset: the asset's directory, relative to the cloud assembly (cdk.out).
const assetPathKey = "aws:asset:path"

// Template is the part of a CloudFormation template this package reads.
type Template struct {
	Resources map[string]Resource `json:"Resources"`
	Outputs   map[string]Output   `json:"Outputs,omitempty"`
}

// Resource is one entry of Resources.
type Resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties,omitempty"`
	Metadata   map[string]any `json:"Metadata,omitempty"`
}

// Output is one entry of Outputs; Value is left unresolved.
type Output struct {
	Value       any    `json:"Value"`
	Description string `json:"Description,omitempty"`
}

// Env stands in for the pseudo parameters CloudFormation would supply.
type Env struct {
	Partition string
	Region    string
	AccountID string
	URLSuffix string
	StackName string
}

// DefaultEnv is the environment tests and the offline runner resolve in.
var DefaultEnv = Env{
	Partition: "aws",
	Region:    "us-east-1",
	AccountID: "123456789012",
	URLSuffix: "amazonaws.com",
	StackName: "Mirrorflow",
}

// Parse decodes a template's JSON.
func Parse(data []byte) (*Template, error) {
	var t Template
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("decoding CloudFormation template: %w", err)
	}
	if len(t.Resources) == 0 {
		return nil, errors.New("decoding CloudFormation template: no Resources")
	}
	return &t, nil
}

// ReadFile reads and decodes the template at path, such as
// cdk.out/Mirrorflow.template.json.
func ReadFile(path string) (*Template, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: path is the project's synthesized template (cdk.out), named by the operator's --template.
	if err != nil {
		return nil, fmt.Errorf("reading CloudFormation template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return t, nil
}

// LogicalIDs lists the logical ids of the resources of type typ, sorted.
func (t *Template) LogicalIDs(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Outputs naming the stack's state machines.
const (
	OutputPlacement = "StateMachineArn"
	OutputReconcile = "ReconcileStateMachineArn"
)

// StateMachine returns the logical id of the placement state machine: the
// template's only one, or, when it has several, the one its
// StateMachineArn output refers to.
func (t *Template) StateMachine() (string, error) {
	ids := t.LogicalIDs(TypeStateMachine)
	if len(ids) == 1 {
		return ids[0], nil
	}
	id, err := t.StateMachineOf(OutputPlacement)
	if err != nil {
		return "", fmt.Errorf("finding the placement state machine: want exactly one %s, found %d, or a %s output naming one: %w",
			TypeStateMachine, len(ids), OutputPlacement, err)
	}
	return id, nil
}

// StateMachineOf returns the logical id of the state machine the output
// named key refers to ({"Ref": id}).
func (t *Template) StateMachineOf(key string) (string, error) {
	o, ok := t.Outputs[key]
	if !ok {
		return "", fmt.Errorf("finding the state machine of output %s: the template has no such output", key)
	}
	ref, _ := dig(o.Value, "Ref").(string)
	if r, ok := t.Resources[ref]; !ok || r.Type != TypeStateMachine {
		return "", fmt.Errorf("finding the state machine of output %s: it does not refer to a %s (%v)", key, TypeStateMachine, o.Value)
	}
	return ref, nil
}

// StateMachineARN is the ARN a resolved template gives its placement
// state machine, the one Ref and Fn::GetAtt resolve to (and the stack's
// StateMachineArn output with it).
func (t *Template) StateMachineARN(env Env) (string, error) {
	id, err := t.StateMachine()
	if err != nil {
		return "", err
	}
	return stateMachineARN(env, id), nil
}

// ARNOf is the ARN a resolved template gives the state machine id.
func ARNOf(env Env, id string) string { return stateMachineARN(env, id) }

// Definition returns the placement state machine's definition as ASL
// JSON, every intrinsic function resolved in env and
// DefinitionSubstitutions applied.
func (t *Template) Definition(env Env) (json.RawMessage, error) {
	id, err := t.StateMachine()
	if err != nil {
		return nil, err
	}
	return t.DefinitionOf(env, id)
}

// DefinitionOf returns the definition of the state machine id, resolved as
// Definition resolves it.
func (t *Template) DefinitionOf(env Env, id string) (json.RawMessage, error) {
	r, ok := t.Resources[id]
	if !ok || r.Type != TypeStateMachine {
		return nil, fmt.Errorf("reading %s: the template has no such %s", id, TypeStateMachine)
	}
	props := t.Resources[id].Properties
	var def string
	switch {
	case props["DefinitionString"] != nil:
		v, err := t.Resolve(props["DefinitionString"], env)
		if err != nil {
			return nil, fmt.Errorf("resolving %s DefinitionString: %w", id, err)
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("resolving %s DefinitionString: resolved to %T, not a string", id, v)
		}
		def = s
	case props["Definition"] != nil:
		v, err := t.Resolve(props["Definition"], env)
		if err != nil {
			return nil, fmt.Errorf("resolving %s Definition: %w", id, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encoding %s Definition: %w", id, err)
		}
		def = string(b)
	default:
		return nil, fmt.Errorf("reading %s: no DefinitionString or Definition (an S3 definition cannot be read offline)", id)
	}
	if subs, ok := props["DefinitionSubstitutions"].(map[string]any); ok {
		for k, raw := range subs {
			v, err := t.Resolve(raw, env)
			if err != nil {
				return nil, fmt.Errorf("resolving %s DefinitionSubstitutions[%s]: %w", id, k, err)
			}
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("resolving %s DefinitionSubstitutions[%s]: resolved to %T, not a string", id, k, v)
			}
			def = strings.ReplaceAll(def, "${"+k+"}", s)
		}
	}
	if !json.Valid([]byte(def)) {
		return nil, fmt.Errorf("resolving %s definition: result is not valid JSON", id)
	}
	return json.RawMessage(def), nil
}

// Function is a Lambda function of the template, as a runner needs it.
type Function struct {
	LogicalID string
	// ARN is the ARN a resolved definition uses for the function.
	ARN string
	// Step is the function's MIRRORFLOW_STEP; empty for a function that is
	// not a workflow step (a CDK custom resource, say).
	Step string
	// Environment holds every environment variable, MIRRORFLOW_STEP included.
	Environment   map[string]string
	Handler       string
	Runtime       string
	Architectures []string
	// Timeout is the function's Timeout, or Lambda's default of 3 seconds
	// when the template sets none.
	Timeout time.Duration
	// ReservedConcurrency is the function's ReservedConcurrentExecutions: the
	// most instances of it Lambda runs at once, beyond which it throttles.
	// It is 0 when the template reserves none (a reservation of 0, which
	// stops a deployed function, reads the same: the stack never sets one).
	ReservedConcurrency int
	// AssetPath is the code's directory relative to the cloud assembly
	// directory; empty when synth wrote no asset metadata.
	AssetPath string
}

// Functions lists the template's Lambda functions, sorted by logical id.
func (t *Template) Functions(env Env) ([]Function, error) {
	var fns []Function
	for _, id := range t.LogicalIDs(TypeFunction) {
		r := t.Resources[id]
		fn := Function{LogicalID: id, ARN: FunctionARN(env, id), Environment: map[string]string{}}
		if vars, ok := dig(r.Properties, "Environment", "Variables").(map[string]any); ok {
			for k, raw := range vars {
				v, err := t.Resolve(raw, env)
				if err != nil {
					return nil, fmt.Errorf("resolving %s environment variable %s: %w", id, k, err)
				}
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("resolving %s environment variable %s: resolved to %T, not a string", id, k, v)
				}
				fn.Environment[k] = s
			}
		}
		fn.Step = fn.Environment[workflow.StepEnvVar]
		fn.Handler, _ = r.Properties["Handler"].(string)
		fn.Runtime, _ = r.Properties["Runtime"].(string)
		fn.Timeout = lambdaDefaultTimeout
		if secs, ok := r.Properties["Timeout"].(float64); ok && secs > 0 {
			fn.Timeout = time.Duration(secs * float64(time.Second))
		}
		if raw, ok := r.Properties["ReservedConcurrentExecutions"]; ok {
			n, err := t.integer(raw, env)
			if err != nil {
				return nil, fmt.Errorf("reading %s ReservedConcurrentExecutions: %w", id, err)
			}
			fn.ReservedConcurrency = n
		}
		if archs, ok := r.Properties["Architectures"].([]any); ok {
			for _, a := range archs {
				if s, ok := a.(string); ok {
					fn.Architectures = append(fn.Architectures, s)
				}
			}
		}
		fn.AssetPath, _ = r.Metadata[assetPathKey].(string)
		fns = append(fns, fn)
	}
	return fns, nil
}

// StepFunctions maps each workflow step to its function, by MIRRORFLOW_STEP.
// Two functions claiming one step is an error: a runner could not tell which
// one the definition meant.
func (t *Template) StepFunctions(env Env) (map[string]Function, error) {
	fns, err := t.Functions(env)
	if err != nil {
		return nil, err
	}
	steps := map[string]Function{}
	for _, fn := range fns {
		if fn.Step == "" {
			continue
		}
		if prev, ok := steps[fn.Step]; ok {
			return nil, fmt.Errorf("mapping functions to steps: %s and %s both run step %s", prev.LogicalID, fn.LogicalID, fn.Step)
		}
		steps[fn.Step] = fn
	}
	return steps, nil
}

// FunctionARN is the ARN a resolved template gives the Lambda function with logicalID.
func FunctionARN(env Env, logicalID string) string {
	return fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", env.Partition, env.Region, env.AccountID, logicalID)
}

// QueueURL is the URL a resolved template gives the SQS queue with logicalID.
func QueueURL(env Env, logicalID string) string {
	return fmt.Sprintf("https://sqs.%s.%s/%s/%s", env.Region, env.URLSuffix, env.AccountID, logicalID)
}

// QueueARN is the ARN a resolved template gives the SQS queue with logicalID.
func QueueARN(env Env, logicalID string) string {
	return fmt.Sprintf("arn:%s:sqs:%s:%s:%s", env.Partition, env.Region, env.AccountID, logicalID)
}

// Resolve evaluates the intrinsic functions in v (a value decoded from the
// template's JSON) as CloudFormation would in env: Ref, Fn::GetAtt, Fn::Join
// and Fn::Sub. An intrinsic it cannot evaluate is an error rather than
// something left in place, so a resolved definition never carries a token.
func (t *Template) Resolve(v any, env Env) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				switch k {
				case "Ref":
					return t.ref(arg, env)
				case "Fn::GetAtt":
					return t.getAtt(arg, env)
				case "Fn::Join":
					return t.join(arg, env)
				case "Fn::Sub":
					return t.sub(arg, env)
				}
				if strings.HasPrefix(k, "Fn::") {
					return nil, fmt.Errorf("intrinsic function %s is not supported", k)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := t.Resolve(e, env)
			if err != nil {
				return nil, fmt.Errorf("resolving %s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := t.Resolve(e, env)
			if err != nil {
				return nil, fmt.Errorf("resolving item %d: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

func (t *Template) ref(arg any, env Env) (any, error) {
	name, ok := arg.(string)
	if !ok {
		return nil, fmt.Errorf("resolving Ref: it takes a name, not %T", arg)
	}
	switch name {
	case "AWS::Partition":
		return env.Partition, nil
	case "AWS::Region":
		return env.Region, nil
	case "AWS::AccountId":
		return env.AccountID, nil
	case "AWS::URLSuffix":
		return env.URLSuffix, nil
	case "AWS::StackName":
		return env.StackName, nil
	}
	r, ok := t.Resources[name]
	if !ok {
		return nil, fmt.Errorf("resolving Ref %s: no such resource (parameters are not supported)", name)
	}
	switch r.Type {
	case TypeQueue:
		return QueueURL(env, name), nil
	case TypeStateMachine:
		return stateMachineARN(env, name), nil
	default:
		// Lambda functions, log groups, roles and most others: the physical name.
		return name, nil
	}
}

func (t *Template) getAtt(arg any, env Env) (any, error) {
	var id, attr string
	switch a := arg.(type) {
	case []any:
		if len(a) == 2 {
			id, _ = a[0].(string)
			attr, _ = a[1].(string)
		}
	case string:
		id, attr, _ = strings.Cut(a, ".")
	}
	if id == "" || attr == "" {
		return nil, fmt.Errorf("Fn::GetAtt takes [LogicalId, Attribute], not %v", arg)
	}
	r, ok := t.Resources[id]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", id, attr)
	}
	switch r.Type + "." + attr {
	case TypeFunction + ".Arn":
		return FunctionARN(env, id), nil
	case TypeQueue + ".Arn":
		return QueueARN(env, id), nil
	case TypeQueue + ".QueueUrl":
		return QueueURL(env, id), nil
	case TypeQueue + ".QueueName":
		return id, nil
	case TypeStateMachine + ".Arn":
		return stateMachineARN(env, id), nil
	case "AWS::Logs::LogGroup.Arn":
		return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", env.Partition, env.Region, env.AccountID, id), nil
	case "AWS::IAM::Role.Arn":
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", env.Partition, env.AccountID, id), nil
	}
	return nil, fmt.Errorf("Fn::GetAtt %s.%s: attribute of %s not supported", id, attr, r.Type)
}

func (t *Template) join(arg any, env Env) (any, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("Fn::Join takes [separator, [values]], not %v", arg)
	}
	sep, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("Fn::Join separator is %T, not a string", a[0])
	}
	list, err := t.Resolve(a[1], env)
	if err != nil {
		return nil, fmt.Errorf("resolving Fn::Join values: %w", err)
	}
	items, ok := list.([]any)
	if !ok {
		return nil, fmt.Errorf("Fn::Join values are %T, not a list", list)
	}
	parts := make([]string, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Join value %d is %T, not a string", i, item)
		}
		parts[i] = s
	}
	return strings.Join(parts, sep), nil
}

// sub evaluates Fn::Sub's string form and its [string, variables] form.
func (t *Template) sub(arg any, env Env) (any, error) {
	var text string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub takes a string or [string, variables], not %v", arg)
		}
		text, _ = a[0].(string)
		m, ok := a[1].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub variables are %T, not an object", a[1])
		}
		vars = m
	default:
		return nil, fmt.Errorf("Fn::Sub takes a string or [string, variables], not %T", arg)
	}
	var b strings.Builder
	for {
		start := strings.Index(text, "${")
		if start < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		end := strings.Index(text[start:], "}")
		if end < 0 {
			return nil, fmt.Errorf("Fn::Sub: unterminated ${ in %q", text)
		}
		b.WriteString(text[:start])
		name := text[start+2 : start+end]
		text = text[start+end+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var v any
		var err error
		if raw, ok := vars[name]; ok {
			v, err = t.Resolve(raw, env)
		} else if id, attr, ok := strings.Cut(name, "."); ok {
			v, err = t.getAtt([]any{id, attr}, env)
		} else {
			v, err = t.ref(name, env)
		}
		if err != nil {
			return nil, fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub ${%s} resolved to %T, not a string", name, v)
		}
		b.WriteString(s)
	}
}

// integer resolves v to a whole number of at least 0 as CloudFormation reads
// an Integer property: a JSON number, or a string of digits.
func (t *Template) integer(v any, env Env) (int, error) {
	r, err := t.Resolve(v, env)
	if err != nil {
		return 0, fmt.Errorf("resolving the value: %w", err)
	}
	switch x := r.(type) {
	case float64:
		if x < 0 || x > math.MaxInt32 || x != math.Trunc(x) {
			return 0, fmt.Errorf("%v is not a whole number of at least 0", x)
		}
		return int(x), nil
	case string:
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 || n > math.MaxInt32 {
			return 0, fmt.Errorf("%q is not a whole number of at least 0", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("the value is %T, not a number", r)
}

func stateMachineARN(env Env, logicalID string) string {
	return fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", env.Partition, env.Region, env.AccountID, logicalID)
}

// dig walks nested objects by key, returning nil where one is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
