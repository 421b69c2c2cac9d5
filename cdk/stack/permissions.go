package stack

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// unscopedActions are the EC2 actions of workflow.Steps that support no
// resource-level permissions, so IAM requires Resource "*" for them: the
// Service Authorization Reference for Amazon EC2 ("Actions defined by Amazon
// EC2") lists each with no resource type. DescribeSubnets,
// DescribeVpcEndpoints, DescribeTrafficMirrorSessions and
// DescribeTrafficMirrorTargets were checked again in 2026, against the
// reference's machine-readable copy (github.com/iann0036/iam-dataset,
// aws/iam_definition.json): no resource type, only the ec2:Region
// condition key.
var unscopedActions = map[string]bool{
	"DescribeInstances":             true,
	"DescribeTrafficMirrorSessions": true,
	"DescribeTrafficMirrorTargets":  true,
	"DescribeNetworkInterfaces":     true,
	"DescribeSecurityGroups":        true,
	"DescribeNetworkAcls":           true,
	"DescribeSubnets":               true,
	"DescribeVpcEndpoints":          true,
	// GetManagedPrefixListEntries reads the entries of prefix lists that
	// security group rules reference, AWS-managed ones (owned by the "aws"
	// account) included, so a scoped ARN would not narrow it in practice.
	"GetManagedPrefixListEntries": true,
}

// unscopedELBv2Actions are the Elastic Load Balancing (v2) actions of
// workflow.Steps that support no resource-level permissions: the Service
// Authorization Reference for Elastic Load Balancing V2 (same copy as
// above) lists DescribeLoadBalancers and DescribeListeners with no resource
// type and no condition key, so IAM requires Resource "*" for them.
var unscopedELBv2Actions = map[string]bool{
	"DescribeLoadBalancers": true,
	"DescribeListeners":     true,
}

// permissions grants each step's role exactly its workflow.Step.EC2Actions
// and ELBv2Actions, each as tightly as IAM allows, plus writing to its own
// log group (granted explicitly rather than through
// AWSLambdaBasicExecutionRole, which would let it write to every log group).
// X-Ray tracing adds its own statement.
func (s *Stack) permissions() {
	for _, step := range workflow.Functions() {
		role := s.Roles[step.Name]
		s.LogGroups[step.Name].GrantWrite(role)
		for _, st := range s.ec2Statements(step) {
			role.AddToPolicy(st)
		}
		if st := elbv2Statement(step); st != nil {
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
		case action == "DeleteTrafficMirrorSession":
			sts = append(sts, s.deleteOwnSessionStatement())
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

// elbv2Statement is step's Elastic Load Balancing statement, nil when it
// calls none. As for EC2, an action with no decided scope panics at synth.
func elbv2Statement(step workflow.Step) awsiam.PolicyStatement {
	if len(step.ELBv2Actions) == 0 {
		return nil
	}
	actions := make([]*string, len(step.ELBv2Actions))
	for i, action := range step.ELBv2Actions {
		if !unscopedELBv2Actions[action] {
			panic(fmt.Sprintf("stack: step %s calls elasticloadbalancing:%s, which has no IAM scope decided in permissions.go", step.Name, action))
		}
		actions[i] = jsii.String("elasticloadbalancing:" + action)
	}
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadELBv2"),
		Actions:   &actions,
		Resources: jsii.Strings("*"),
	})
}

// createSessionStatements scope ec2:CreateTrafficMirrorSession. EC2
// authorizes the action against every resource the request names: the
// session being created, the source network interface, the target and the
// filter (Service Authorization Reference for Amazon EC2; VPC Traffic
// Mirroring guide, "Identity and access management for Traffic Mirroring").
// A condition in a statement applies to all its resources, so each resource
// type has its own statement. The filters and targets are those of every
// scope the configuration's rules can give (config.Config.Scopes), and no
// others: a rule's own filter and candidates are allowed, and the top-level
// ones only while some rule still uses them.
func (s *Stack) createSessionStatements() []awsiam.PolicyStatement {
	scopes := s.props.Config.Scopes()
	action := jsii.Strings("ec2:CreateTrafficMirrorSession")

	var filters []*string
	for _, id := range distinct(scopes, func(sc config.Scope) []string { return []string{sc.FilterID} }) {
		filters = append(filters, s.ec2ARN("traffic-mirror-filter", id))
	}
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
		// The configured filters, exactly.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("UseConfiguredFilters"),
			Actions:   action,
			Resources: &filters,
		}),
		// Any interface of this account and Region as the source: any running
		// instance may need mirroring, and which one is only known at run time.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("MirrorAnySourceInterface"),
			Actions:   action,
			Resources: &[]*string{s.ec2ARN("network-interface", "*")},
		}),
	}

	// The candidate targets, as config.Scope.Candidate chooses them: the
	// listed ids of the scopes that list some, and the targets carrying the
	// sensor tag of each scope that lists none.
	var targets []*string
	for _, id := range distinct(scopes, func(sc config.Scope) []string { return sc.TargetIDs }) {
		targets = append(targets, s.ec2ARN("traffic-mirror-target", id))
	}
	if len(targets) > 0 {
		sts = append(sts, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("UseConfiguredTargets"),
			Actions:   action,
			Resources: &targets,
		}))
	}
	for i, tag := range sensorTags(scopes) {
		sid := "UseSensorTaggedTargets"
		if i > 0 {
			sid = fmt.Sprintf("%s%d", sid, i+1)
		}
		// Keys in one condition block are ANDed, values of one key ORed, so
		// each distinct key has a statement of its own.
		sts = append(sts, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String(sid),
			Actions:   action,
			Resources: &[]*string{s.ec2ARN("traffic-mirror-target", "*")},
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:ResourceTag/" + tag.key: stringOrList(tag.values)},
			},
		}))
	}
	return sts
}

// sensorTag is one tag key that marks candidates, with every value a scope
// gives it.
type sensorTag struct {
	key    string
	values []string
}

// sensorTags are the sensor tags of the scopes whose candidates are chosen
// by tag (no TargetIDs), grouped by key, in the order the scopes give them.
func sensorTags(scopes []config.Scope) []sensorTag {
	var tags []sensorTag
	for _, sc := range scopes {
		if len(sc.TargetIDs) > 0 || sc.SensorTag.Key == "" {
			continue
		}
		i := slices.IndexFunc(tags, func(t sensorTag) bool { return t.key == sc.SensorTag.Key })
		if i < 0 {
			tags = append(tags, sensorTag{key: sc.SensorTag.Key})
			i = len(tags) - 1
		}
		if !slices.Contains(tags[i].values, sc.SensorTag.Value) {
			tags[i].values = append(tags[i].values, sc.SensorTag.Value)
		}
	}
	return tags
}

// stringOrList is one value as itself and several as a list, as IAM
// writes a condition's values.
func stringOrList(values []string) interface{} {
	if len(values) == 1 {
		return values[0]
	}
	return values
}

// distinct is every value that of gives for the scopes, once each, in the
// order they first appear.
func distinct(scopes []config.Scope, of func(config.Scope) []string) []string {
	var out []string
	for _, sc := range scopes {
		for _, v := range of(sc) {
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// deleteOwnSessionStatement lets CreateSession delete the interface's stale
// sessions, and only mirrorflow's own: the Service Authorization Reference
// for Amazon EC2 lists DeleteTrafficMirrorSession on traffic-mirror-session*
// with the aws:ResourceTag/${TagKey} condition key, so the session must
// carry the ManagedBy tag CreateSession puts on every session it makes.
// Someone else's session, to the same sensor or not, stays out of reach.
func (s *Stack) deleteOwnSessionStatement() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DeleteOwnSessions"),
		Actions:   jsii.Strings("ec2:DeleteTrafficMirrorSession"),
		Resources: &[]*string{s.ec2ARN("traffic-mirror-session", "*")},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:ResourceTag/" + steps.TagManagedBy: steps.ManagedByValue},
		},
	})
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
