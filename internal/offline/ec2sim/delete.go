package ec2sim

import (
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// deleteTrafficMirrorSession removes one session, as EC2's
// DeleteTrafficMirrorSession does: the id is required and must exist, and
// DryRun answers DryRunOperation once the request is valid. The session's
// source and target then count it no more against their quotas.
func (s *Sim) deleteTrafficMirrorSession(r request) (any, *apiError) {
	if aerr := r.required("TrafficMirrorSessionId"); aerr != nil {
		return nil, aerr
	}
	id := r.str("TrafficMirrorSessionId")
	i := slices.IndexFunc(s.state.TrafficMirrorSessions, func(t ec2types.TrafficMirrorSession) bool { return deref(t.TrafficMirrorSessionId) == id })
	if i < 0 {
		return nil, notFound(awserr.InvalidTrafficMirrorSessionID, "traffic mirror session", []string{id})
	}
	if dry, aerr := r.boolean("DryRun"); aerr != nil {
		return nil, aerr
	} else if dry {
		return nil, errorf(awserr.DryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	}
	s.state.TrafficMirrorSessions = slices.Delete(s.state.TrafficMirrorSessions, i, i+1)
	return &ec2.DeleteTrafficMirrorSessionOutput{TrafficMirrorSessionId: &id}, nil
}

// deleteTags removes tags from resources as EC2's DeleteTags does: ResourceId
// is required and every id must name a resource that exists (InvalidID for
// an id of no known kind, the resource's NotFound code otherwise), and DryRun
// answers DryRunOperation once the request is valid. A Tag.N with a Value
// deletes the key only where its value is exactly that one (the empty string
// included); one without a Value deletes the key whatever its value; no Tag
// at all deletes every tag but those AWS made (the aws: prefix). A tag that
// is not there is no error: the call succeeds and changes nothing.
func (s *Sim) deleteTags(r request) (any, *apiError) {
	ids := r.list("ResourceId")
	if len(ids) == 0 {
		return nil, errorf(awserr.MissingParameter, "The request must contain the parameter ResourceId")
	}
	if aerr := s.mayTag(r, ids); aerr != nil {
		return nil, aerr
	}
	doomed := r.tagsToDelete()
	for _, id := range ids {
		p := s.tagsOf(id)
		*p = slices.DeleteFunc(slices.Clone(*p), func(t ec2types.Tag) bool { return doomed(t) })
	}
	return &ec2.DeleteTagsOutput{}, nil
}

// tagsToDelete reads DeleteTags' Tag.N into the test of whether a tag goes.
// A Value that is absent from the request differs from one that is empty,
// so the form is asked whether the parameter was sent at all.
func (r request) tagsToDelete() func(ec2types.Tag) bool {
	type spec struct {
		key, value string
		anyValue   bool
	}
	var specs []spec
	for _, i := range r.indices("Tag") {
		p := "Tag." + strconv.Itoa(i)
		specs = append(specs, spec{key: r.str(p + ".Key"), value: r.str(p + ".Value"), anyValue: !r.has(p + ".Value")})
	}
	if len(specs) == 0 {
		return func(t ec2types.Tag) bool { return !strings.HasPrefix(strings.ToLower(deref(t.Key)), "aws:") }
	}
	return func(t ec2types.Tag) bool {
		return slices.ContainsFunc(specs, func(s spec) bool {
			return deref(t.Key) == s.key && (s.anyValue || deref(t.Value) == s.value)
		})
	}
}
