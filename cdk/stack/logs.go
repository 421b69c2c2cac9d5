package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// logGroup is a log group of the stack's: kept for the retention the props
// give (a year by default, as Control Tower's CT.CLOUDWATCH.PR.2 requires)
// and encrypted with the stack's logs key (CT.CLOUDWATCH.PR.3). name may be
// empty for a name CloudFormation makes.
func (s *Stack) logGroup(id, name string) awslogs.LogGroup {
	props := &awslogs.LogGroupProps{
		Retention:     s.props.LogRetention,
		EncryptionKey: s.logsKey(),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	}
	if name != "" {
		props.LogGroupName = jsii.String(name)
	}
	return awslogs.NewLogGroup(s.Stack, jsii.String(id), props)
}

// logsKey is the customer managed key every log group of the stack is
// encrypted with, made on first use. The executions' logs hold their data
// (instance ids, addresses, security group rules), which Control Tower wants
// under a key the account controls. CloudWatch Logs encrypts and decrypts
// with it on the writers' and readers' behalf, so the key policy grants the
// Region's Logs service only, for this account's log groups (the encryption
// context CloudWatch Logs sets); no role of the stack needs kms: actions.
// The key is the only resource these checks add to the stack: one key for
// every group, rotated yearly.
func (s *Stack) logsKey() awskms.Key {
	if s.LogsKey != nil {
		return s.LogsKey
	}
	key := s.newKey("LogsKey", "Encrypts mirrorflow's log groups: the step functions' and the state machines' execution logs.")
	logGroups := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"), nil)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsUseForThisAccountsLogGroups"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(awscdk.Fn_Sub(jsii.String("logs.${AWS::Region}.amazonaws.com"), nil), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"ArnLike": map[string]interface{}{"kms:EncryptionContext:aws:logs:arn": logGroups},
		},
	}), jsii.Bool(false))
	s.LogsKey = key
	return key
}

// newKey is a customer managed key of the stack, rotated yearly, that no
// one may grant the use of to another principal; only an AWS service may,
// for a resource of its own (Control Tower's CT.KMS.PR.3). The caller adds
// who may use it.
func (s *Stack) newKey(id, description string) awskms.Key {
	key := awskms.NewKey(s.Stack, jsii.String(id), &awskms.KeyProps{
		Description:       jsii.String(description),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("GrantsOnlyForAWSServices"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("kms:CreateGrant"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"BoolIfExists": map[string]interface{}{"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"},
		},
	}), jsii.Bool(false))
	return key
}
