package ec2sim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/placement"
)

// AWS's Traffic Mirroring quotas ("Traffic Mirroring quotas", Amazon VPC
// Traffic Mirroring guide); none is adjustable. Sources per target are
// placement.MaxSources, the one copy of AWS's table of large sizes.
const (
	maxSessionsPerSource  = 3
	maxSessionsPerAccount = 10000
	maxVirtualNetworkID   = 1<<24 - 1
)

// Limits every EC2 create shares: a ClientToken is at most 64 ASCII
// characters ("Ensuring idempotency", EC2 API reference), and a resource
// holds at most 50 tags, none of whose keys may start with aws: ("Tag your
// Amazon EC2 resources", tag restrictions).
const (
	maxClientTokenLength = 64
	maxTagsPerResource   = 50
)

// sessionParams are the parameters that make two CreateTrafficMirrorSession
// calls with one ClientToken the same request.
var sessionParams = []string{"NetworkInterfaceId", "TrafficMirrorTargetId", "TrafficMirrorFilterId",
	"SessionNumber", "PacketLength", "VirtualNetworkId", "Description"}

func (s *Sim) createTrafficMirrorSession(r request) (any, *apiError) {
	if aerr := r.required("NetworkInterfaceId", "TrafficMirrorTargetId", "TrafficMirrorFilterId", "SessionNumber"); aerr != nil {
		return nil, aerr
	}
	token := r.str("ClientToken")
	if len(token) > maxClientTokenLength || !isASCII(token) {
		return nil, errorf(awserr.InvalidParameterValue, "Value (%s) for parameter clientToken is invalid. The client token must be at most %d ASCII characters.", token, maxClientTokenLength)
	}
	fingerprint := r.fingerprint(sessionParams)
	if prev, ok := s.tokens[token]; ok && token != "" {
		if prev.params != fingerprint {
			return nil, errorf(awserr.IdempotentParameterMismatch, "The client token %s was already used with different parameters.", token)
		}
		for _, t := range s.state.TrafficMirrorSessions {
			if deref(t.TrafficMirrorSessionId) == prev.sessionID {
				return &ec2.CreateTrafficMirrorSessionOutput{TrafficMirrorSession: &t, ClientToken: &token}, nil
			}
		}
	}
	session, aerr := s.newSession(r)
	if aerr != nil {
		return nil, aerr
	}
	if dry, aerr := r.boolean("DryRun"); aerr != nil {
		return nil, aerr
	} else if dry {
		return nil, errorf(awserr.DryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	}
	session.TrafficMirrorSessionId = ptr(s.newID("tms-"))
	s.state.TrafficMirrorSessions = append(s.state.TrafficMirrorSessions, session)
	if token != "" {
		s.tokens[token] = idempotent{params: fingerprint, sessionID: *session.TrafficMirrorSessionId}
	}
	out := &ec2.CreateTrafficMirrorSessionOutput{TrafficMirrorSession: &session}
	if token != "" {
		out.ClientToken = &token
	}
	return out, nil
}

// newSession validates a CreateTrafficMirrorSession request against the
// state and AWS's quotas, and returns the session it would make (without id).
func (s *Sim) newSession(r request) (ec2types.TrafficMirrorSession, *apiError) {
	var none ec2types.TrafficMirrorSession
	source, targetID, filterID := r.str("NetworkInterfaceId"), r.str("TrafficMirrorTargetId"), r.str("TrafficMirrorFilterId")
	number, _, aerr := r.integer("SessionNumber")
	if aerr != nil {
		return none, aerr
	}
	if number < 1 || number > 32766 {
		return none, errorf(awserr.InvalidParameterValue, "Value (%d) for parameter SessionNumber is invalid. Expecting a value between 1 and 32766.", number)
	}
	givenLength, hasPacketLength, aerr := r.integer("PacketLength")
	if aerr != nil {
		return none, aerr
	}
	var packetLength int32
	if hasPacketLength {
		if givenLength < 1 || givenLength > 8500 {
			return none, errorf(awserr.InvalidParameterValue, "Value (%d) for parameter PacketLength is invalid. Expecting a value between 1 and 8500.", givenLength)
		}
		packetLength = int32(givenLength)
	}
	givenVNI, hasVNI, aerr := r.integer("VirtualNetworkId")
	if aerr != nil {
		return none, aerr
	}
	var vni int32
	if hasVNI {
		if givenVNI < 0 || givenVNI > maxVirtualNetworkID {
			return none, errorf(awserr.InvalidParameterValue, "Value (%d) for parameter VirtualNetworkId is invalid. Expecting a value between 0 and %d.", givenVNI, maxVirtualNetworkID)
		}
		vni = int32(givenVNI)
	}
	if !s.interfaceExists(source) {
		return none, notFound(awserr.InvalidNetworkInterfaceNotFound, "network interface", []string{source})
	}
	target, ok := s.target(targetID)
	if !ok {
		return none, notFound(awserr.InvalidTrafficMirrorTargetID, "traffic mirror target", []string{targetID})
	}
	if !s.filterExists(filterID) {
		return none, notFound(awserr.InvalidTrafficMirrorFilterID, "traffic mirror filter", []string{filterID})
	}
	for _, t := range s.state.TrafficMirrorTargets {
		if deref(t.NetworkInterfaceId) == source {
			return none, errorf(awserr.InvalidParameterValue, "The network interface %s is the traffic mirror target %s and cannot also be a traffic mirror source.", source, deref(t.TrafficMirrorTargetId))
		}
	}
	if len(s.state.TrafficMirrorSessions) >= maxSessionsPerAccount {
		return none, errorf(awserr.TrafficMirrorSessionLimit, "The maximum number of traffic mirror sessions (%d) has been reached.", maxSessionsPerAccount)
	}
	perSource := 0
	sources := map[string]bool{}
	for _, t := range s.state.TrafficMirrorSessions {
		if deref(t.NetworkInterfaceId) == source {
			perSource++
			if int64(deref(t.SessionNumber)) == number {
				return none, errorf(awserr.InvalidParameterValue, "The session number %d is already in use by traffic mirror session %s on network interface %s.", number, deref(t.TrafficMirrorSessionId), source)
			}
		}
		if deref(t.TrafficMirrorTargetId) == targetID {
			sources[deref(t.NetworkInterfaceId)] = true
		}
	}
	if perSource >= maxSessionsPerSource {
		return none, errorf(awserr.TrafficMirrorSessionsPerSource, "The network interface %s already has the maximum of %d traffic mirror sessions.", source, maxSessionsPerSource)
	}
	if limit := placement.MaxSources(string(target.Type), s.instanceTypeOf(deref(target.NetworkInterfaceId))); limit > 0 && !sources[source] && len(sources) >= limit {
		return none, errorf(awserr.TrafficMirrorSourcesPerTarget, "Sources per interface-target limit reached (%d) for traffic mirror target %s.", limit, targetID)
	}
	if !hasVNI {
		vni = s.freeVNI()
	}
	session := ec2types.TrafficMirrorSession{
		NetworkInterfaceId:    &source,
		TrafficMirrorTargetId: &targetID,
		TrafficMirrorFilterId: &filterID,
		SessionNumber:         ptr(int32(number)),
		VirtualNetworkId:      ptr(vni),
		OwnerId:               ptr(s.ownerID),
		Description:           ptr(r.str("Description")),
		Tags:                  []ec2types.Tag{},
	}
	if hasPacketLength {
		session.PacketLength = ptr(packetLength)
	}
	for _, spec := range r.tagSpecifications() {
		if spec.ResourceType != ec2types.ResourceTypeTrafficMirrorSession {
			return none, errorf(awserr.InvalidParameterValue, "'%s' is not a valid taggable resource type for this operation.", spec.ResourceType)
		}
		if aerr := checkTags(spec.Tags); aerr != nil {
			return none, aerr
		}
		session.Tags = setTags(session.Tags, spec.Tags)
	}
	return session, nil
}

// checkTags applies EC2's tag restrictions to the tags of one resource.
func checkTags(tags []ec2types.Tag) *apiError {
	if len(tags) > maxTagsPerResource {
		return errorf(awserr.TagLimitExceeded, "The maximum number of tags per resource (%d) has been reached.", maxTagsPerResource)
	}
	for _, t := range tags {
		if k := deref(t.Key); k == "" || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errorf(awserr.InvalidParameterValue, "Tag key '%s' is empty or uses the reserved prefix aws:.", k)
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (s *Sim) interfaceExists(id string) bool {
	for _, n := range s.state.NetworkInterfaces {
		if deref(n.NetworkInterfaceId) == id {
			return true
		}
	}
	for _, res := range s.state.Reservations {
		for _, i := range res.Instances {
			for _, n := range i.NetworkInterfaces {
				if deref(n.NetworkInterfaceId) == id {
					return true
				}
			}
		}
	}
	return false
}

func (s *Sim) target(id string) (ec2types.TrafficMirrorTarget, bool) {
	for _, t := range s.state.TrafficMirrorTargets {
		if deref(t.TrafficMirrorTargetId) == id {
			return t, true
		}
	}
	return ec2types.TrafficMirrorTarget{}, false
}

func (s *Sim) filterExists(id string) bool {
	for _, f := range s.state.TrafficMirrorFilters {
		if deref(f.TrafficMirrorFilterId) == id {
			return true
		}
	}
	return false
}

// instanceTypeOf is the type of the instance an interface is attached to,
// "" when it is attached to none the snapshot knows.
func (s *Sim) instanceTypeOf(eni string) string {
	if eni == "" {
		return ""
	}
	instanceID := ""
	for _, n := range s.state.NetworkInterfaces {
		if deref(n.NetworkInterfaceId) == eni && n.Attachment != nil {
			instanceID = deref(n.Attachment.InstanceId)
		}
	}
	for _, res := range s.state.Reservations {
		for _, i := range res.Instances {
			if deref(i.InstanceId) == instanceID && instanceID != "" {
				return string(i.InstanceType)
			}
			for _, n := range i.NetworkInterfaces {
				if deref(n.NetworkInterfaceId) == eni {
					return string(i.InstanceType)
				}
			}
		}
	}
	return ""
}

// freeVNI picks an unused VXLAN network identifier, as EC2 does when the
// caller gives none.
func (s *Sim) freeVNI() int32 {
	used := map[int32]bool{}
	for _, t := range s.state.TrafficMirrorSessions {
		used[deref(t.VirtualNetworkId)] = true
	}
	for {
		// Int31n draws exactly what Intn does for an int32 bound, so seeded runs repeat as before.
		v := s.rng.Int31n(maxVirtualNetworkID) + 1
		if !used[v] {
			return v
		}
	}
}

// newID makes an EC2-style id: prefix and 17 hex digits.
func (s *Sim) newID(prefix string) string {
	return fmt.Sprintf("%s%x%016x", prefix, s.rng.Intn(16), s.rng.Uint64())
}

func (s *Sim) createTags(r request) (any, *apiError) {
	ids := r.list("ResourceId")
	if len(ids) == 0 {
		return nil, errorf(awserr.MissingParameter, "The request must contain the parameter ResourceId")
	}
	tags := r.tags("Tag")
	if len(tags) == 0 {
		return nil, errorf(awserr.MissingParameter, "The request must contain the parameter Tag")
	}
	if aerr := s.mayTag(r, ids); aerr != nil {
		return nil, aerr
	}
	for _, id := range ids {
		s.tag(id, tags)
	}
	return &ec2.CreateTagsOutput{}, nil
}

// taggable describes, per id prefix, the NotFound code for that resource
// and how to reach its tags in the state.
type taggable struct {
	code, noun string
}

var taggables = map[string]taggable{
	"i-":      {awserr.InvalidInstanceIDNotFound, "instance"},
	"eni-":    {awserr.InvalidNetworkInterfaceNotFound, "network interface"},
	"sg-":     {awserr.InvalidGroupNotFound, "security group"},
	"acl-":    {awserr.InvalidNetworkACLNotFound, "network ACL"},
	"subnet-": {awserr.InvalidSubnetNotFound, "subnet"},
	"tmt-":    {awserr.InvalidTrafficMirrorTargetID, "traffic mirror target"},
	"tmf-":    {awserr.InvalidTrafficMirrorFilterID, "traffic mirror filter"},
	"tms-":    {awserr.InvalidTrafficMirrorSessionID, "traffic mirror session"},
}

// mayTag checks a CreateTags or DeleteTags request before it changes
// anything: every resource exists and takes tags, and DryRun answers
// DryRunOperation as EC2 does once the request would succeed.
func (s *Sim) mayTag(r request, ids []string) *apiError {
	for _, id := range ids {
		if aerr := s.checkTaggable(id); aerr != nil {
			return aerr
		}
	}
	if dry, aerr := r.boolean("DryRun"); aerr != nil {
		return aerr
	} else if dry {
		return errorf(awserr.DryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	}
	return nil
}

func (s *Sim) checkTaggable(id string) *apiError {
	prefix, _, ok := strings.Cut(id, "-")
	t, known := taggables[prefix+"-"]
	if !ok || !known {
		return errorf(awserr.InvalidID, "The ID '%s' is not valid", id)
	}
	if s.tagsOf(id) == nil {
		return notFound(t.code, t.noun, []string{id})
	}
	return nil
}

func (s *Sim) tag(id string, tags []ec2types.Tag) {
	if p := s.tagsOf(id); p != nil {
		*p = setTags(*p, tags)
	}
}

// tagsOf points at the tag list of the resource id, nil when there is none.
func (s *Sim) tagsOf(id string) *[]ec2types.Tag {
	st := s.state
	for ri := range st.Reservations {
		for ii := range st.Reservations[ri].Instances {
			if deref(st.Reservations[ri].Instances[ii].InstanceId) == id {
				return &st.Reservations[ri].Instances[ii].Tags
			}
		}
	}
	for _, tags := range []*[]ec2types.Tag{
		tagsIn(st.NetworkInterfaces, id, func(r *ec2types.NetworkInterface) (*string, *[]ec2types.Tag) { return r.NetworkInterfaceId, &r.TagSet }),
		tagsIn(st.SecurityGroups, id, func(r *ec2types.SecurityGroup) (*string, *[]ec2types.Tag) { return r.GroupId, &r.Tags }),
		tagsIn(st.NetworkAcls, id, func(r *ec2types.NetworkAcl) (*string, *[]ec2types.Tag) { return r.NetworkAclId, &r.Tags }),
		tagsIn(st.Subnets, id, func(r *ec2types.Subnet) (*string, *[]ec2types.Tag) { return r.SubnetId, &r.Tags }),
		tagsIn(st.TrafficMirrorTargets, id, func(r *ec2types.TrafficMirrorTarget) (*string, *[]ec2types.Tag) {
			return r.TrafficMirrorTargetId, &r.Tags
		}),
		tagsIn(st.TrafficMirrorFilters, id, func(r *ec2types.TrafficMirrorFilter) (*string, *[]ec2types.Tag) {
			return r.TrafficMirrorFilterId, &r.Tags
		}),
		tagsIn(st.TrafficMirrorSessions, id, func(r *ec2types.TrafficMirrorSession) (*string, *[]ec2types.Tag) {
			return r.TrafficMirrorSessionId, &r.Tags
		}),
	} {
		if tags != nil {
			return tags
		}
	}
	return nil
}

// tagsIn points at the tag list of the resource of items whose id is id
// (fields gives a resource's id and tag list), nil when none has it.
func tagsIn[T any](items []T, id string, fields func(*T) (*string, *[]ec2types.Tag)) *[]ec2types.Tag {
	for i := range items {
		if rid, tags := fields(&items[i]); deref(rid) == id {
			return tags
		}
	}
	return nil
}

// setTags adds tags to have, replacing the value of a key already there,
// as CreateTags does.
func setTags(have, tags []ec2types.Tag) []ec2types.Tag {
	out := append([]ec2types.Tag(nil), have...)
	for _, t := range tags {
		replaced := false
		for i := range out {
			if deref(out[i].Key) == deref(t.Key) {
				out[i].Value = t.Value
				replaced = true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	if out == nil {
		out = []ec2types.Tag{}
	}
	return out
}

// fingerprint is a canonical form of the named parameters, to compare two
// requests that share a ClientToken (tags included).
func (r request) fingerprint(names []string) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, n+"="+r.str(n))
	}
	for k, v := range r.form {
		if strings.HasPrefix(k, "TagSpecification.") {
			parts = append(parts, k+"="+strings.Join(v, ","))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

func ptr[T any](v T) *T { return &v }
