package stack

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// FunctionTimeout bounds one step's invocation. A step makes a handful of
// paginated EC2 calls, each with the SDK's own retries; a minute leaves room
// for those and ends a hung call well before the state machine gives up.
const FunctionTimeout = 60

// FunctionMemoryMB buys the CPU share that keeps a Go step's cold start short.
const FunctionMemoryMB = 256

// functions builds one Lambda per workflow step, each with its own role and
// log group, so each step's permissions and logs are its own.
func (s *Stack) functions() {
	for _, step := range workflow.Functions() {
		logs := s.logGroup(step.Name+"Logs", "")
		role := awsiam.NewRole(s.Stack, jsii.String(step.Name+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("Runs mirrorflow's " + step.Name + " step: its AWS API calls and its logs, nothing else."),
		})

		env := map[string]*string{}
		for k, v := range environment(s.props.Config, step) {
			env[k] = jsii.String(v)
		}
		fn := awslambda.NewFunction(s.Stack, jsii.String(step.Name+"Function"), &awslambda.FunctionProps{
			Description:  jsii.String(step.Doc),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String(BootstrapFile),
			Code:         awslambda.Code_FromAsset(jsii.String(s.assetDir(step)), nil),
			Environment:  &env,
			Timeout:      awscdk.Duration_Seconds(jsii.Number(FunctionTimeout)),
			MemorySize:   jsii.Number(FunctionMemoryMB),
			// A burst never takes more than this of the account's concurrency,
			// and the step never calls EC2 from more environments at once.
			ReservedConcurrentExecutions: jsii.Number(s.props.ReservedConcurrency),
			Tracing:                      awslambda.Tracing_ACTIVE,
			LogGroup:                     logs,
			Role:                         role,
		})

		s.LogGroups[step.Name] = logs
		s.Roles[step.Name] = role
		s.Functions[step.Name] = fn
	}
}

// MaxEnvironmentBytes is what Lambda allows a function's environment
// variables in all: 4 KB ("Lambda quotas"), measured over the variables as
// one JSON object, as the error Lambda returns past it shows ("exceeded the
// 4KB limit. String measured: {...}").
const MaxEnvironmentBytes = 4096

// environment is the variables of step's function: which step it is, and
// the configuration.
func environment(cfg config.Config, step workflow.Step) map[string]string {
	env := cfg.Env()
	env[workflow.StepEnvVar] = step.Name
	return env
}

// checkEnvironment stops the synth when the configuration would not fit in
// a function's environment, which CloudFormation would otherwise report
// only at deploy, function by function, with the stack rolling back.
func checkEnvironment(cfg config.Config) error {
	for _, step := range workflow.Functions() {
		// Marshal cannot fail on a map of strings.
		b, _ := json.Marshal(environment(cfg, step))
		if len(b) > MaxEnvironmentBytes {
			return fmt.Errorf("checking the Lambda environment: the configuration does not fit: %s's environment variables "+
				"measure %d bytes as JSON, over the 4 KB (%d bytes) Lambda allows a function; %s holds the whole "+
				"configuration, so shorten it (fewer or shorter rules, a SensorTag instead of long TargetIds lists)",
				step.Name, len(b), MaxEnvironmentBytes, config.EnvConfig)
		}
	}
	return nil
}
