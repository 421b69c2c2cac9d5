package sqsfake

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"sort"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

const queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/Mirrorflow-DeadLetterQueue"

// serve starts q on loopback for the test and returns a real client of it.
func serve(t *testing.T, q *Queue) *sqs.Client {
	t.Helper()
	q.Errorf = t.Errorf
	srv := httptest.NewServer(q)
	t.Cleanup(srv.Close)
	return NewClient(srv.URL)
}

// TestAttributesMD5 holds the fake's MD5OfMessageAttributes to digests SQS
// itself returned, since the SDK checks only MD5OfBody.
func TestAttributesMD5(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]Attribute
		want  string
	}{
		// A message as SQS delivered it to Lambda, kept in fujiwara/sqat's tests.
		{"one String attribute", map[string]Attribute{"AtTimestamp": {"String", "2021-02-15T12:00:33+09:00"}},
			"9fd5e217089075be61cd1d67e35e5117"},
		// SendMessage's response, recorded against SQS in LocalStack's
		// test_receive_message_message_attribute_names_filters snapshot.
		{"attributes are digested in name order, not as given", map[string]Attribute{
			"Help.Me": {"String", "Me"}, "Hello": {"String", "There"}, "General": {"String", "Kenobi"},
		}, "4c360f3fdafd970e05fae2f149d997f5"},
		// The aws-md5-of-message-attributes package's documented example.
		{"a custom Number type is sent as a string, transport type 1", map[string]Attribute{
			"customNumberTypeAttrib": {"Number.float", "4563442423554324324264524243.32543234"},
		}, "9fe1b90bbd9965bdf77bac517c7d2495"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AttributesMD5(tt.attrs); got != tt.want {
				t.Errorf("AttributesMD5 = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestReceiveReturnsTheMessageAttributesAReceiveNames receives through the
// real sqs.Client, which decodes the attributes and validates the body's MD5.
func TestReceiveReturnsTheMessageAttributesAReceiveNames(t *testing.T) {
	stored := map[string]Attribute{"Help.Me": {"String", "Me"}, "Hello": {"String", "There"}, "General": {"String", "Kenobi"}}
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
			q := New(queueURL)
			q.Add("8d1e0f2a-3b4c-4d5e-9f60-718293a4b5c6", "msg", time.Now(), stored)
			out, err := serve(t, q).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
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
			picked := map[string]Attribute{}
			for name, v := range m.MessageAttributes {
				got = append(got, name)
				picked[name] = Attribute{aws.ToString(v.DataType), aws.ToString(v.StringValue)}
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
			case len(tt.want) > 0 && aws.ToString(m.MD5OfMessageAttributes) != AttributesMD5(picked):
				t.Errorf("MD5OfMessageAttributes = %s, want the digest of %v", aws.ToString(m.MD5OfMessageAttributes), got)
			}
		})
	}
}

func TestReceiveReturnsTheSystemAttributesAReceiveNames(t *testing.T) {
	sent := time.Date(2026, 11, 22, 10, 49, 2, 118_000_000, time.UTC)
	tests := []struct {
		name   string
		system []sqstypes.MessageSystemAttributeName
		want   []string
	}{
		{"a receive that names none gets none", nil, nil},
		{"named attributes only", []sqstypes.MessageSystemAttributeName{
			sqstypes.MessageSystemAttributeNameSentTimestamp, sqstypes.MessageSystemAttributeNameApproximateReceiveCount,
		}, []string{"ApproximateReceiveCount", "SentTimestamp"}},
		{"All names every one the fake keeps", []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			[]string{"ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SentTimestamp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := New(queueURL)
			q.Add("m1", "msg", sent, nil)
			out, err := serve(t, q).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(queueURL), MessageSystemAttributeNames: tt.system,
			})
			if err != nil || len(out.Messages) != 1 {
				t.Fatalf("ReceiveMessage: %v, %d messages; want 1", err, len(out.Messages))
			}
			attrs := out.Messages[0].Attributes
			var got []string
			for name := range attrs {
				got = append(got, name)
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("system attributes (-want +got):\n%s", diff)
			}
			if s, ok := attrs["SentTimestamp"]; ok && s != "1795344542118" {
				t.Errorf("SentTimestamp = %s, want 1795344542118", s)
			}
			if n, ok := attrs["ApproximateReceiveCount"]; ok && n != "1" {
				t.Errorf("ApproximateReceiveCount = %s, want 1 on the first receive", n)
			}
		})
	}
}

func TestVisibilityAndReceiptHandles(t *testing.T) {
	q := New(queueURL)
	q.Add("a", "first", time.Now(), nil)
	q.Add("b", "second", time.Now(), nil)
	client := serve(t, q)
	ctx := context.Background()
	receive := func(visibility int32) []sqstypes.Message {
		t.Helper()
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, VisibilityTimeout: visibility,
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		return out.Messages
	}

	first := receive(60)
	if len(first) != 2 {
		t.Fatalf("received %d messages, want both", len(first))
	}
	if got := q.Visible(); got != nil {
		t.Errorf("visible while received = %v, want none", got)
	}
	if got := receive(60); len(got) != 0 {
		t.Errorf("a received message came back within its visibility timeout: %d messages", len(got))
	}
	// ChangeMessageVisibility to 0 returns a message to the queue at once.
	if _, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(queueURL), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0,
	}); err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	if diff := cmp.Diff([]string{"a"}, q.Visible()); diff != "" {
		t.Errorf("visible after ChangeMessageVisibility 0 (-want +got):\n%s", diff)
	}
	again := receive(60)
	if len(again) != 1 || aws.ToString(again[0].ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
		t.Fatalf("received %v again; want message a with a new receipt handle", again)
	}

	tests := []struct {
		name   string
		handle *string
		want   string // error code; empty for success
	}{
		{"a handle an earlier receive gave is no longer valid", first[0].ReceiptHandle, "ReceiptHandleIsInvalid"},
		{"the latest handle deletes the message", again[0].ReceiptHandle, ""},
		{"a deleted message's handle is invalid", again[0].ReceiptHandle, "ReceiptHandleIsInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: tt.handle})
			var invalid *sqstypes.ReceiptHandleIsInvalid
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("DeleteMessage: %v", err)
			case tt.want != "" && !errors.As(err, &invalid):
				t.Errorf("DeleteMessage error = %v, want %s", err, tt.want)
			}
		})
	}
	if diff := cmp.Diff([]string{"b"}, q.IDs()); diff != "" {
		t.Errorf("messages left (-want +got):\n%s", diff)
	}
	if n := len(q.Calls(DeleteMessage)); n != 3 {
		t.Errorf("DeleteMessage recorded %d times, want 3", n)
	}
	q.Reset()
	if q.IDs() != nil || q.Calls(ReceiveMessage) != nil {
		t.Errorf("after Reset: messages %v, %d receives; want none", q.IDs(), len(q.Calls(ReceiveMessage)))
	}
}

func TestAnotherQueueDoesNotExist(t *testing.T) {
	q := New(queueURL)
	_, err := serve(t, q).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/123456789012/Gone"),
	})
	var gone *sqstypes.QueueDoesNotExist
	if !errors.As(err, &gone) {
		t.Errorf("ReceiveMessage error = %v, want QueueDoesNotExist", err)
	}
}

func TestLoadKeepsOnlyWhatSQSSent(t *testing.T) {
	const doc = `{"Messages":[{"MessageId":"m1","Body":"msg","MD5OfBody":"%s","MD5OfMessageAttributes":"%s",
		"Attributes":{"SentTimestamp":"1795344542118"},
		"MessageAttributes":{"Hello":{"DataType":"String","StringValue":"There"}}}]}`
	const wrongMD5 = "0123456789abcdef0123456789abcdef"
	hello := AttributesMD5(map[string]Attribute{"Hello": {"String", "There"}})
	tests := []struct {
		name    string
		doc     string
		wantErr bool
	}{
		{"a message as SQS sent it loads", fmt.Sprintf(doc, bodyMD5("msg"), hello), false},
		{"an MD5OfBody that is not the body's is refused", fmt.Sprintf(doc, wrongMD5, hello), true},
		{"an MD5OfMessageAttributes that is not the attributes' is refused", fmt.Sprintf(doc, bodyMD5("msg"), wrongMD5), true},
		{"a binary attribute is refused", `{"Messages":[{"MessageId":"m1","Body":"msg","Attributes":{"SentTimestamp":"1"},
			"MessageAttributes":{"B":{"DataType":"Binary","BinaryValue":"AA=="}}}]}`, true},
		{"a message without SentTimestamp is refused", `{"Messages":[{"MessageId":"m1","Body":"msg"}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := New(queueURL)
			err := q.Load(fstest.MapFS{"doc.json": {Data: []byte(tt.doc)}}, "doc.json")
			if (err != nil) != tt.wantErr {
				t.Fatalf("Load error = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr {
				if diff := cmp.Diff([]string{"m1"}, q.IDs()); diff != "" {
					t.Errorf("loaded (-want +got):\n%s", diff)
				}
			}
		})
	}
	if err := New(queueURL).Load(os.DirFS("."), "missing.json"); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}
