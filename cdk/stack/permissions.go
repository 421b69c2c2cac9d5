package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// unscopedActions are the EC2 actions of workflow.Steps that support no
// resource-level permissions, per the Service Authorization Reference for
// Amazon EC2 ("Actions defined by Amazon EC2": no resource type listed), so
// IAM requires Resource "*" for them.
var unscopedActions = map[string]bool{
	"DescribeInstances":             true,
	"DescribeTrafficMirrorSessions": true,
	"DescribeTrafficMirrorTargets":  true,
	"DescribeNetworkInterfaces":     true,
	"DescribeSecurityGroups":        true,
	"DescribeNetworkAcls":           true,
	// GetManagedPrefixListEntries reads the entries of prefix lists that
	// security group rules reference, AWS-managed ones (owned by the "aws"
	// account) included, so a scoped ARN would not narrow it in practice.
	"GetManagedPrefixListEntries": true,
}

// permissions grants each step's role exactly its workflow.Step.EC2Actions,
// each as tightly as IAM allows, plus writing to its own log group (granted
// explicitly rather than through AWSLambdaBasicExecutionRole, which would
// let it write to every log group). X-Ray tracing adds its own statement.
func (s *Stack) permissions() {
	for _, step := range workflow.Steps {
		role := s.Roles[step.Name]
		s.LogGroups[step.Name].GrantWrite(role)
		for _, st := range s.ec2Statements(step) {
			role.AddToPolicy(st)
		}
	}
}

// ec2Statements are step's EC2 statements. An action with no rule here and
// no entry in unscopedActions panics at synth: a new action needs a decision
// about its scope, not a silent "*".
func (s *Stack) ec2Statements(step workflow.Step) []awsiam.PolicyStatement {
	var unscoped []*string
	var sts []awsiam.PolicyStatement
	for _, action := range step.EC2Actions {
		switch {
		case unscopedActions[action]:
			unscoped = append(unscoped, jsii.String("ec2:"+action))
		case action == "CreateTrafficMirrorSession":
			sts = append(sts, s.createSessionStatements()...)
		case action == "CreateTags":
			sts = append(sts, s.tagOnCreateStatement())
		default:
			panic(fmt.Sprintf("stack: step %s calls ec2:%s, which has no IAM scope decided in permissions.go", step.Name, action))
		}
	}
	if len(unscoped) > 0 {
		sts = append([]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadEC2"),
			Actions:   &unscoped,
			Resources: jsii.Strings("*"),
		})}, sts...)
	}
	return sts
}

// createSessionStatements scope ec2:CreateTrafficMirrorSession. EC2
// authorizes the action against every resource the request names: the
// session being created, the source network interface, the target and the
// filter (Service Authorization Reference for Amazon EC2; VPC Traffic
// Mirroring guide, "Identity and access management for Traffic Mirroring").
// A condition in a statement applies to all its resources, so each resource
// type has its own statement.
func (s *Stack) createSessionStatements() []awsiam.PolicyStatement {
	cfg := s.props.Config
	action := jsii.Strings("ec2:CreateTrafficMirrorSession")

	sts := []awsiam.PolicyStatement{
		// The new session, only if the request tags it as mirrorflow's, as
		// CreateSession always does: the role cannot make sessions that pass
		// for someone else's.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("CreateTaggedSession"),
			Actions:   action,
			Resources: &[]*string{s.ec2ARN("traffic-mirror-session", "*")},
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:RequestTag/" + steps.TagManagedBy: steps.ManagedByValue},
			},
		}),
		// The configured filter, exactly.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("UseConfiguredFilter"),
			Actions:   action,
			Resources: &[]*string{s.ec2ARN("traffic-mirror-filter", cfg.FilterID)},
		}),
		// Any interface of this account and Region as the source: any running
		// instance may need mirroring, and which one is only known at run time.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("MirrorAnySourceInterface"),
			Actions:   action,
			Resources: &[]*string{s.ec2ARN("network-interface", "*")},
		}),
	}

	// The candidate targets: the configured ids, or those carrying the sensor
	// tag, matching how placement.IsCandidate chooses them.
	if len(cfg.TargetIDs) > 0 {
		targets := make([]*string, len(cfg.TargetIDs))
		for i, id := range cfg.TargetIDs {
			targets[i] = s.ec2ARN("traffic-mirror-target", id)
		}
		sts = append(sts, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("UseConfiguredTargets"),
			Actions:   action,
			Resources: &targets,
		}))
	} else {
		sts = append(sts, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("UseSensorTaggedTargets"),
			Actions:   action,
			Resources: &[]*string{s.ec2ARN("traffic-mirror-target", "*")},
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:ResourceTag/" + cfg.SensorTag.Key: cfg.SensorTag.Value},
			},
		}))
	}
	return sts
}

// tagOnCreateStatement lets CreateSession tag a session only as part of
// creating it: EC2 authorizes the TagSpecifications of a create call as
// ec2:CreateTags with ec2:CreateAction set to the creating action (Amazon EC2
// User Guide, "Grant permission to tag Amazon EC2 resources during
// creation"), so the role cannot retag existing resources.
func (s *Stack) tagOnCreateStatement() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("TagSessionOnCreate"),
		Actions:   jsii.Strings("ec2:CreateTags"),
		Resources: &[]*string{s.ec2ARN("traffic-mirror-session", "*")},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"ec2:CreateAction": "CreateTrafficMirrorSession"},
		},
	})
}

// ec2ARN is arn:<partition>:ec2:<region>:<account>:<resource>/<name> in this stack.
func (s *Stack) ec2ARN(resource, name string) *string {
	return s.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ec2"),
		Resource:     jsii.String(resource),
		ResourceName: jsii.String(name),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}
