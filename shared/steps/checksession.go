package steps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// CheckExistingSession reads the execution input, finds the instance's
// source interfaces (the primary one, or every one with Interfaces "all")
// and decides, before any candidate work, which of them need a session, in
// the order of the snapshot format's rules: an instance that is gone, a
// sensor (any of its interfaces is a target) or opted out (ExcludeTag) has
// nothing to mirror; an interface no rule matches is out of scope; one
// whose instance type cannot be a source or whose subnet is IPv6-only is
// skipped; one with a session to a live, non-draining candidate of its rule
// exists; one that holds 3 sessions, or whose rule's session number is
// taken, not counting its stale mirrorflow sessions, fails with
// NoRoomOnSource. The rest go on to the candidate steps.
//
// It calls DescribeInstances for the instance, DescribeTrafficMirrorTargets
// once for every target in the account (the sensor test and the candidate
// test need them), DescribeSubnets for the sources' subnets and
// DescribeTrafficMirrorSessions for their sessions; only when an interface
// already has sessions does it ask whether their targets' interfaces, load
// balancers or endpoints still exist.
func (h *Handlers) CheckExistingSession(ctx context.Context, start workflow.Start) (workflow.Instance, error) {
	const step = workflow.StepCheckExistingSession
	out := workflow.Instance{ExecutionID: start.ExecutionID, Interfaces: []workflow.Placement{}, Steps: []workflow.StepReport{}}
	// An instance failed or skipped as a whole counts as one placement:
	// its interfaces are not known, or not read.
	failed := func(r workflow.StepReport, err error) (workflow.Instance, error) {
		if r.Step != "" {
			out.Steps = append(out.Steps, r)
		}
		out.Outcome, out.Reason = workflow.OutcomeFailed, err.Error()
		h.countFailure(step, workflow.Placement{ExecutionID: out.ExecutionID, InstanceID: out.InstanceID}, err)
		return out, err
	}
	skipped := func(reason string) (workflow.Instance, error) {
		out.Outcome, out.Reason = workflow.OutcomeSkipped, reason
		out.Steps = append(out.Steps, workflow.StepReport{Step: step, Note: reason})
		h.countOutcome(step, workflow.OutcomeSkipped, placementProps(out.ExecutionID, out.InstanceID, ""))
		return out, nil
	}
	if err := h.ready(); err != nil {
		return failed(workflow.StepReport{}, err)
	}
	id, trigger, err := workflow.ParseInput(start.Input)
	if err != nil {
		return failed(workflow.StepReport{}, err)
	}
	out.InstanceID, out.Trigger = id, trigger
	// A GuardDuty finding decides every interface under GuardDuty.Rule,
	// whatever rule would match it; the sensor and opt-out rules still hold.
	var forced *config.Scope
	if trigger == workflow.TriggerGuardDuty {
		s, ok := h.Config.GuardDutyScope()
		if !ok {
			return skipped(fmt.Sprintf("a GuardDuty finding about %s started this placement, but GuardDuty is not enabled in the configuration, so findings place nothing", id))
		}
		forced = &s
	}

	inst, gone, err := h.runningInstance(ctx, id)
	if err != nil {
		return failed(workflow.StepReport{Step: step, Note: err.Error()}, err)
	}
	if gone != "" {
		return skipped(gone)
	}
	targets, err := ec2api.TrafficMirrorTargetsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorTargetsInput{})
	if err != nil {
		return failed(workflow.StepReport{Step: step}, steperr.FromEC2("describing traffic mirror targets", err))
	}
	if reason, skip := h.instanceSkip(inst, targets); skip {
		return skipped(reason)
	}
	subnets, err := h.subnetsOf(ctx, inst)
	if err != nil {
		return failed(workflow.StepReport{Step: step}, err)
	}
	sources, incomplete, none, err := h.sourcesOf(inst, subnets, forced)
	if err != nil {
		return failed(workflow.StepReport{Step: step}, err)
	}
	if none != "" {
		return skipped(none)
	}

	var enis []string
	for _, src := range sources {
		enis = append(enis, src.NetworkInterfaceID)
	}
	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{
		Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", enis...)},
	})
	if err != nil {
		return failed(workflow.StepReport{Step: step}, steperr.FromEC2("describing the traffic mirror sessions of "+strings.Join(enis, ", "), err))
	}
	live, err := h.liveTargets(ctx, targets, sessions)
	if err != nil {
		return failed(workflow.StepReport{Step: step}, err)
	}
	out.Interfaces = h.decideSources(inst, sources, incomplete, subnets, targets, sessions, live, forced)
	for i, p := range out.Interfaces {
		out.Interfaces[i].ExecutionID, out.Interfaces[i].Trigger = out.ExecutionID, out.Trigger
		if decided(p) {
			h.countOutcome(step, p.Outcome, propsOf(out.Interfaces[i]))
		}
	}
	out.Steps = append(out.Steps, workflow.StepReport{Step: step, Note: instanceNote(out)})
	return out, nil
}

// instanceSkip applies rules 1 and 2 to the whole instance: a sensor (any
// of its interfaces is a traffic mirror target) is never mirrored, and an
// instance carrying ExcludeTag is opted out. It returns the reason when one
// of them holds.
func (h *Handlers) instanceSkip(inst ec2types.Instance, targets []ec2types.TrafficMirrorTarget) (string, bool) {
	id := aws.ToString(inst.InstanceId)
	if target, ok := placement.SensorInstance(inst, targets); ok {
		return fmt.Sprintf("%s is a sensor (one of its interfaces is traffic mirror target %s); a sensor is never mirrored", id, target), true
	}
	if h.Config.OptedOut(configTags(inst.Tags)) {
		return fmt.Sprintf("%s is opted out: it carries %s=%s", id, h.Config.ExcludeTag.Key, h.Config.ExcludeTag.Value), true
	}
	return "", false
}

// sourcesOf finds the instance's source interfaces as Interfaces says,
// and the placements of those that lack what a source needs, each skipped
// with its reason (with Interfaces "all", the others are placed still).
// When there is no source at all, none says why. An instance EC2 described
// in a shape no source can be read from is *steperr.InvalidInput.
func (h *Handlers) sourcesOf(inst ec2types.Instance, subnets map[string]ec2types.Subnet, forced *config.Scope) (sources []placement.Source, incomplete []workflow.Placement, none string, err error) {
	sources, err = placement.SourcesOf(inst, h.Config.Interfaces == config.InterfacesAll)
	if err != nil && !errors.Is(err, placement.ErrIncompleteSource) {
		return nil, nil, "", &steperr.InvalidInput{Reason: "reading instance " + aws.ToString(inst.InstanceId), Err: err}
	}
	incomplete = h.incompleteSources(inst, subnets, err, forced)
	if len(sources) > 0 {
		return sources, incomplete, "", nil
	}
	reasons := make([]string, 0, len(incomplete))
	for _, p := range incomplete {
		reasons = append(reasons, p.Reason)
	}
	if len(reasons) == 0 && err != nil {
		reasons = append(reasons, err.Error())
	}
	return nil, incomplete, strings.Join(reasons, "; "), nil
}

// decideSources decides every source interface of inst (rules 3-6) from
// what EC2 said of its subnets, the account's targets, the interfaces'
// sessions and which targets still point at something, and adds the
// incomplete interfaces' placements, in device order. forced, when not
// nil, is the scope a GuardDuty finding decides every interface under.
func (h *Handlers) decideSources(inst ec2types.Instance, sources []placement.Source, incomplete []workflow.Placement, subnets map[string]ec2types.Subnet,
	targets []ec2types.TrafficMirrorTarget, sessions []ec2types.TrafficMirrorSession, live map[string]bool, forced *config.Scope) []workflow.Placement {
	out := make([]workflow.Placement, 0, len(sources)+len(incomplete))
	for _, src := range sources {
		out = append(out, h.decideSource(inst, src, subnets, targets, sessions, live, forced))
	}
	out = append(out, incomplete...)
	inDeviceOrder(inst, out)
	return out
}

// decideSource is CheckExistingSession's decision for one source interface:
// its scope, and the outcome of the rules that need no candidate work.
// Outside a GuardDuty finding's placement, an interface that a session made
// for a finding still mirrors (see mirroredForFinding) is mirrored, in scope
// or not, so that no later placement undoes what the finding's did.
func (h *Handlers) decideSource(inst ec2types.Instance, src placement.Source, subnets map[string]ec2types.Subnet,
	targets []ec2types.TrafficMirrorTarget, sessions []ec2types.TrafficMirrorSession, live map[string]bool, forced *config.Scope) workflow.Placement {
	const step = workflow.StepCheckExistingSession
	p := workflow.Placement{InstanceID: src.InstanceID, Source: &src, Candidates: []placement.Sensor{}, Steps: []workflow.StepReport{}}
	decide := func(o workflow.Outcome, reason string) workflow.Placement {
		p.Outcome, p.Reason = o, reason
		return report(p, workflow.StepReport{Step: step, Note: reason})
	}
	mine := slices.DeleteFunc(slices.Clone(sessions), func(s ec2types.TrafficMirrorSession) bool {
		return aws.ToString(s.NetworkInterfaceId) != src.NetworkInterfaceID
	})
	// Rule 3: the first matching rule decides; none is out of scope. A
	// GuardDuty finding's placement decides under the finding's rule.
	scope, ok := h.scopeOf(forced, inst, src.SubnetID, src.VPCID)
	if !ok {
		if forced == nil {
			if found, mirrored := h.mirroredForFinding(p, src, mine, targets, live); mirrored {
				return found
			}
		}
		return decide(workflow.OutcomeSkipped, outOfScope(src))
	}
	p.Scope = &scope
	// Rule 4: a source EC2 can mirror.
	subnet, known := subnets[src.SubnetID]
	if reason, skip := placement.Ineligible(src, subnet, known); skip {
		return decide(workflow.OutcomeSkipped, reason)
	}
	// Rule 5: already mirrored to a live, non-draining candidate of its rule.
	p.SourceSessions = len(mine)
	candidate := candidateTest(scope, targets, live)
	if s, ok := placement.ExistingSession(src.NetworkInterfaceID, mine, candidate); ok {
		p.TargetID, p.SessionID = aws.ToString(s.TrafficMirrorTargetId), aws.ToString(s.TrafficMirrorSessionId)
		reason := fmt.Sprintf("%s (%s) is already mirrored to sensor %s by session %s (session number %d)",
			src.InstanceID, src.NetworkInterfaceID, p.TargetID, p.SessionID, aws.ToInt32(s.SessionNumber))
		p.Outcome, p.Reason = workflow.OutcomeExists, reason
		return report(p, workflow.StepReport{Step: step, Kept: []string{p.TargetID}, Note: reason})
	}
	if forced == nil {
		if found, mirrored := h.mirroredForFinding(p, src, mine, targets, live); mirrored {
			return found
		}
	}
	// Rule 6: room for one more session, once its stale ones are deleted.
	stale, reason, ok := placement.RoomOnSource(src.NetworkInterfaceID, mine, scope.SessionNumber, candidate, managedByMirrorflow)
	if !ok {
		p.Error = workflow.ErrorNoRoomOnSource
		return decide(workflow.OutcomeFailed, reason)
	}
	note := fmt.Sprintf("source %s (%s) in %s, subnet %s%s; no session to a candidate sensor",
		src.NetworkInterfaceID, src.PrivateIP, src.AvailabilityZone, src.SubnetID, ruleOf(scope))
	if forced != nil {
		note += "; a GuardDuty finding places it under rule " + forced.Rule + ", whatever its usual scope"
	}
	if len(stale) > 0 {
		ids := make([]string, 0, len(stale))
		for _, s := range stale {
			ids = append(ids, aws.ToString(s.TrafficMirrorSessionId)+" to "+aws.ToString(s.TrafficMirrorTargetId))
		}
		note += fmt.Sprintf("; stale mirrorflow session(s) %s are deleted before the new one is created", strings.Join(ids, ", "))
	}
	return report(p, workflow.StepReport{Step: step, Note: note})
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

// subnetsOf describes the subnets of the instances' interfaces, by filter
// (one call per ec2api.MaxFilterValues subnets) so that a subnet gone
// meanwhile is missing from the answer rather than failing the call: rule
// 4 reads whether each is IPv6-only.
func (h *Handlers) subnetsOf(ctx context.Context, instances ...ec2types.Instance) (map[string]ec2types.Subnet, error) {
	var ids []string
	for _, inst := range instances {
		ids = append(ids, aws.ToString(inst.SubnetId))
		for _, ni := range inst.NetworkInterfaces {
			ids = append(ids, aws.ToString(ni.SubnetId))
		}
	}
	out := map[string]ec2types.Subnet{}
	if ids = sortedUnique(ids); len(ids) == 0 {
		return out, nil
	}
	subnets, err := ec2api.InChunks(ids, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.Subnet, error) {
		return ec2api.SubnetsAsList(ctx, h.EC2, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{ec2api.Filter("subnet-id", chunk...)}})
	})
	if err != nil {
		return nil, steperr.FromEC2("describing the subnets of "+instanceIDs(instances), err)
	}
	for _, s := range subnets {
		out[aws.ToString(s.SubnetId)] = s
	}
	return out, nil
}

// instanceIDs names instances for a message: the id of one, or how many.
func instanceIDs(instances []ec2types.Instance) string {
	if len(instances) == 1 {
		return aws.ToString(instances[0].InstanceId)
	}
	return fmt.Sprintf("%d instances", len(instances))
}

// incompleteSources are the interfaces placement.SourcesOf could not make
// a source of (no IPv4 address, no subnet...), each decided in the order of
// the rules: out of scope when no rule matches it (rule 3), else skipped
// with its rule and the IPv6-only reason when its subnet is IPv6-only (rule
// 4: such an interface has no IPv4 address to mirror from), else with what
// it lacks.
func (h *Handlers) incompleteSources(inst ec2types.Instance, subnets map[string]ec2types.Subnet, err error, forced *config.Scope) []workflow.Placement {
	var out []workflow.Placement
	var each []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // SourcesOf joins one InterfaceError per interface; each is read in turn.
		each = joined.Unwrap()
	} else if err != nil {
		each = []error{err}
	}
	for _, e := range each {
		var ie *placement.InterfaceError
		if !errors.As(e, &ie) {
			// The primary interface, as SourceFromInstance reports it.
			ie = &placement.InterfaceError{InstanceID: aws.ToString(inst.InstanceId), Err: e}
			for _, ni := range inst.NetworkInterfaces {
				if ni.Attachment != nil && aws.ToInt32(ni.Attachment.DeviceIndex) == 0 {
					ie.NetworkInterfaceID = aws.ToString(ni.NetworkInterfaceId)
				}
			}
		}
		src := placement.Source{InstanceID: ie.InstanceID, NetworkInterfaceID: ie.NetworkInterfaceID, InstanceType: string(inst.InstanceType)}
		for _, ni := range inst.NetworkInterfaces {
			if aws.ToString(ni.NetworkInterfaceId) == ie.NetworkInterfaceID {
				src.SubnetID, src.VPCID = aws.ToString(ni.SubnetId), aws.ToString(ni.VpcId)
			}
		}
		p := workflow.Placement{InstanceID: src.InstanceID, Source: &src, Outcome: workflow.OutcomeSkipped, Candidates: []placement.Sensor{}}
		scope, inScope := h.scopeOf(forced, inst, src.SubnetID, src.VPCID)
		switch {
		case !inScope:
			p.Reason = outOfScope(src)
		default:
			p.Scope, p.Reason = &scope, ie.Error()
			if subnet, ok := subnets[src.SubnetID]; ok {
				if why, skip := placement.Ineligible(src, subnet, true); skip {
					p.Reason = why
				}
			}
		}
		p.Steps = []workflow.StepReport{{Step: workflow.StepCheckExistingSession, Note: p.Reason}}
		out = append(out, p)
	}
	return out
}

// scopeOf is rule 3 for one interface of inst: forced, when a GuardDuty
// finding started the placement, else the first rule that matches.
func (h *Handlers) scopeOf(forced *config.Scope, inst ec2types.Instance, subnetID, vpcID string) (config.Scope, bool) {
	if forced != nil {
		return *forced, true
	}
	return h.Config.ScopeOf(configTags(inst.Tags), subnetID, vpcID)
}

// mirroredForFinding decides the interface exists when one of its sessions
// (mine) was made for a GuardDuty finding under the rule GuardDuty.Rule
// names today (tagged so by CreateSession) and goes to a live, non-draining
// candidate of that rule: the interface stays mirrored as the finding's
// placement left it, even outside that rule's usual scope. With GuardDuty
// disabled or pointed at another rule, such a session is no longer
// recognised, and is stale like any other mirrorflow session that should
// not be there.
func (h *Handlers) mirroredForFinding(p workflow.Placement, src placement.Source, mine []ec2types.TrafficMirrorSession,
	targets []ec2types.TrafficMirrorTarget, live map[string]bool) (workflow.Placement, bool) {
	gd, ok := h.Config.GuardDutyScope()
	if !ok {
		return p, false
	}
	made := slices.DeleteFunc(slices.Clone(mine), func(s ec2types.TrafficMirrorSession) bool { return !madeForFinding(s, gd.Rule) })
	s, ok := placement.ExistingSession(src.NetworkInterfaceID, made, candidateTest(gd, targets, live))
	if !ok {
		return p, false
	}
	p.Scope, p.SourceSessions = &gd, len(mine)
	p.TargetID, p.SessionID = aws.ToString(s.TrafficMirrorTargetId), aws.ToString(s.TrafficMirrorSessionId)
	p.Outcome = workflow.OutcomeExists
	p.Reason = fmt.Sprintf("%s (%s) is mirrored to sensor %s by session %s (session number %d), made for a GuardDuty finding under rule %s",
		src.InstanceID, src.NetworkInterfaceID, p.TargetID, p.SessionID, aws.ToInt32(s.SessionNumber), gd.Rule)
	return report(p, workflow.StepReport{Step: workflow.StepCheckExistingSession, Kept: []string{p.TargetID}, Note: p.Reason}), true
}

// madeForFinding reports whether CreateSession made s for a GuardDuty
// finding, under rule.
func madeForFinding(s ec2types.TrafficMirrorSession, rule string) bool {
	return managedByMirrorflow(s) && hasTag(s.Tags, TagTrigger, workflow.TriggerGuardDuty) && hasTag(s.Tags, TagRule, rule)
}

// hasTag reports whether tags hold key=value.
func hasTag(tags []ec2types.Tag, key, value string) bool {
	return slices.ContainsFunc(tags, func(t ec2types.Tag) bool { return aws.ToString(t.Key) == key && aws.ToString(t.Value) == value })
}

// outOfScope is rule 3's reason for an interface no rule matches.
func outOfScope(src placement.Source) string {
	return fmt.Sprintf("%s is out of scope: no rule matches it (subnet %s, VPC %s, the instance's tags)", src.NetworkInterfaceID, src.SubnetID, src.VPCID)
}

// inDeviceOrder sorts an instance's interface placements as EC2 attaches
// them (network card, then device index), so the Map places the primary
// interface first and the console lists them as the instance does.
func inDeviceOrder(inst ec2types.Instance, ps []workflow.Placement) {
	order := map[string]int{}
	for _, ni := range inst.NetworkInterfaces {
		if a := ni.Attachment; a != nil {
			order[aws.ToString(ni.NetworkInterfaceId)] = int(aws.ToInt32(a.NetworkCardIndex))<<16 + int(aws.ToInt32(a.DeviceIndex))
		}
	}
	slices.SortStableFunc(ps, func(a, b workflow.Placement) int {
		return cmp.Compare(order[a.Source.NetworkInterfaceID], order[b.Source.NetworkInterfaceID])
	})
}

// candidateTest says whether a target id is a candidate of scope that can
// take traffic: configured by the scope's rule, what it points at still
// there (live), and not draining.
func candidateTest(scope config.Scope, targets []ec2types.TrafficMirrorTarget, live map[string]bool) func(string) bool {
	byID := make(map[string]ec2types.TrafficMirrorTarget, len(targets))
	for _, t := range targets {
		byID[aws.ToString(t.TrafficMirrorTargetId)] = t
	}
	return func(id string) bool {
		t, ok := byID[id]
		return ok && scope.Candidate(id, configTags(t.Tags)) && live[id] && !placement.Draining(t)
	}
}

// managedByMirrorflow reports whether mirrorflow made the session (it tags
// every session it creates), which is what makes a session stale rather
// than someone else's to leave alone.
func managedByMirrorflow(s ec2types.TrafficMirrorSession) bool {
	return slices.ContainsFunc(s.Tags, func(t ec2types.Tag) bool {
		return aws.ToString(t.Key) == TagManagedBy && aws.ToString(t.Value) == ManagedByValue
	})
}

// configTags converts EC2's tags to the configuration's.
func configTags(tags []ec2types.Tag) []config.Tag {
	out := make([]config.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, config.Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)})
	}
	return out
}

// ruleOf names the rule that decides an interface (", rule pci"), or
// nothing when the configuration has no rules.
func ruleOf(s config.Scope) string {
	if s.Rule == "" {
		return ""
	}
	return ", rule " + s.Rule
}

// instanceNote sums CheckExistingSession's decisions up for the console.
func instanceNote(in workflow.Instance) string {
	count := map[workflow.Outcome]int{}
	for _, p := range in.Interfaces {
		count[p.Outcome]++
	}
	return fmt.Sprintf("%d source interface(s): %d to place, %d already mirrored, %d skipped, %d failed",
		len(in.Interfaces), count[""], count[workflow.OutcomeExists], count[workflow.OutcomeSkipped], count[workflow.OutcomeFailed])
}
