package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// Tags CreateSession puts on every session, so a session can be traced to the
// execution that made it and told apart from sessions people made by hand.
const (
	TagName           = "Name"
	TagManagedBy      = "ManagedBy"
	TagExecution      = "mirrorflow:execution"
	TagInstanceID     = "mirrorflow:instance-id"
	ManagedByValue    = "mirrorflow"
	sessionNamePrefix = "mirrorflow-"
)

// TagTrigger and TagRule mark a session CreateSession made for a GuardDuty
// finding (trigger guardduty, under the rule GuardDuty.Rule named), so that
// coverage, the Reconcile and later placements leave it in place.
const (
	TagTrigger = "mirrorflow:trigger"
	TagRule    = "mirrorflow:rule"
)

// PickLeastLoaded drops full sensors and picks one with the fewest
// sessions, preferring the source's zone and spreading ties by free source
// slots (placement.PickLeastLoaded). One DescribeTrafficMirrorSessions with
// a traffic-mirror-target-id filter (one per 200 sensors) reads the load of
// every candidate. The chosen sensor becomes TargetID; the candidates stay,
// so that a re-pick can choose again.
//
// The state machine comes back here when CreateSession found the chosen
// sensor full (SensorFull at $.sensorFull): that sensor joins FullSensors,
// the load is read again and another sensor is picked, at most MaxRePicks
// times. Each pass's report names the sensor found full.
func (h *Handlers) PickLeastLoaded(ctx context.Context, p workflow.Placement) (workflow.Placement, error) {
	const step = workflow.StepPickLeastLoaded
	if decided(p) {
		return p, nil
	}
	if err := h.begin(step, p); err != nil {
		return h.fail(step, p, workflow.StepReport{}, err)
	}
	var again string
	if p.SensorFull != nil {
		h.countRePick(p)
		full := p.TargetID
		if full != "" && !slices.Contains(p.FullSensors, full) {
			p.FullSensors = append(slices.Clip(p.FullSensors), full)
		}
		p.RePicks++
		cause, _ := workflow.ParseCause(p.SensorFull.Cause)
		again = fmt.Sprintf("re-pick %d of at most %d: %s", p.RePicks, workflow.MaxRePicks, cause.ErrorMessage)
		p.SensorFull, p.TargetID = nil, ""
		if p.RePicks > workflow.MaxRePicks {
			err := &steperr.NoReachableSensor{Step: step, InstanceID: p.InstanceID, Detail: fmt.Sprintf(
				"gave up after %d re-picks: each sensor chosen was full by the time CreateSession ran (%s)", workflow.MaxRePicks, strings.Join(p.FullSensors, ", "))}
			return h.fail(step, p, workflow.StepReport{Step: step, Note: again}, err)
		}
	}
	ids := sortedUnique(targetIDs(p.Candidates))
	if len(ids) == 0 {
		return h.filtered(p, step, nil, nil, "")
	}
	sessions, err := ec2api.InChunks(ids, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.TrafficMirrorSession, error) {
		return ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{
			Filters: []ec2types.Filter{ec2api.Filter("traffic-mirror-target-id", chunk...)},
		})
	})
	if err != nil {
		return h.fail(step, p, workflow.StepReport{Step: step, Note: again}, steperr.FromEC2("describing the sensors' traffic mirror sessions", err))
	}
	pick, ok := placement.PickLeastLoaded(*p.Source, p.Candidates, sessions, p.FullSensors)
	note := pick.Note
	if again != "" {
		note = again + "; " + note
	}
	if !ok {
		err := &steperr.NoReachableSensor{Step: step, InstanceID: p.InstanceID, Rejected: pick.Rejected}
		return h.fail(step, p, workflow.StepReport{Step: step, Rejected: newRejections(p, step, pick.Rejected), Note: note}, err)
	}
	p.TargetID = pick.Chosen.TargetID
	return report(p, workflow.StepReport{Step: step, Kept: []string{p.TargetID}, Rejected: newRejections(p, step, pick.Rejected), Note: note}), nil
}

// newRejections leaves out the rejections an earlier pass of step already
// reported with the same reason, so that a re-pick's report says only what
// changed and the payload stays small however often the loop runs.
func newRejections(p workflow.Placement, step string, rejected []placement.Rejection) []placement.Rejection {
	seen := map[placement.Rejection]bool{}
	for _, r := range p.Steps {
		if r.Step == step {
			for _, rej := range r.Rejected {
				seen[rej] = true
			}
		}
	}
	return slices.DeleteFunc(slices.Clone(rejected), func(r placement.Rejection) bool { return seen[r] })
}

// CreateSession creates the traffic mirror session from the source
// interface to the chosen sensor, with the configured filter and session
// number, tagged with the execution. Its ClientToken is derived from the
// execution and the session's parameters, so when Lambda or the state
// machine retries the step after a create that did happen, EC2 returns the
// same session instead of making a second one.
//
// When EC2 refuses the create for a reason a retry cannot change, the step
// first looks again at the source's sessions: another execution may have
// mirrored the same interface meanwhile (typically taking the session
// number), which is the outcome this one wanted, so it reports exists.
// Otherwise a full sensor (TrafficMirrorSourcesPerTargetLimitExceeded) is
// SensorFull, which the state machine routes back to PickLeastLoaded; a
// source interface that is gone (the instance terminated) ends skipped; any
// other refusal is the error.
func (h *Handlers) CreateSession(ctx context.Context, p workflow.Placement) (workflow.Placement, error) {
	const step = workflow.StepCreateSession
	if decided(p) {
		return p, nil
	}
	if err := h.begin(step, p); err != nil {
		return h.fail(step, p, workflow.StepReport{}, err)
	}
	if p.TargetID == "" {
		return h.fail(step, p, workflow.StepReport{}, &steperr.InvalidInput{Reason: step + " needs the targetId that " + workflow.StepPickLeastLoaded + " chooses; the payload has none"})
	}
	deleted, err := h.deleteStale(ctx, p)
	p.DeletedSessions = deleted
	if err != nil {
		return h.fail(step, p, workflow.StepReport{Step: step}, err)
	}
	in := h.createInput(p)
	out, err := h.EC2.CreateTrafficMirrorSession(ctx, in)
	switch {
	case err == nil:
		s := out.TrafficMirrorSession
		if s == nil {
			return h.fail(step, p, workflow.StepReport{Step: step}, &steperr.EC2Unavailable{Op: "creating traffic mirror session", Err: fmt.Errorf("reading the answer: EC2 returned no session")})
		}
		p.Outcome = workflow.OutcomeCreated
		p.SessionID = aws.ToString(s.TrafficMirrorSessionId)
		p.Reason = fmt.Sprintf("created session %s from %s to %s (session number %d, filter %s, VNI %d)",
			p.SessionID, p.Source.NetworkInterfaceID, p.TargetID, aws.ToInt32(s.SessionNumber), aws.ToString(s.TrafficMirrorFilterId), aws.ToInt32(s.VirtualNetworkId))
		if len(deleted) > 0 {
			p.Reason += fmt.Sprintf("; deleted stale session(s) %s first", strings.Join(deleted, ", "))
		}
		h.countOutcome(step, p.Outcome, propsOf(p))
		return report(p, workflow.StepReport{Step: step, Kept: []string{p.TargetID}, Note: p.Reason}), nil
	case h.DryRun && awserr.IsDryRunOK(err):
		p.Outcome = workflow.OutcomeCreated
		p.Reason = fmt.Sprintf("dry run: EC2 would create a session from %s to %s (session number %d, filter %s)",
			p.Source.NetworkInterfaceID, p.TargetID, p.Scope.SessionNumber, p.Scope.FilterID)
		if len(deleted) > 0 {
			p.Reason += fmt.Sprintf(", after deleting stale session(s) %s", strings.Join(deleted, ", "))
		}
		return report(p, workflow.StepReport{Step: step, Kept: []string{p.TargetID}, Note: p.Reason}), nil
	}

	createErr := steperr.FromEC2("creating traffic mirror session from "+p.Source.NetworkInterfaceID+" to "+p.TargetID, err)
	// Only a terminal refusal is re-checked; a throttled or unavailable create is the state machine's to retry.
	var rejected *steperr.EC2Rejected
	if !errors.As(createErr, &rejected) || h.DryRun {
		return h.fail(step, p, workflow.StepReport{Step: step}, createErr)
	}
	if rejected.Code == awserr.InvalidNetworkInterfaceNotFound {
		// The request names one interface, the source: it is gone with its instance.
		p.Outcome = workflow.OutcomeSkipped
		p.Reason = fmt.Sprintf("source interface %s of %s no longer exists (%s): the instance was terminated while it was being placed, so there is nothing to mirror",
			p.Source.NetworkInterfaceID, p.InstanceID, rejected.Code)
		h.countOutcome(step, p.Outcome, propsOf(p))
		return report(p, workflow.StepReport{Step: step, Note: p.Reason}), nil
	}
	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{
		Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", p.Source.NetworkInterfaceID)},
	})
	if err != nil {
		// The create's refusal is the news; say the re-check failed too.
		return h.fail(step, p, workflow.StepReport{Step: step, Note: "re-checking the source's sessions failed: " + err.Error()}, createErr)
	}
	candidates := candidateIDs(p)
	if s, ok := placement.ExistingSession(p.Source.NetworkInterfaceID, sessions, func(id string) bool { return candidates[id] }); ok {
		p.Outcome = workflow.OutcomeExists
		p.TargetID = aws.ToString(s.TrafficMirrorTargetId)
		p.SessionID = aws.ToString(s.TrafficMirrorSessionId)
		p.Reason = fmt.Sprintf("%s was mirrored to sensor %s by session %s while this execution ran (EC2 refused a second session: %s)",
			p.Source.NetworkInterfaceID, p.TargetID, p.SessionID, awserr.Code(createErr))
		h.countOutcome(step, p.Outcome, propsOf(p))
		return report(p, workflow.StepReport{Step: step, Kept: []string{p.TargetID}, Note: p.Reason}), nil
	}
	if rejected.Code == awserr.TrafficMirrorSourcesPerTarget {
		full := &steperr.SensorFull{TargetID: p.TargetID, SourceENI: p.Source.NetworkInterfaceID, Err: rejected.Err}
		return h.fail(step, p, workflow.StepReport{Step: step, Rejected: []placement.Rejection{{TargetID: p.TargetID, Reason: "full at create: " + awserr.Code(err)}},
			Note: "the sensor filled up after it was picked; picking another"}, full)
	}
	return h.fail(step, p, workflow.StepReport{Step: step, Note: fmt.Sprintf("EC2 refused the session and none of the %d session(s) of %s goes to a candidate sensor", len(sessions), p.Source.NetworkInterfaceID)}, createErr)
}

// deleteStale deletes the source's stale sessions just before the new one
// is created (rule 6): mirrorflow's own sessions from this interface to a
// target that is no longer a candidate able to take traffic, which
// GatherCandidates tells by keeping only the live, non-draining candidates
// of the interface's rule. Deleting them frees their session number and
// their place among the interface's 3 sessions. Sessions made by others are
// never touched (the role may delete only sessions tagged ManagedBy). A
// source that had no session when CheckExistingSession looked has none to
// delete: only mirrorflow makes its sessions, and only to usable candidates.
// In a dry run it deletes nothing and returns those it would delete.
func (h *Handlers) deleteStale(ctx context.Context, p workflow.Placement) ([]string, error) {
	if p.SourceSessions == 0 {
		return nil, nil
	}
	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{
		Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", p.Source.NetworkInterfaceID)},
	})
	if err != nil {
		return nil, steperr.FromEC2("describing the sessions of "+p.Source.NetworkInterfaceID, err)
	}
	usable := usableCandidates(p)
	stale, _, _ := placement.RoomOnSource(p.Source.NetworkInterfaceID, sessions, p.Scope.SessionNumber, func(id string) bool { return usable[id] }, managedByMirrorflow)
	var deleted []string
	for _, s := range stale {
		id := aws.ToString(s.TrafficMirrorSessionId)
		if h.DryRun {
			deleted = append(deleted, id)
			continue
		}
		_, err := h.EC2.DeleteTrafficMirrorSession(ctx, &ec2.DeleteTrafficMirrorSessionInput{TrafficMirrorSessionId: aws.String(id)})
		if err != nil && awserr.Code(err) != awserr.InvalidTrafficMirrorSessionID { // gone already is what was wanted
			return deleted, steperr.FromEC2("deleting stale session "+id+" of "+p.Source.NetworkInterfaceID, err)
		}
		deleted = append(deleted, id)
	}
	return deleted, nil
}

// usableCandidates are the sensors GatherCandidates kept for this
// placement: the candidates of its rule that can still take traffic.
func usableCandidates(p workflow.Placement) map[string]bool {
	ids := map[string]bool{}
	for _, r := range p.Steps {
		if r.Step == workflow.StepGatherCandidates {
			for _, id := range r.Kept {
				ids[id] = true
			}
		}
	}
	return ids
}

// candidateIDs are the candidate sensors of this placement: every target
// GatherCandidates listed, kept or rejected, plus the chosen one. The payload
// carries them so CreateSession needs no DescribeTrafficMirrorTargets of its own.
func candidateIDs(p workflow.Placement) map[string]bool {
	ids := map[string]bool{p.TargetID: true}
	for _, r := range p.Steps {
		if r.Step != workflow.StepGatherCandidates {
			continue
		}
		for _, id := range r.Kept {
			ids[id] = true
		}
		for _, rej := range r.Rejected {
			ids[rej.TargetID] = true
		}
	}
	return ids
}

func (h *Handlers) createInput(p workflow.Placement) *ec2.CreateTrafficMirrorSessionInput {
	tags := []ec2types.Tag{
		{Key: aws.String(TagName), Value: aws.String(sessionNamePrefix + p.InstanceID)},
		{Key: aws.String(TagManagedBy), Value: aws.String(ManagedByValue)},
		{Key: aws.String(TagInstanceID), Value: aws.String(p.InstanceID)},
	}
	if p.ExecutionID != "" {
		tags = append(tags, ec2types.Tag{Key: aws.String(TagExecution), Value: aws.String(p.ExecutionID)})
	}
	if p.Trigger == workflow.TriggerGuardDuty && p.Scope.Rule != "" {
		tags = append(tags,
			ec2types.Tag{Key: aws.String(TagTrigger), Value: aws.String(workflow.TriggerGuardDuty)},
			ec2types.Tag{Key: aws.String(TagRule), Value: aws.String(p.Scope.Rule)})
	}
	in := &ec2.CreateTrafficMirrorSessionInput{
		NetworkInterfaceId:    aws.String(p.Source.NetworkInterfaceID),
		TrafficMirrorTargetId: aws.String(p.TargetID),
		TrafficMirrorFilterId: aws.String(p.Scope.FilterID),
		SessionNumber:         aws.Int32(p.Scope.SessionNumber),
		ClientToken:           aws.String(ClientToken(p.ExecutionID, p.Source.NetworkInterfaceID, p.TargetID, p.Scope.FilterID, p.Scope.SessionNumber)),
		Description:           aws.String("mirrorflow placement of " + p.InstanceID),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeTrafficMirrorSession,
			Tags:         tags,
		}},
	}
	if h.DryRun {
		in.DryRun = aws.Bool(true)
	}
	return in
}

// ClientToken is the idempotency token of the session an execution creates:
// a SHA-256 of everything that identifies the request, as 64 hex digits
// (EC2 accepts up to 64 ASCII characters). The same execution retrying the
// same create gets the same token; anything that changes the session
// changes it.
func ClientToken(executionID, sourceENI, targetID, filterID string, sessionNumber int32) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		executionID, sourceENI, targetID, filterID, strconv.Itoa(int(sessionNumber)),
	}, "\x00")))
	return hex.EncodeToString(sum[:])
}
