package stack

import (
	"fmt"
	"strings"

	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/mirrorflow/mirrorflow/shared/steps"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// suppressions records, on the resources concerned, the cdk-nag
// AwsSolutions findings this stack accepts and why. Each is narrowed with
// appliesTo to the one finding it answers, so a new wildcard still fails
// the nag test.
func (s *Stack) suppressions() {
	for _, step := range workflow.Functions() {
		s.suppressStepRole(step)
	}

	stateMachineRole := []*cdknag.NagPackSuppression{
		{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("CDK's LambdaInvoke grants lambda:InvokeFunction on each step function's ARN and its " +
				"qualified ARNs (<arn>:*, versions and aliases); the wildcard is only the qualifier of our own functions."),
			AppliesTo: &[]interface{}{map[string]interface{}{"regex": `/^Resource::<\w+Function[0-9A-F]{8}\.Arn>:\*$/`}},
		},
		{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Resource * is required by the actions granted on it: X-Ray PutTraceSegments, " +
				"PutTelemetryRecords and GetSampling* (tracing is on) and the CloudWatch Logs log-delivery actions " +
				"(logs:CreateLogDelivery and kin, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) that " +
				"execution logging needs support no resource-level permissions."),
			AppliesTo: &[]interface{}{"Resource::*"},
		},
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.StateMachine.Role(), &stateMachineRole, jsii.Bool(true))
	reconcileRole := append(stateMachineRole, &cdknag.NagPackSuppression{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("startExecution.sync:2 waits for each placement it starts: CDK grants DescribeExecution and " +
			"StopExecution on the executions of the placement state machine (execution:<its name>*), whose names are " +
			"made at run time; the wildcard covers that one state machine's executions only."),
		AppliesTo: &[]interface{}{map[string]interface{}{"regex": `/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*PlacementStateMachine.*\*$/`}},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.Reconcile.Role(), &reconcileRole, jsii.Bool(true))
	if s.backfill != nil {
		// AwsCustomResource's provider is a singleton at the stack's root,
		// under the id CDK fixes for it, not under the Backfill construct.
		provider := "/" + *s.Stack.Node().Path() + "/AWS679f53fac002430cb0da5b7982bd2287/ServiceRole/Resource"
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(s.Stack, jsii.String(provider), &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM4"),
			Reason: jsii.String("The backfill is CDK's AwsCustomResource, whose provider function CDK builds with the " +
				"AWSLambdaBasicExecutionRole managed policy (its own logs only); the one call it makes, " +
				"states:StartExecution, is granted on the Reconcile state machine alone."),
			AppliesTo: &[]interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
		}}, jsii.Bool(true))
	}

	cdknag.NagSuppressions_AddResourceSuppressions(s.DeadLetterQueue, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter destination of the placement state machine and of " +
			"the EventBridge rule's target: a person reads it with mirrorctl failures and retry --from-dlq, which " +
			"deletes what was retried, so no consumer fails on its messages and a second-level dead-letter queue " +
			"would receive nothing."),
	}}, jsii.Bool(true))
}

// suppressStepRole answers the IAM5 findings on step's role: Resource "*"
// for the actions that allow nothing narrower, and the wildcards
// CreateSession's scoping cannot avoid, each narrowed by a condition.
func (s *Stack) suppressStepRole(step workflow.Step) {
	var unscoped, unscopedELBv2 []string
	for _, a := range step.EC2Actions {
		if unscopedActions[a] {
			unscoped = append(unscoped, "ec2:"+a)
		}
	}
	for _, a := range step.ELBv2Actions {
		if unscopedELBv2Actions[a] {
			unscopedELBv2 = append(unscopedELBv2, "elasticloadbalancing:"+a)
		}
	}
	why := "X-Ray PutTraceSegments and PutTelemetryRecords (active tracing) support no resource-level permissions, so IAM requires Resource *"
	if len(unscopedELBv2) > 0 {
		why = fmt.Sprintf("%s, which the Service Authorization Reference for Elastic Load Balancing V2 lists with no resource type, and %s",
			strings.Join(unscopedELBv2, ", "), why)
	}
	if len(unscoped) > 0 {
		sep := ", and "
		if len(unscopedELBv2) > 0 {
			sep = "; "
		}
		why = fmt.Sprintf("%s, which the Service Authorization Reference for Amazon EC2 lists with no resource type%s%s",
			strings.Join(unscoped, ", "), sep, why)
	}
	sup := []*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String(step.Name + " calls " + why + "."),
		AppliesTo: &[]interface{}{"Resource::*"},
	}}
	if step.Name == workflow.StepDeleteStaleSessions {
		sup = append(sup, &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("The stale sessions the Reconcile deletes are known only at run time; " +
				"DeleteTrafficMirrorSession is allowed only on sessions tagged " + steps.TagManagedBy + "=" +
				steps.ManagedByValue + " (aws:ResourceTag), mirrorflow's own."),
			AppliesTo: &[]interface{}{"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:traffic-mirror-session/*"},
		})
	}
	if step.Name == workflow.StepCreateSession {
		arn := func(resource string) string {
			return "Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:" + resource + "/*"
		}
		sup = append(sup,
			&cdknag.NagPackSuppression{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("A session's id exists only once it is created, so CreateTrafficMirrorSession and " +
					"CreateTags name traffic-mirror-session/*; the first requires the request to tag it " +
					steps.TagManagedBy + "=" + steps.ManagedByValue + " (aws:RequestTag) and the second is allowed only " +
					"within that create call (ec2:CreateAction = CreateTrafficMirrorSession). The stale sessions " +
					"DeleteTrafficMirrorSession removes are known only at run time; it is allowed only on sessions " +
					"that carry that tag (aws:ResourceTag), mirrorflow's own."),
				AppliesTo: &[]interface{}{arn("traffic-mirror-session")},
			},
			&cdknag.NagPackSuppression{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("The source of a session is an interface of whichever instance just " +
					"started running, known only at run time; the grant is limited to this account and Region and " +
					"to CreateTrafficMirrorSession, which only copies the interface's traffic to an allowed target."),
				AppliesTo: &[]interface{}{arn("network-interface")},
			},
		)
		if tags := sensorTags(s.props.Config.Scopes()); len(tags) > 0 {
			var names []string
			for _, t := range tags {
				for _, v := range t.values {
					names = append(names, t.key+"="+v)
				}
			}
			sup = append(sup, &cdknag.NagPackSuppression{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("Where the configuration lists no TargetIds (at the top level or in a rule), the " +
					"candidate sensors are the targets tagged " + strings.Join(names, " or ") + ", which the " +
					"statements require with aws:ResourceTag; their ids are not known at deploy time."),
				AppliesTo: &[]interface{}{arn("traffic-mirror-target")},
			})
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.Roles[step.Name], &sup, jsii.Bool(true))
}
