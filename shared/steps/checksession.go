package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// CheckExistingSession reads the execution input, finds the instance's
// primary interface and ends the placement early when there is nothing to
// do: the interface already has a session to a candidate sensor (exists), it
// is itself a traffic mirror target (skipped), or the instance lacks what a
// mirror source needs (skipped). It calls DescribeInstances for the instance,
// DescribeTrafficMirrorSessions for the interface's sessions and
// DescribeTrafficMirrorTargets once for every target in the account, since
// both the candidate test and the "is a sensor" test need them.
func (h *Handlers) CheckExistingSession(ctx context.Context, start workflow.Start) (workflow.Placement, error) {
	const step = workflow.StepCheckExistingSession
	p := workflow.Placement{ExecutionID: start.ExecutionID, Candidates: []placement.Sensor{}, Steps: []workflow.StepReport{}}
	if err := h.ready(); err != nil {
		return fail(p, workflow.StepReport{}, err)
	}
	id, trigger, err := workflow.ParseInput(start.Input)
	if err != nil {
		return fail(p, workflow.StepReport{}, err)
	}
	p.InstanceID, p.Trigger = id, trigger

	inst, gone, err := h.runningInstance(ctx, id)
	if err != nil {
		return fail(p, workflow.StepReport{Step: step, Note: err.Error()}, err)
	}
	if gone != "" {
		p.Outcome, p.Reason = workflow.OutcomeSkipped, gone
		return report(p, workflow.StepReport{Step: step, Note: "skipped: " + gone}), nil
	}
	src, err := placement.SourceFromInstance(inst)
	if err != nil {
		if errors.Is(err, placement.ErrIncompleteSource) {
			p.Outcome, p.Reason = workflow.OutcomeSkipped, err.Error()
			return report(p, workflow.StepReport{Step: step, Note: "skipped: " + err.Error()}), nil
		}
		ie := &steperr.InvalidInput{Reason: "reading instance " + id, Err: err}
		return fail(p, workflow.StepReport{Step: step}, ie)
	}
	p.Source = &src

	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{
		Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", src.NetworkInterfaceID)},
	})
	if err != nil {
		return fail(p, workflow.StepReport{Step: step}, steperr.FromEC2("describing the traffic mirror sessions of "+src.NetworkInterfaceID, err))
	}
	targets, err := ec2api.TrafficMirrorTargetsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorTargetsInput{})
	if err != nil {
		return fail(p, workflow.StepReport{Step: step}, steperr.FromEC2("describing traffic mirror targets", err))
	}

	isCandidate := h.candidateTest(targets)
	if s, ok := placement.ExistingSession(src.NetworkInterfaceID, sessions, isCandidate); ok {
		p.Outcome = workflow.OutcomeExists
		p.TargetID = aws.ToString(s.TrafficMirrorTargetId)
		p.SessionID = aws.ToString(s.TrafficMirrorSessionId)
		p.Reason = fmt.Sprintf("%s (%s) is already mirrored to sensor %s by session %s (session number %d)",
			id, src.NetworkInterfaceID, p.TargetID, p.SessionID, aws.ToInt32(s.SessionNumber))
		return report(p, workflow.StepReport{Step: step, Kept: []string{p.TargetID}, Note: p.Reason}), nil
	}
	if t, ok := placement.SensorTarget(src.NetworkInterfaceID, targets); ok {
		p.Outcome = workflow.OutcomeSkipped
		p.Reason = fmt.Sprintf("%s (%s) is itself traffic mirror target %s; a sensor is never mirrored",
			id, src.NetworkInterfaceID, aws.ToString(t.TrafficMirrorTargetId))
		return report(p, workflow.StepReport{Step: step, Note: p.Reason}), nil
	}
	return report(p, workflow.StepReport{Step: step, Note: h.sourceNote(src, sessions)}), nil
}

// runningInstance describes the instance. When it is not running, or EC2
// no longer knows it (a terminated instance is InvalidInstanceID.NotFound
// soon after), it returns why in gone: there is no traffic to mirror, which
// is nothing to do rather than a failure. An instance that stops and starts
// again is placed by the event of its next start.
func (h *Handlers) runningInstance(ctx context.Context, id string) (inst ec2types.Instance, gone string, err error) {
	instances, err := ec2api.InstancesAsList(ctx, h.EC2, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	switch {
	case awserr.IsInstanceNotFound(err):
		return inst, fmt.Sprintf("instance %s no longer exists (%s), so there is nothing to mirror", id, awserr.Code(err)), nil
	case err != nil:
		return inst, "", steperr.FromEC2("describing instance "+id, err)
	case len(instances) == 0:
		return inst, fmt.Sprintf("instance %s no longer exists (EC2 described no such instance), so there is nothing to mirror", id), nil
	}
	inst = instances[0]
	if inst.State == nil || inst.State.Name != ec2types.InstanceStateNameRunning {
		state := "in an unknown state"
		if inst.State != nil {
			state = string(inst.State.Name)
		}
		return inst, fmt.Sprintf("instance %s is %s, not running, so there is nothing to mirror; it is placed again when it next starts", id, state), nil
	}
	return inst, "", nil
}

// candidateTest returns whether a target id is a configured sensor, among
// the targets EC2 described: a session to a target that no longer exists
// mirrors nothing and does not count.
func (h *Handlers) candidateTest(targets []ec2types.TrafficMirrorTarget) func(string) bool {
	candidates := map[string]bool{}
	for _, t := range targets {
		if placement.IsCandidate(t, h.Config.TargetIDs, h.Config.SensorTag) {
			candidates[aws.ToString(t.TrafficMirrorTargetId)] = true
		}
	}
	return func(id string) bool { return candidates[id] }
}

// sourceNote says what the step found, and warns when a session the
// workflow does not own already takes the configured session number, since
// CreateSession will then be refused.
func (h *Handlers) sourceNote(src placement.Source, sessions []ec2types.TrafficMirrorSession) string {
	var b strings.Builder
	fmt.Fprintf(&b, "source %s (%s) in %s, subnet %s; no session to a candidate sensor", src.NetworkInterfaceID, src.PrivateIP, src.AvailabilityZone, src.SubnetID)
	if n := len(sessions); n > 0 {
		fmt.Fprintf(&b, "; %d session(s) to other targets left alone", n)
	}
	for _, s := range sessions {
		if aws.ToInt32(s.SessionNumber) == h.Config.SessionNumber {
			fmt.Fprintf(&b, "; session number %d is already taken by %s to %s, so creating a session will fail until SessionNumber is changed",
				h.Config.SessionNumber, aws.ToString(s.TrafficMirrorSessionId), aws.ToString(s.TrafficMirrorTargetId))
		}
	}
	return b.String()
}
