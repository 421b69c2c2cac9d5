package ec2sim

import (
	"maps"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// invalidVPCEndpointIDNotFound is EC2's answer to a VpcEndpointId.N that
// names no endpoint. It belongs with the other codes in shared/awserr once a
// step reacts to it; until then only the simulator spells it.
const invalidVPCEndpointIDNotFound = "InvalidVpcEndpointId.NotFound"

// rangeVPCEndpoints is DescribeVpcEndpoints' MaxResults: its API reference
// gives no minimum and says "If the value is greater than 1,000, we return
// only 1,000 items", so a larger value is capped (see capMaxResults) rather
// than refused, and a value below 1 is refused as for every other Describe.
var rangeVPCEndpoints = pageRange{1, 1000}

// describeVPCEndpoints answers from the snapshot's VpcEndpoints, which a
// placement reads for a Gateway Load Balancer endpoint target's subnet.
func (s *Sim) describeVPCEndpoints(r request) (any, *apiError) {
	items, missing := byIDs(s.state.VPCEndpoints, r.list("VpcEndpointId"), func(e ec2types.VpcEndpoint) string { return deref(e.VpcEndpointId) })
	if len(missing) > 0 {
		return nil, errorf(invalidVPCEndpointIDNotFound, "The Vpc Endpoint Id '%s' does not exist", strings.Join(missing, ", "))
	}
	filters := r.filters()
	for _, f := range filters {
		// The reference documents tag:<key> and tag-key for this action, not
		// tag-value, which filterItems accepts wherever tags are given.
		if deref(f.Name) == "tag-value" {
			return nil, errorf(awserr.InvalidParameterValue, "The filter 'tag-value' is invalid")
		}
	}
	items, aerr := filterItems(items, filters, vpcEndpointFields, func(e ec2types.VpcEndpoint) []ec2types.Tag { return e.Tags })
	if aerr != nil {
		return nil, aerr
	}
	page, next, aerr := paginate(capMaxResults(r, rangeVPCEndpoints.max), items, rangeVPCEndpoints, s.opts.PageSize)
	if aerr != nil {
		return nil, aerr
	}
	return &ec2.DescribeVpcEndpointsOutput{VpcEndpoints: nonNil(page), NextToken: next}, nil
}

// vpcEndpointFields are the filters DescribeVpcEndpoints' API reference
// documents, tags aside.
func vpcEndpointFields(e ec2types.VpcEndpoint, name string) ([]string, bool) {
	switch name {
	case "vpc-endpoint-id":
		return strs(e.VpcEndpointId), true
	case "vpc-id":
		return strs(e.VpcId), true
	case "service-name":
		return strs(e.ServiceName), true
	case "service-region":
		return strs(e.ServiceRegion), true
	case "ip-address-type":
		return []string{string(e.IpAddressType)}, true
	case "vpc-endpoint-type":
		return []string{string(e.VpcEndpointType)}, true
	case "vpc-endpoint-state":
		return []string{lowerFirst(string(e.State))}, true
	}
	return nil, false
}

// lowerFirst spells an endpoint's State as the vpc-endpoint-state filter's
// documented values do (pendingAcceptance, available): EC2 and the CLI print
// it so, while the SDK's enum constants are capitalized (StateAvailable is
// "Available"), and a snapshot may hold either.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// capMaxResults returns r with MaxResults lowered to limit when it asks for
// more, for the actions whose reference caps MaxResults instead of refusing it.
func capMaxResults(r request, limit int64) request {
	n, err := strconv.ParseInt(r.str("MaxResults"), 10, 64)
	if err != nil || n <= limit {
		return r
	}
	form := maps.Clone(r.form)
	form["MaxResults"] = []string{strconv.FormatInt(limit, 10)}
	return request{action: r.action, form: form}
}
