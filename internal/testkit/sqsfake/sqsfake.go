// Package sqsfake is the one behavioural fake of an SQS queue that tests
// reach through the real sqs.Client. It serves the SQS JSON protocol
// (awsJson1_0) over HTTP, so the SDK's serializers, its MD5OfBody check and
// its error decoding run as they do against SQS. As SQS does, it honours
// visibility timeouts (the queue's default of 30 s when a receive sends
// none), hands out a new receipt handle on every receive, returns only the
// system attributes and message attributes a receive names, digests the
// body and those attributes, and fails with SQS's own error codes. It keeps
// every request it answered, in order, so a test can check what was asked.
package sqsfake

import (
	"crypto/md5" //nolint:gosec // G501: MD5OfBody and MD5OfMessageAttributes are MD5 by the SQS protocol.
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Operation names, as SQS and IAM spell them; Calls takes these.
const (
	ReceiveMessage          = "ReceiveMessage"
	DeleteMessage           = "DeleteMessage"
	ChangeMessageVisibility = "ChangeMessageVisibility"
)

// DefaultVisibility is the queue's visibility timeout, which a receive
// without VisibilityTimeout gets.
const DefaultVisibility = 30 * time.Second

// Call is one request the fake answered: the operation and its input as the
// SDK serialized it (JSON numbers are float64).
type Call struct {
	Op    string
	Input map[string]any
}

// Strings is a list input of the call, such as MessageAttributeNames.
func (c Call) Strings(key string) []string {
	list, _ := c.Input[key].([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// message is one message in the queue.
type message struct {
	id, body, handle string
	attrs            map[string]Attribute
	sent, visibleAt  time.Time
	firstReceive     time.Time
	receives         int
}

// Queue is the fake: one queue, at the URL New was given. The zero value is
// not usable.
type Queue struct {
	// Errorf, when set, also reports each request the SDK would never send
	// (unsigned, not awsJson1_0, undecodable), which the fake answers with an
	// error as SQS would; a test sets it to t.Errorf so that a case expecting
	// an error cannot hide a broken request.
	Errorf func(format string, args ...any)

	mu       sync.Mutex
	url      string
	messages []*message
	handles  int
	calls    map[string][]Call
}

// New returns an empty queue served as queueURL; requests naming any other
// QueueUrl fail with QueueDoesNotExist.
func New(queueURL string) *Queue { return &Queue{url: queueURL} }

// Add queues a message; attrs are its message attributes, nil for none.
func (q *Queue) Add(id, body string, sent time.Time, attrs map[string]Attribute) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.messages = append(q.messages, &message{id: id, body: body, sent: sent, attrs: attrs})
}

// Load queues the messages of an `aws sqs receive-message
// --attribute-names All --message-attribute-names All` document: each
// one's id, body, SentTimestamp and message attributes. It fails on a
// message without SentTimestamp, on a Binary attribute (the fake holds
// string values only), and on an MD5OfBody or MD5OfMessageAttributes that is
// not the digest of what the document holds, so an edited document can no
// longer pass for one SQS sent.
func (q *Queue) Load(fsys fs.FS, name string) error {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	var doc struct {
		Messages []struct {
			MessageID              string `json:"MessageId"`
			Body                   string
			MD5OfBody              string
			MD5OfMessageAttributes string
			Attributes             map[string]string
			MessageAttributes      map[string]struct{ DataType, StringValue string }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("decoding %s: %w", name, err)
	}
	for _, m := range doc.Messages {
		ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
		if err != nil {
			return fmt.Errorf("reading %s: message %s has no SentTimestamp: %w", name, m.MessageID, err)
		}
		var attrs map[string]Attribute
		for attr, a := range m.MessageAttributes {
			if strings.HasPrefix(a.DataType, "Binary") {
				return fmt.Errorf("reading %s: attribute %s of message %s is %s; the fake holds string values only", name, attr, m.MessageID, a.DataType)
			}
			if attrs == nil {
				attrs = map[string]Attribute{}
			}
			attrs[attr] = Attribute{DataType: a.DataType, StringValue: a.StringValue}
		}
		if got := bodyMD5(m.Body); m.MD5OfBody != "" && got != m.MD5OfBody {
			return fmt.Errorf("reading %s: message %s MD5OfBody is %s, the body's is %s", name, m.MessageID, m.MD5OfBody, got)
		}
		if got := AttributesMD5(attrs); m.MD5OfMessageAttributes != "" && got != m.MD5OfMessageAttributes {
			return fmt.Errorf("reading %s: message %s MD5OfMessageAttributes is %s, its attributes' is %s", name, m.MessageID, m.MD5OfMessageAttributes, got)
		}
		q.Add(m.MessageID, m.Body, time.UnixMilli(ms).UTC(), attrs)
	}
	return nil
}

// Visible lists the ids of the messages a receive would return now.
func (q *Queue) Visible() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	for _, m := range q.messages {
		if !m.visibleAt.After(time.Now()) {
			ids = append(ids, m.id)
		}
	}
	return ids
}

// IDs lists every message in the queue, visible or not.
func (q *Queue) IDs() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	for _, m := range q.messages {
		ids = append(ids, m.id)
	}
	return ids
}

// Calls returns the requests of one operation, in the order they came.
func (q *Queue) Calls(op string) []Call {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.calls[op])
}

// Reset empties the queue and forgets every call, so one fake can serve
// many table cases.
func (q *Queue) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.messages, q.calls, q.handles = nil, nil, 0
}

// ServeHTTP answers one SQS JSON request.
func (q *Queue) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	op, in, ok := q.decode(w, req)
	if !ok {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.calls == nil {
		q.calls = map[string][]Call{}
	}
	q.calls[op] = append(q.calls[op], Call{Op: op, Input: in})
	if str(in, "QueueUrl") != q.url {
		w.Header().Set("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender")
		writeError(w, http.StatusBadRequest, "com.amazonaws.sqs#QueueDoesNotExist", "The specified queue does not exist.")
		return
	}
	now := time.Now()
	switch op {
	case ReceiveMessage:
		q.receive(w, in, now)
	case DeleteMessage:
		if i, ok := q.byHandle(w, in); ok {
			q.messages = slices.Delete(q.messages, i, i+1)
			writeJSON(w, map[string]any{})
		}
	case ChangeMessageVisibility:
		if i, ok := q.byHandle(w, in); ok {
			v, _ := in["VisibilityTimeout"].(float64)
			q.messages[i].visibleAt = now.Add(time.Duration(v) * time.Second)
			writeJSON(w, map[string]any{})
		}
	default:
		writeError(w, http.StatusBadRequest, "UnsupportedOperation", "the fake does not serve "+op)
	}
}

// decode checks that a request is one the SDK sends to SQS (awsJson1_0,
// SigV4-signed, an AmazonSQS target) and returns its operation and input;
// otherwise it answers with the error SQS would give.
func (q *Queue) decode(w http.ResponseWriter, req *http.Request) (string, map[string]any, bool) {
	reject := func(status int, code, format string, args ...any) (string, map[string]any, bool) {
		msg := fmt.Sprintf(format, args...)
		if q.Errorf != nil {
			q.Errorf("sqsfake: %s", msg)
		}
		writeError(w, status, code, msg)
		return "", nil, false
	}
	// Reading the whole body before answering keeps the client's request
	// write from racing the response (aws-sdk-go-v2 issue 2737).
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return reject(http.StatusBadRequest, "InvalidParameterValue", "reading the request: %v", err)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		return reject(http.StatusBadRequest, "InvalidParameterValue", "request Content-Type is %q, want application/x-amz-json-1.0", ct)
	}
	if !strings.HasPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		return reject(http.StatusForbidden, "MissingAuthenticationToken", "the request is not SigV4-signed")
	}
	op, ok := strings.CutPrefix(req.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok {
		return reject(http.StatusBadRequest, "InvalidAction", "X-Amz-Target is %q, want AmazonSQS.<Operation>", req.Header.Get("X-Amz-Target"))
	}
	in := map[string]any{}
	if err := json.Unmarshal(body, &in); err != nil {
		return reject(http.StatusBadRequest, "InvalidParameterValue", "decoding the %s input: %v", op, err)
	}
	return op, in, true
}

// receive hands out up to MaxNumberOfMessages visible messages (1 when
// unset), hiding each for the receive's visibility timeout.
func (q *Queue) receive(w http.ResponseWriter, in map[string]any, now time.Time) {
	visibility := DefaultVisibility
	if v, ok := in["VisibilityTimeout"].(float64); ok {
		visibility = time.Duration(v) * time.Second
	}
	limit := 1
	if v, ok := in["MaxNumberOfMessages"].(float64); ok {
		limit = int(v)
	}
	call := Call{Input: in}
	system, custom := call.Strings("MessageSystemAttributeNames"), call.Strings("MessageAttributeNames")
	// AttributeNames is the older, deprecated name of MessageSystemAttributeNames.
	system = append(system, call.Strings("AttributeNames")...)
	var out []map[string]any
	for _, m := range q.messages {
		if len(out) == limit || m.visibleAt.After(now) {
			continue
		}
		q.handles++
		m.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.handle = fmt.Sprintf("AQEB-%s-%d", m.id, q.handles)
		m.visibleAt = now.Add(visibility)
		out = append(out, m.reply(system, custom))
	}
	if out == nil {
		writeJSON(w, map[string]any{})
		return
	}
	writeJSON(w, map[string]any{"Messages": out})
}

// reply is a received message as SQS sends it, with the attributes the
// receive named.
func (m *message) reply(system, custom []string) map[string]any {
	out := map[string]any{"MessageId": m.id, "ReceiptHandle": m.handle, "MD5OfBody": bodyMD5(m.body), "Body": m.body}
	attrs := map[string]string{}
	for name, v := range map[string]string{
		"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
		"ApproximateReceiveCount":          strconv.Itoa(m.receives),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceive.UnixMilli(), 10),
	} {
		if slices.Contains(system, "All") || slices.Contains(system, name) {
			attrs[name] = v
		}
	}
	if len(attrs) > 0 {
		out["Attributes"] = attrs
	}
	if picked := namedAttributes(m.attrs, custom); len(picked) > 0 {
		wire := map[string]any{}
		for name, a := range picked {
			wire[name] = map[string]string{"DataType": a.DataType, "StringValue": a.StringValue}
		}
		out["MessageAttributes"] = wire
		out["MD5OfMessageAttributes"] = AttributesMD5(picked)
	}
	return out
}

// byHandle finds the message a request's ReceiptHandle names, or answers
// ReceiptHandleIsInvalid.
func (q *Queue) byHandle(w http.ResponseWriter, in map[string]any) (int, bool) {
	for i, m := range q.messages {
		if m.handle != "" && m.handle == str(in, "ReceiptHandle") {
			return i, true
		}
	}
	writeError(w, http.StatusBadRequest, "com.amazonaws.sqs#ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
	return 0, false
}

func bodyMD5(body string) string {
	sum := md5.Sum([]byte(body)) //nolint:gosec // G401: the SQS protocol's digest, not a security control.
	return hex.EncodeToString(sum[:])
}

func str(in map[string]any, k string) string {
	s, _ := in[k].(string)
	return s
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers as the awsJson1_0 protocol documents an error.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
