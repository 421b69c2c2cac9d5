package main

import (
	"context"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
)

// TestFakeSQSAttributesMD5 holds the fake's MD5OfMessageAttributes to
// digests SQS itself returned, since the SDK checks only MD5OfBody.
func TestFakeSQSAttributesMD5(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]attribute
		want  string
	}{
		// A message as SQS delivered it to Lambda, kept in fujiwara/sqat's tests.
		{"one String attribute", map[string]attribute{"AtTimestamp": {"String", "2021-02-15T12:00:33+09:00"}},
			"9fd5e217089075be61cd1d67e35e5117"},
		// SendMessage's response, recorded against SQS in LocalStack's
		// test_receive_message_message_attribute_names_filters snapshot.
		{"attributes are digested in name order, not as given", map[string]attribute{
			"Help.Me": {"String", "Me"}, "Hello": {"String", "There"}, "General": {"String", "Kenobi"},
		}, "4c360f3fdafd970e05fae2f149d997f5"},
		// The aws-md5-of-message-attributes package's documented example.
		{"a custom Number type is sent as a string, transport type 1", map[string]attribute{
			"customNumberTypeAttrib": {"Number.float", "4563442423554324324264524243.32543234"},
		}, "9fe1b90bbd9965bdf77bac517c7d2495"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := attributesMD5(tt.attrs); got != tt.want {
				t.Errorf("attributesMD5 = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestFakeSQSReturnsTheMessageAttributesAReceiveNames receives through the
// real sqs.Client, which decodes the attributes and validates the body's MD5.
func TestFakeSQSReturnsTheMessageAttributesAReceiveNames(t *testing.T) {
	stored := map[string]attribute{"Help.Me": {"String", "Me"}, "Hello": {"String", "There"}, "General": {"String", "Kenobi"}}
	const allMD5 = "4c360f3fdafd970e05fae2f149d997f5"
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"All names every attribute", []string{"All"}, []string{"General", "Hello", "Help.Me"}},
		{".* names every attribute", []string{".*"}, []string{"General", "Hello", "Help.Me"}},
		{"exact names name only those attributes", []string{"Hello", "General"}, []string{"General", "Hello"}},
		{"a name the message lacks is skipped", []string{"Foo", "Hello"}, []string{"Hello"}},
		{"a name is not a prefix", []string{"Help"}, nil},
		{"prefix.* names every attribute whose name starts with prefix", []string{"Hel.*"}, []string{"Hello", "Help.Me"}},
		{"a receive that names none gets none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeSQS{t: t, queueURL: queueURL}
			q.add("8d1e0f2a-3b4c-4d5e-9f60-718293a4b5c6", "msg", time.Now(), stored)
			srv := httptest.NewServer(q)
			t.Cleanup(srv.Close)
			client := sqs.New(sqs.Options{
				Region: region, BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1, HTTPClient: testHTTPClient,
				Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, nil
				}),
			})
			out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(queueURL), MessageAttributeNames: tt.names,
			})
			if err != nil {
				t.Fatalf("ReceiveMessage: %v", err)
			}
			if len(out.Messages) != 1 {
				t.Fatalf("received %d messages, want 1", len(out.Messages))
			}
			m := out.Messages[0]
			var got []string
			picked := map[string]attribute{}
			for name, v := range m.MessageAttributes {
				got = append(got, name)
				picked[name] = attribute{aws.ToString(v.DataType), aws.ToString(v.StringValue)}
				if s := stored[name]; picked[name] != s {
					t.Errorf("attribute %s = %+v, want %+v", name, picked[name], s)
				}
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("attributes returned (-want +got):\n%s", diff)
			}
			// The digest covers the attributes returned, not all the message has.
			switch {
			case len(tt.want) == 0 && m.MD5OfMessageAttributes != nil:
				t.Errorf("MD5OfMessageAttributes = %s with no attributes returned, want none", aws.ToString(m.MD5OfMessageAttributes))
			case len(tt.want) == len(stored) && aws.ToString(m.MD5OfMessageAttributes) != allMD5:
				t.Errorf("MD5OfMessageAttributes = %s, want SQS's %s", aws.ToString(m.MD5OfMessageAttributes), allMD5)
			case len(tt.want) > 0 && aws.ToString(m.MD5OfMessageAttributes) != attributesMD5(picked):
				t.Errorf("MD5OfMessageAttributes = %s, want the digest of %v", aws.ToString(m.MD5OfMessageAttributes), got)
			}
		})
	}
}
