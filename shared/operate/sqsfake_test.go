package operate

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const fakeQueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/Mirrorflow-DeadLetterQueue"

// queued is one message of the fake queue: as `aws sqs receive-message`
// printed it, plus its visibility.
type queued struct {
	msg       sqstypes.Message
	sent      time.Time
	visibleAt time.Time
	receives  int
	handle    string
}

// fakeQueue is a behavioural SQS queue served over the JSON protocol on
// loopback, so the real sqs.Client proves what ReceiveMessage asks for and
// how the SDK hands message attributes back. As SQS does, it returns only
// the message attributes and system attributes a receive names, honours
// visibility timeouts (30 s when none is sent), changes the receipt handle on
// every receive, and sends the MD5 of the body and of the attributes.
type fakeQueue struct {
	mu       sync.Mutex
	messages []*queued
	handles  int
	receives []map[string]any
}

// loadQueue fills a fake queue from a receive-message document in testdata.
func loadQueue(t *testing.T, name string) *fakeQueue {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Messages []sqstypes.Message }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	q := &fakeQueue{}
	for _, m := range doc.Messages {
		ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
		if err != nil {
			t.Fatalf("%s: message %s has no SentTimestamp", name, aws.ToString(m.MessageId))
		}
		q.messages = append(q.messages, &queued{msg: m, sent: time.UnixMilli(ms)})
	}
	return q
}

// add queues a message with a body and string message attributes.
func (q *fakeQueue) add(id, body string, sent time.Time, attrs map[string]string) {
	m := sqstypes.Message{MessageId: aws.String(id), Body: aws.String(body)}
	if len(attrs) > 0 {
		m.MessageAttributes = map[string]sqstypes.MessageAttributeValue{}
		for k, v := range attrs {
			m.MessageAttributes[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.messages = append(q.messages, &queued{msg: m, sent: sent})
}

// client is a real SQS client of the fake, served until the test ends.
func (q *fakeQueue) client(t *testing.T) *sqs.Client {
	t.Helper()
	srv := httptest.NewServer(q)
	t.Cleanup(srv.Close)
	return sqs.New(sqs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
}

// IDs lists the messages still in the queue, visible or not.
func (q *fakeQueue) IDs() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := []string{}
	for _, m := range q.messages {
		ids = append(ids, aws.ToString(m.msg.MessageId))
	}
	return ids
}

// Visible lists the messages a receive would return now.
func (q *fakeQueue) Visible() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := []string{}
	for _, m := range q.messages {
		if !m.visibleAt.After(time.Now()) {
			ids = append(ids, aws.ToString(m.msg.MessageId))
		}
	}
	return ids
}

func (q *fakeQueue) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	var in map[string]any
	if !ok || json.NewDecoder(r.Body).Decode(&in) != nil {
		sqsError(w, "InvalidParameterValue", "not an AmazonSQS JSON request")
		return
	}
	if in["QueueUrl"] != fakeQueueURL {
		sqsError(w, "com.amazonaws.sqs#QueueDoesNotExist", "The specified queue does not exist.")
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	byHandle := func() (int, bool) {
		for i, m := range q.messages {
			if m.handle != "" && m.handle == in["ReceiptHandle"] {
				return i, true
			}
		}
		sqsError(w, "com.amazonaws.sqs#ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
		return 0, false
	}
	switch op {
	case "ReceiveMessage":
		q.receives = append(q.receives, in)
		visibility, max := 30.0, 1.0
		if v, ok := in["VisibilityTimeout"].(float64); ok {
			visibility = v
		}
		if v, ok := in["MaxNumberOfMessages"].(float64); ok {
			max = v
		}
		out := []map[string]any{}
		for _, m := range q.messages {
			if len(out) == int(max) || m.visibleAt.After(now) {
				continue
			}
			q.handles++
			m.receives++
			m.handle = fmt.Sprintf("AQEB%s-%d", aws.ToString(m.msg.MessageId), q.handles)
			m.visibleAt = now.Add(time.Duration(visibility) * time.Second)
			out = append(out, q.reply(m, names(in["MessageSystemAttributeNames"]), names(in["MessageAttributeNames"])))
		}
		writeSQS(w, map[string]any{"Messages": out})
	case "ChangeMessageVisibility":
		if i, ok := byHandle(); ok {
			v, _ := in["VisibilityTimeout"].(float64)
			q.messages[i].visibleAt = now.Add(time.Duration(v) * time.Second)
			writeSQS(w, map[string]any{})
		}
	case "DeleteMessage":
		if i, ok := byHandle(); ok {
			q.messages = slices.Delete(q.messages, i, i+1)
			writeSQS(w, map[string]any{})
		}
	default:
		sqsError(w, "UnsupportedOperation", "the fake does not serve "+op)
	}
}

// reply is one received message with the attributes the receive named.
func (q *fakeQueue) reply(m *queued, system, custom []string) map[string]any {
	body := aws.ToString(m.msg.Body)
	sum := md5.Sum([]byte(body))
	out := map[string]any{
		"MessageId": aws.ToString(m.msg.MessageId), "ReceiptHandle": m.handle, "Body": body,
		"MD5OfBody": hex.EncodeToString(sum[:]),
	}
	sys := map[string]string{
		"SentTimestamp":           strconv.FormatInt(m.sent.UnixMilli(), 10),
		"ApproximateReceiveCount": strconv.Itoa(m.receives),
	}
	attrs := map[string]string{}
	for k, v := range sys {
		if wanted(system, k) {
			attrs[k] = v
		}
	}
	if len(attrs) > 0 {
		out["Attributes"] = attrs
	}
	picked := map[string]sqstypes.MessageAttributeValue{}
	for k, v := range m.msg.MessageAttributes {
		if wanted(custom, k) {
			picked[k] = v
		}
	}
	if len(picked) > 0 {
		wire := map[string]any{}
		for k, v := range picked {
			wire[k] = map[string]any{"DataType": aws.ToString(v.DataType), "StringValue": aws.ToString(v.StringValue)}
		}
		out["MessageAttributes"] = wire
		out["MD5OfMessageAttributes"] = attributesMD5(picked)
	}
	return out
}

// wanted reports whether a receive that named names gets attribute name:
// "All" or ".*" is every one, "PREFIX.*" those that start with PREFIX.
func wanted(names []string, name string) bool {
	for _, n := range names {
		if n == "All" || n == ".*" || n == name || (strings.HasSuffix(n, ".*") && strings.HasPrefix(name, strings.TrimSuffix(n, "*"))) {
			return true
		}
	}
	return false
}

// attributesMD5 is SQS's MD5OfMessageAttributes for string attributes:
// sorted by name, each name, data type and value length-prefixed (4 bytes,
// big-endian), with transport type 1 (string) before the value.
func attributesMD5(attrs map[string]sqstypes.MessageAttributeValue) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := md5.New()
	field := func(s string) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	for _, k := range keys {
		field(k)
		field(aws.ToString(attrs[k].DataType))
		h.Write([]byte{1})
		field(aws.ToString(attrs[k].StringValue))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func names(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, n := range list {
		if s, ok := n.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func writeSQS(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

func sqsError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// fakeSFN starts executions in memory; each ends at once with the status
// its instance is given in outcome (SUCCEEDED when not listed). The retry
// path calls only StartExecution and DescribeExecution; any other call
// reaches the nil embedded interface and fails the test loudly.
type fakeSFN struct {
	StepFunctions
	mu      sync.Mutex
	outcome map[string]sfntypes.ExecutionStatus
	started []sfn.StartExecutionInput
	status  map[string]sfntypes.ExecutionStatus
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn, err := ExecutionARN(aws.ToString(in.StateMachineArn), aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	if _, dup := f.status[arn]; dup {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: '" + arn + "'")}
	}
	status, ok := f.outcome[InstanceFromInput(aws.ToString(in.Input))]
	if !ok {
		status = sfntypes.ExecutionStatusSucceeded
	}
	if f.status == nil {
		f.status = map[string]sfntypes.ExecutionStatus{}
	}
	f.status[arn] = status
	f.started = append(f.started, *in)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(time.Now())}, nil
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	status, ok := f.status[aws.ToString(in.ExecutionArn)]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: '" + aws.ToString(in.ExecutionArn) + "'")}
	}
	out := &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: status}
	if status == sfntypes.ExecutionStatusFailed {
		out.Error = aws.String("NoReachableSensor")
		out.Cause = aws.String(`{"errorMessage":"no reachable sensor","errorType":"NoReachableSensor"}`)
	}
	return out, nil
}
