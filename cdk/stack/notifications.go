package stack

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NotificationsContextKey is the cdk.json context key of where the alarms
// send: {"Emails": ["oncall@example.com"]} subscribes addresses to a topic
// the stack creates; {"TopicArn": "arn:aws:sns:..."} sends to a topic the
// account already has (a pager's, a chat bridge's) and creates none.
const NotificationsContextKey = "mirrorflow:notifications"

// OutputAlarmTopicARN is the topic every alarm sends to, so that other
// subscribers (a pager, a chat bridge) can be added after the deploy.
const OutputAlarmTopicARN = "AlarmTopicArn"

// NotificationOptions say where the alarms send on ALARM and on OK.
type NotificationOptions struct {
	// Emails are subscribed to the stack's own topic. Each address gets a
	// confirmation mail from SNS and receives nothing until it confirms.
	Emails []string `json:"Emails"`
	// TopicARN (cdk.json "TopicArn"), when given, is an existing standard
	// SNS topic the alarms send to instead; the stack then creates no
	// topic, and Emails must be empty: that topic's subscriptions are its
	// owner's business.
	TopicARN string `json:"TopicArn"`
}

// topicARN is an SNS standard topic's ARN: partition, Region, 12-digit
// account, and a name of 1 to 256 letters, digits, hyphens and
// underscores (CreateTopic). A FIFO topic's name ends in .fifo, and
// CloudWatch alarm actions cannot publish to one.
var topicARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)

// Validate checks the options at synth, naming what is wrong.
func (o NotificationOptions) Validate() error {
	if o.TopicARN != "" {
		if strings.HasSuffix(o.TopicARN, ".fifo") {
			return fmt.Errorf("%s.TopicArn %q is a FIFO topic: CloudWatch alarms can only send to a standard topic", NotificationsContextKey, o.TopicARN)
		}
		if !topicARN.MatchString(o.TopicARN) {
			return fmt.Errorf("%s.TopicArn %q is not an SNS topic ARN: want arn:aws:sns:<region>:<12-digit account>:<name>", NotificationsContextKey, o.TopicARN)
		}
		if len(o.Emails) > 0 {
			return fmt.Errorf("%s: give Emails or TopicArn, not both: the stack subscribes Emails to a topic it creates, and leaves the subscriptions of an existing topic (%s) to its owner", NotificationsContextKey, o.TopicARN)
		}
	}
	seen := map[string]int{}
	for i, e := range o.Emails {
		addr, err := mail.ParseAddress(e)
		// ParseAddress also accepts "Name <a@b>" and comments: SNS wants
		// the bare address, and a domain without a dot is a typo here.
		if err != nil || addr.Address != e || addr.Name != "" || !strings.Contains(e[strings.LastIndex(e, "@")+1:], ".") {
			return fmt.Errorf("%s.Emails[%d] %q is not an email address: want a bare address such as oncall@example.com", NotificationsContextKey, i, e)
		}
		key := strings.ToLower(e)
		if j, ok := seen[key]; ok {
			return fmt.Errorf("%s.Emails[%d] %q is given twice (also Emails[%d])", NotificationsContextKey, i, e, j)
		}
		seen[key] = i
	}
	return nil
}

// NotificationsFromContext reads the options from cdk.json: an object, or
// the same object as a JSON string on the command line
// (-c mirrorflow:notifications='{"Emails":["a@example.com"]}'). Unset is a
// topic with no subscriptions.
func NotificationsFromContext(node constructs.Node) (NotificationOptions, error) {
	var o NotificationOptions
	if err := decodeContext(node, NotificationsContextKey, &o, `{"Emails": ["oncall@example.com"]} or {"TopicArn": "arn:aws:sns:us-east-1:123456789012:oncall"}`); err != nil {
		return o, err
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("reading context: %w", err)
	}
	return o, nil
}

// decodeContext decodes the object under key into v, refusing unknown keys;
// an unset key leaves v as it is. want shows the expected shape.
func decodeContext(node constructs.Node, key string, v any, want string) error {
	raw := node.TryGetContext(jsii.String(key))
	if raw == nil {
		return nil
	}
	data, ok := raw.(string)
	if !ok {
		b, err := json.Marshal(raw)
		if err != nil {
			return fmt.Errorf("reading context %q: encoding %T: %w", key, raw, err)
		}
		data = string(b)
	}
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("reading context %q: %w (want %s)", key, err, want)
	}
	return nil
}

// notifications makes the topic the alarms send to, or imports the
// configured one.
//
// The stack's topic is encrypted with a customer managed key, not the AWS
// managed alias/aws/sns: CloudWatch publishes to an encrypted topic only
// when the key's policy lets cloudwatch.amazonaws.com use it, and the AWS
// managed key's policy cannot be changed ("Enable compatibility between
// event sources from AWS services and encrypted topics", Amazon SNS
// Developer Guide), so alarms sent to a topic under alias/aws/sns are
// dropped without an error. cdk-nag's SNS2 accepts either key; KMS5 wants
// rotation, which the key has.
func (s *Stack) notifications() {
	o := s.props.Notifications
	if o.TopicARN != "" {
		s.AlarmTopic = awssns.Topic_FromTopicArn(s.Stack, jsii.String("AlarmTopic"), jsii.String(o.TopicARN))
		s.outputTopic()
		return
	}
	// Only alarms of this account and Region may use the key and the topic
	// (aws:SourceAccount, aws:SourceArn), against the confused deputy.
	fromAlarms := &map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:SourceAccount": s.Account()},
		"ArnLike": map[string]interface{}{"aws:SourceArn": awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), s.Partition(), jsii.String(":cloudwatch:"), s.Region(), jsii.String(":"), s.Account(), jsii.String(":alarm:*"),
		})},
	}
	cloudWatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	key := s.newKey("AlarmTopicKey", "Encrypts mirrorflow's alarm topic; CloudWatch alarms of this account may use it to publish.")
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublishToTheTopic"),
		Principals: &[]awsiam.IPrincipal{cloudWatch},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: fromAlarms,
	}), jsii.Bool(false))
	topic := awssns.NewTopic(s.Stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("mirrorflow alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy CDK writes for EnforceSSL replaces SNS's default
	// one, so CloudWatch is allowed to publish in so many words.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{cloudWatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: fromAlarms,
	}))
	for _, e := range o.Emails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(e), nil))
	}
	s.AlarmTopic = topic
	s.outputTopic()
}

func (s *Stack) outputTopic() {
	awscdk.NewCfnOutput(s.Stack, jsii.String(OutputAlarmTopicARN), &awscdk.CfnOutputProps{
		Description: jsii.String("The SNS topic every mirrorflow alarm sends to on ALARM and on OK."),
		Value:       s.AlarmTopic.TopicArn(),
	})
}
