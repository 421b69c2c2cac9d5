// Package elbv2sim is mirrorflow's model of Elastic Load Balancing (API
// version 2015-12-01, ELBv2), served on the EC2 simulator's endpoint so that
// one address answers both services from one account, and a real
// *elasticloadbalancingv2.Client judges it as a real *ec2.Client judges
// ec2sim. A placement reads a Network Load Balancer target's zones and
// listeners here, and its Gateway Load Balancer endpoint from EC2.
//
// The model is this package's: DescribeLoadBalancers and DescribeListeners
// over the snapshot's LoadBalancers and Listeners, ELBv2's parameters,
// paging, error codes and XML envelope, and its request-rate bucket. What
// belongs to the account is ec2sim's and is shared, not copied: the state
// (seeded from the same snapshot, changed by Put, restored by Reset), the
// call counters, recorded requests, faults, latency and token buckets (see
// ec2sim.Sim.Serve), and the element names, generated from the ELBv2 SDK's
// own deserializers with EC2's (ec2sim's xmlnamesgen).
//
// Requests carrying Version=2015-12-01 are ELBv2's; every other request
// goes to EC2's simulator untouched.
package elbv2sim

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/snapshot"
)

// APIVersion is the Version parameter of every ELBv2 request; it is how one
// endpoint tells ELBv2's requests from EC2's (2016-11-15).
const APIVersion = "2015-12-01"

// namespace is the one ELBv2 puts on its answers' root element.
const namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// maxForm is how much of a request body is read, as net/http's ParseForm does.
const maxForm = 10 << 20

// DescribeBucket is ELBv2's token bucket for its non-mutating (Describe*)
// actions, which they share: "the token bucket size for non-mutating API
// actions is 40 tokens. You can make up to 40 Describe* requests in one
// second", refilled at 10 tokens a second ("Request throttling for the
// Elastic Load Balancing API", Elastic Load Balancing User Guide,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html,
// read 2026-11-30). It applies when the account's ec2sim.Options.Throttling
// is set, beside EC2's buckets: each ELB API version has its own.
var DescribeBucket = ec2sim.Bucket{Size: 40, RefillPerSecond: 10}

// describeBucketName keeps ELBv2's bucket apart from EC2's per-action ones.
const describeBucketName = "elasticloadbalancingv2:Describe*"

// Sim serves ELBv2 from an EC2 simulator's account and passes every other
// request to that simulator, on one endpoint. It is safe for concurrent use.
type Sim struct {
	account *ec2sim.Sim
	// server serves both services once Listen is called.
	server ec2sim.Server
}

// New returns the ELBv2 model of account's snapshot. The account's
// methods (Calls, Requests, InjectFault, Put, Reset) cover ELBv2's actions
// too.
func New(account *ec2sim.Sim) *Sim {
	return &Sim{account: account}
}

// Start serves both services on a free loopback port until ctx ends or
// Close is called, and returns the endpoint URL (for BaseEndpoint,
// AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2).
func (s *Sim) Start(ctx context.Context) (string, error) {
	return s.Listen(ctx, "127.0.0.1:0")
}

// Listen is Start on a given address.
func (s *Sim) Listen(ctx context.Context, addr string) (string, error) {
	return s.server.Listen(ctx, addr, s)
}

// Close stops serving; after ctx's end it has nothing left to do.
func (s *Sim) Close() error {
	if err := s.server.Close(); err != nil {
		return fmt.Errorf("closing the simulators' server: %w", err)
	}
	return nil
}

// ServeHTTP answers an ELBv2 request, or hands any other to EC2's simulator
// with its body as it came.
func (s *Sim) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	form, err := peekForm(hr)
	if err != nil || form.Get("Version") != APIVersion {
		// EC2's simulator parses the request again and reports what is
		// wrong with it in EC2's words.
		s.account.ServeHTTP(w, hr)
		return
	}
	requestID := s.account.RequestID()
	action := form.Get("Action")
	if action == "" {
		writeError(w, requestID, errorf(MissingAction, "The request must contain the parameter Action"))
		return
	}
	call := ec2sim.Call{Action: action, Params: form, BucketName: describeBucketName, Bucket: DescribeBucket}
	out, err := s.account.Serve(hr.Context(), call, func(account *snapshot.Snapshot) (any, error) {
		h, ok := handlers[action]
		if !ok {
			return nil, errorf(InvalidAction, "The action %s is not valid for this web service.", action)
		}
		return h(account, query{action: action, form: form, pageSize: s.account.PageSize()})
	})
	if err != nil {
		if hr.Context().Err() != nil {
			return // the client is gone
		}
		writeError(w, requestID, answerFor(err))
		return
	}
	writeResponse(w, action, requestID, out)
}

// peekForm parses the request's query string and form body without
// consuming the body, so that a request for EC2 reaches its simulator whole.
func peekForm(hr *http.Request) (url.Values, error) {
	form := hr.URL.Query()
	if hr.Body == nil || hr.Body == http.NoBody {
		return form, nil
	}
	body, err := io.ReadAll(io.LimitReader(hr.Body, maxForm))
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	hr.Body = io.NopCloser(bytes.NewReader(body))
	posted, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("parsing the request body: %w", err)
	}
	for k, v := range posted {
		form[k] = append(form[k], v...)
	}
	return form, nil
}

// writeResponse renders ELBv2's answer: <ActionResponse><ActionResult>
// holding out's fields, then the request id in ResponseMetadata.
func writeResponse(w http.ResponseWriter, action, requestID string, out any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<" + action + "Response xmlns=\"" + namespace + "\">")
	b.WriteString("<" + action + "Result>")
	ec2sim.EncodeXML(&b, out)
	b.WriteString("</" + action + "Result>")
	b.WriteString("<ResponseMetadata>")
	writeText(&b, "RequestId", requestID)
	b.WriteString("</ResponseMetadata>")
	b.WriteString("</" + action + "Response>")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Header().Set("X-Amzn-Requestid", requestID)
	_, _ = w.Write(b.Bytes())
}

func writeText(b *bytes.Buffer, elem, text string) {
	b.WriteString("<" + elem + ">")
	_ = xml.EscapeText(b, []byte(text)) // writing to a bytes.Buffer cannot fail
	b.WriteString("</" + elem + ">")
}
