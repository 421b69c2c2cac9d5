package ec2sim

import (
	"slices"

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
