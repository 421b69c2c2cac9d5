package ec2fake

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/placement"
)

// Limits from "Traffic Mirroring quotas" in the VPC Traffic Mirroring guide.
const (
	maxSessionsPerInterface = 3
	maxClientTokenLength    = 64
	maxTagsPerResource      = 50
)

// CreateTrafficMirrorSession implements ec2api.API. It validates what EC2
// validates (required parameters, that the interface, target and filter
// exist, session-number uniqueness per source interface, the sessions per
// interface and sources per target quotas, tag specifications), honours
// DryRun, and makes ClientToken idempotent: the same token with the same
// parameters returns the session the first call created, with other
// parameters it fails with IdempotentParameterMismatch.
//
// EC2 does not document the code it answers when the source interface
// already has a session with the requested number; the fake answers
// InvalidParameterValue, and callers must not depend on the code.
func (f *EC2) CreateTrafficMirrorSession(ctx context.Context, in *ec2.CreateTrafficMirrorSessionInput, _ ...func(*ec2.Options)) (*ec2.CreateTrafficMirrorSessionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		in = &ec2.CreateTrafficMirrorSessionInput{}
	}
	if err := f.begin(ctx, CreateTrafficMirrorSession, in, in.DryRun); err != nil {
		return nil, err
	}
	if err := checkCreateParams(in); err != nil {
		return nil, err
	}
	eniID, targetID, filterID, number := deref(in.NetworkInterfaceId), deref(in.TrafficMirrorTargetId), deref(in.TrafficMirrorFilterId), deref(in.SessionNumber)
	token := deref(in.ClientToken)
	fp := fingerprint(in)
	if prev, ok := f.tokens[token]; ok && token != "" && !deref(in.DryRun) {
		if prev.fingerprint != fp {
			return nil, apiError(CodeIdempotentParameterMismatch, "The client token '%s' was already used with different parameters", token)
		}
		if s, ok := f.sessions[prev.sessionID]; ok {
			return &ec2.CreateTrafficMirrorSessionOutput{ClientToken: &token, TrafficMirrorSession: &s}, nil
		}
	}
	if _, ok := f.interfaces[eniID]; !ok {
		return nil, apiError(CodeNetworkInterfaceNotFound, "The networkInterface ID '%s' does not exist", eniID)
	}
	target, ok := f.targets[targetID]
	if !ok {
		return nil, apiError(CodeTrafficMirrorTargetNotFound, "The traffic mirror target '%s' does not exist", targetID)
	}
	if _, ok := f.filters[filterID]; !ok {
		return nil, apiError(CodeTrafficMirrorFilterNotFound, "The traffic mirror filter '%s' does not exist", filterID)
	}
	if err := f.checkQuotas(eniID, target, number); err != nil {
		return nil, err
	}
	if deref(in.DryRun) {
		return nil, apiError(CodeDryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	}

	vni := in.VirtualNetworkId
	if vni == nil {
		v := f.unusedVNI()
		vni = &v
	}
	id := f.newSessionID()
	owner := f.OwnerID
	s := ec2types.TrafficMirrorSession{
		TrafficMirrorSessionId: &id,
		TrafficMirrorTargetId:  &targetID,
		TrafficMirrorFilterId:  &filterID,
		NetworkInterfaceId:     &eniID,
		OwnerId:                &owner,
		SessionNumber:          &number,
		VirtualNetworkId:       vni,
		PacketLength:           in.PacketLength,
		Description:            in.Description,
		Tags:                   sessionTags(in.TagSpecifications),
	}
	f.sessions[id] = s
	if token != "" {
		f.tokens[token] = clientToken{fingerprint: fp, sessionID: id}
	}
	return &ec2.CreateTrafficMirrorSessionOutput{ClientToken: in.ClientToken, TrafficMirrorSession: &s}, nil
}

func checkCreateParams(in *ec2.CreateTrafficMirrorSessionInput) error {
	for name, v := range map[string]*string{
		"NetworkInterfaceId":    in.NetworkInterfaceId,
		"TrafficMirrorTargetId": in.TrafficMirrorTargetId,
		"TrafficMirrorFilterId": in.TrafficMirrorFilterId,
	} {
		if deref(v) == "" {
			return apiError(CodeMissingParameter, "The request must contain the parameter %s", name)
		}
	}
	if in.SessionNumber == nil {
		return apiError(CodeMissingParameter, "The request must contain the parameter SessionNumber")
	}
	if n := *in.SessionNumber; n < 1 || n > 32766 {
		return apiError(CodeInvalidParameterValue, "Value (%d) for parameter SessionNumber is invalid. Expecting a value between 1 and 32766.", n)
	}
	if tok := deref(in.ClientToken); len(tok) > maxClientTokenLength || !isASCII(tok) {
		return apiError(CodeInvalidParameterValue, "The client token must be at most %d ASCII characters", maxClientTokenLength)
	}
	for _, spec := range in.TagSpecifications {
		if spec.ResourceType != ec2types.ResourceTypeTrafficMirrorSession {
			return apiError(CodeInvalidParameterValue, "'%s' is not a valid taggable resource type for this operation.", spec.ResourceType)
		}
		if len(spec.Tags) > maxTagsPerResource {
			return apiError("TagLimitExceeded", "The maximum number of tags per resource is %d", maxTagsPerResource)
		}
		for _, t := range spec.Tags {
			if k := deref(t.Key); k == "" || strings.HasPrefix(strings.ToLower(k), "aws:") {
				return apiError(CodeInvalidParameterValue, "Tag key '%s' is empty or uses the reserved aws: prefix", k)
			}
		}
	}
	return nil
}

// checkQuotas applies the per-interface rules: a session number is used at
// most once per source interface, an interface is the source of at most
// three sessions, and an interface target accepts a limited number of
// distinct source interfaces (placement.MaxSources, by the sensor's
// instance type).
func (f *EC2) checkQuotas(eniID string, target ec2types.TrafficMirrorTarget, number int32) error {
	perSource := 0
	sources := map[string]bool{}
	for _, s := range f.sessions {
		if deref(s.NetworkInterfaceId) == eniID {
			perSource++
			if deref(s.SessionNumber) == number {
				return apiError(CodeInvalidParameterValue, "The session number %d is already in use by network interface %s (session %s)", number, eniID, deref(s.TrafficMirrorSessionId))
			}
		}
		if deref(s.TrafficMirrorTargetId) == deref(target.TrafficMirrorTargetId) {
			sources[deref(s.NetworkInterfaceId)] = true
		}
	}
	if perSource >= maxSessionsPerInterface {
		return apiError(CodeSessionsPerSourceLimitExceed, "Network interface %s already has %d traffic mirror sessions", eniID, perSource)
	}
	limit := placement.MaxSources(string(target.Type), f.instanceTypeBehind(deref(target.NetworkInterfaceId)))
	if limit > 0 && !sources[eniID] && len(sources) >= limit {
		return apiError(CodeSourcesPerTargetLimitExceeded, "Traffic mirror target %s already has %d sources", deref(target.TrafficMirrorTargetId), len(sources))
	}
	return nil
}

// instanceTypeBehind is the instance type of the instance an interface is attached to, or "".
func (f *EC2) instanceTypeBehind(eniID string) string {
	eni, ok := f.interfaces[eniID]
	if !ok || eni.Attachment == nil {
		return ""
	}
	inst, ok := f.instances[deref(eni.Attachment.InstanceId)]
	if !ok {
		return ""
	}
	return string(inst.InstanceType)
}

func (f *EC2) unusedVNI() int32 {
	used := map[int32]bool{}
	for _, s := range f.sessions {
		used[deref(s.VirtualNetworkId)] = true
	}
	v := int32(1)
	for used[v] {
		v++
	}
	return v
}

func (f *EC2) newSessionID() string {
	for {
		f.nextID++
		id := fmt.Sprintf("tms-%017x", f.nextID)
		if _, taken := f.sessions[id]; !taken {
			return id
		}
	}
}

func sessionTags(specs []ec2types.TagSpecification) []ec2types.Tag {
	var out []ec2types.Tag
	for _, s := range specs {
		out = append(out, s.Tags...)
	}
	return out
}

// fingerprint is what a ClientToken promises stays the same between retries.
func fingerprint(in *ec2.CreateTrafficMirrorSessionInput) string {
	tags := make([]string, 0)
	for _, t := range sessionTags(in.TagSpecifications) {
		tags = append(tags, deref(t.Key)+"="+deref(t.Value))
	}
	slices.Sort(tags)
	return fmt.Sprintf("%s|%s|%s|%d|%v|%v|%s|%s",
		deref(in.NetworkInterfaceId), deref(in.TrafficMirrorTargetId), deref(in.TrafficMirrorFilterId),
		deref(in.SessionNumber), deref(in.VirtualNetworkId), deref(in.PacketLength), deref(in.Description),
		strings.Join(tags, ","))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
