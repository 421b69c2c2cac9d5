package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// Coverage judges instances (a page of DescribeInstances; those not
// running are not judged) as the snapshot format's "Coverage" defines it,
// with CheckExistingSession's own rules: every source interface is
// mirrored, unmirrored or skipped, and every session mirrorflow made on an
// interface of theirs that should not be there is stale. targets are every
// traffic mirror target of the account.
//
// Its EC2 calls are CheckExistingSession's, batched over the page:
// DescribeSubnets for the instances' subnets and DescribeTrafficMirrorSessions
// for all their attached interfaces (a session on an interface that is not
// a source can be stale too), each one call per ec2api.MaxFilterValues ids,
// and only for the targets of those sessions, what they point at.
//
// An unmirrored interface whose placement would go on to the candidate
// steps has no verdict yet: a Previewer runs them.
func (h *Handlers) Coverage(ctx context.Context, instances []ec2types.Instance, targets []ec2types.TrafficMirrorTarget) (workflow.Coverage, []workflow.Placement, error) {
	out := workflow.Coverage{Interfaces: []workflow.InterfaceCoverage{}, Stale: []workflow.StaleSession{}}
	if err := h.ready(); err != nil {
		return out, nil, err
	}
	running := slices.DeleteFunc(slices.Clone(instances), func(i ec2types.Instance) bool {
		return i.State == nil || i.State.Name != ec2types.InstanceStateNameRunning
	})
	if len(running) == 0 {
		return out, nil, nil
	}
	subnets, err := h.subnetsOf(ctx, running...)
	if err != nil {
		return out, nil, err
	}
	owner := map[string]string{}
	var enis []string
	for _, inst := range running {
		for _, ni := range inst.NetworkInterfaces {
			if id := aws.ToString(ni.NetworkInterfaceId); id != "" {
				owner[id] = aws.ToString(inst.InstanceId)
				enis = append(enis, id)
			}
		}
	}
	sessions, err := ec2api.InChunks(sortedUnique(enis), ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.TrafficMirrorSession, error) {
		return ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{
			Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", chunk...)},
		})
	})
	if err != nil {
		return out, nil, steperr.FromEC2("describing the traffic mirror sessions of "+instanceIDs(running), err)
	}
	live, err := h.liveTargets(ctx, targets, sessions)
	if err != nil {
		return out, nil, err
	}

	// decided holds each judged interface's placement; skippedAll, the
	// reason of an instance skipped as a whole (rules 1 and 2).
	decided := map[string]workflow.Placement{}
	skippedAll := map[string]string{}
	var pending []workflow.Placement
	for _, inst := range running {
		id := aws.ToString(inst.InstanceId)
		ps, whole := h.judge(inst, subnets, targets, sessions, live)
		if whole != "" {
			skippedAll[id] = whole
		}
		for _, p := range ps {
			eni := ""
			if p.Source != nil {
				eni = p.Source.NetworkInterfaceID
			}
			decided[eni] = p
			out.Interfaces = append(out.Interfaces, interfaceCoverage(id, eni, p))
			if p.Outcome == "" {
				pending = append(pending, p)
			}
		}
	}
	for _, s := range sessions {
		eni := aws.ToString(s.NetworkInterfaceId)
		if !managedByMirrorflow(s) || owner[eni] == "" {
			continue
		}
		stale := workflow.StaleSession{
			SessionID: aws.ToString(s.TrafficMirrorSessionId), NetworkInterfaceID: eni,
			TargetID: aws.ToString(s.TrafficMirrorTargetId), InstanceID: owner[eni],
		}
		p, isSource := decided[eni]
		switch {
		case skippedAll[owner[eni]] != "":
			stale.Reason = "its source is skipped: " + skippedAll[owner[eni]]
		case !isSource:
			stale.Reason = notASource(h.Config, eni)
		case p.Outcome == workflow.OutcomeSkipped:
			stale.Reason = "its source interface is skipped: " + p.Reason
		case h.mirrorsForFinding(s, targets, live):
			// Made for a GuardDuty finding under GuardDuty.Rule, to a
			// candidate of that rule: not stale, whatever the interface's
			// usual rule.
			continue
		default:
			why, ok := notCandidate(*p.Scope, stale.TargetID, targets, live)
			if ok {
				continue
			}
			stale.Reason, stale.Placed = why, p.Outcome == ""
		}
		out.Stale = append(out.Stale, stale)
	}
	slices.SortStableFunc(out.Stale, func(a, b workflow.StaleSession) int {
		return strings.Compare(a.NetworkInterfaceID+" "+a.SessionID, b.NetworkInterfaceID+" "+b.SessionID)
	})
	return out, pending, nil
}

// judge decides one running instance's source interfaces as
// CheckExistingSession does, from what was read of the page. An instance
// skipped as a whole (a sensor, opted out, or without any source) gives
// each interface that would be a source the instance's reason, and that
// reason as whole.
func (h *Handlers) judge(inst ec2types.Instance, subnets map[string]ec2types.Subnet, targets []ec2types.TrafficMirrorTarget,
	sessions []ec2types.TrafficMirrorSession, live map[string]bool) (ps []workflow.Placement, whole string) {
	id := aws.ToString(inst.InstanceId)
	reason, skip := h.instanceSkip(inst, targets)
	var sources []placement.Source
	var incomplete []workflow.Placement
	if !skip {
		var none string
		var err error
		sources, incomplete, none, err = h.sourcesOf(inst, subnets, nil)
		switch {
		case err != nil:
			reason, skip = err.Error(), true
		case none != "" && len(incomplete) > 0:
			return incomplete, ""
		case none != "":
			reason, skip = none, true
		}
	}
	if skip {
		for _, eni := range sourceInterfaceIDs(inst, h.Config.Interfaces == config.InterfacesAll) {
			src := placement.Source{InstanceID: id, NetworkInterfaceID: eni}
			ps = append(ps, workflow.Placement{InstanceID: id, Source: &src, Outcome: workflow.OutcomeSkipped, Reason: reason})
		}
		return ps, reason
	}
	return h.decideSources(inst, sources, incomplete, subnets, targets, sessions, live, nil), ""
}

// sourceInterfaceIDs lists the interfaces of inst that Interfaces makes
// sources (placement.SourceInterfaceIDs); an instance with none lists the
// interface it has first, or nothing at all, so that its skip is still
// shown against an interface.
func sourceInterfaceIDs(inst ec2types.Instance, all bool) []string {
	ids := placement.SourceInterfaceIDs(inst, all)
	if len(ids) == 0 && len(inst.NetworkInterfaces) > 0 {
		ids = append(ids, aws.ToString(inst.NetworkInterfaces[0].NetworkInterfaceId))
	}
	return ids
}

// interfaceCoverage turns CheckExistingSession's decision of one interface
// into its coverage status.
func interfaceCoverage(instanceID, eni string, p workflow.Placement) workflow.InterfaceCoverage {
	c := workflow.InterfaceCoverage{InstanceID: instanceID, NetworkInterfaceID: eni, Reason: p.Reason}
	if p.Scope != nil {
		c.Rule = p.Scope.Rule
	}
	switch p.Outcome {
	case workflow.OutcomeExists:
		c.Status, c.TargetID, c.SessionID = workflow.CoverageMirrored, p.TargetID, p.SessionID
	case workflow.OutcomeSkipped:
		c.Status = workflow.CoverageSkipped
	case workflow.OutcomeFailed:
		c.Status = workflow.CoverageUnmirrored
	default:
		c.Status = workflow.CoverageUnmirrored
		c.Reason = "no session to a candidate sensor" + ruleOf(*p.Scope)
	}
	return c
}

// mirrorsForFinding reports whether s was made for a GuardDuty finding
// under the rule GuardDuty.Rule names today and goes to a live,
// non-draining candidate of that rule, as CheckExistingSession's
// mirroredForFinding recognises it.
func (h *Handlers) mirrorsForFinding(s ec2types.TrafficMirrorSession, targets []ec2types.TrafficMirrorTarget, live map[string]bool) bool {
	gd, ok := h.Config.GuardDutyScope()
	return ok && madeForFinding(s, gd.Rule) && candidateTest(gd, targets, live)(aws.ToString(s.TrafficMirrorTargetId))
}

// notASource is why a session on an interface that is not a source
// interface is stale.
func notASource(cfg config.Config, eni string) string {
	if cfg.Interfaces == config.InterfacesAll {
		return eni + " is not a source interface: it is not an attached interface of type interface"
	}
	return eni + " is not a source interface: Interfaces is primary and it is not the instance's primary interface"
}

// notCandidate says why targetID is not a candidate of scope that can take
// traffic (ok false), as candidateTest decides it.
func notCandidate(scope config.Scope, targetID string, targets []ec2types.TrafficMirrorTarget, live map[string]bool) (why string, ok bool) {
	i := slices.IndexFunc(targets, func(t ec2types.TrafficMirrorTarget) bool { return aws.ToString(t.TrafficMirrorTargetId) == targetID })
	of := "its rule's candidates"
	if scope.Rule != "" {
		of = "the candidates of rule " + scope.Rule
	}
	switch {
	case i < 0:
		return fmt.Sprintf("target %s no longer exists", targetID), false
	case !scope.Candidate(targetID, configTags(targets[i].Tags)):
		return fmt.Sprintf("target %s is not among %s (TargetIds or SensorTag)", targetID, of), false
	case placement.Draining(targets[i]):
		return fmt.Sprintf("target %s is draining (tagged %s=%s)", targetID, placement.DrainingTagKey, placement.DrainingTagValue), false
	case !live[targetID]:
		return fmt.Sprintf("what target %s points at (its interface, load balancer or endpoint) no longer exists", targetID), false
	}
	return "", true
}

// Previewer takes unmirrored interfaces' placements through the candidate
// steps up to PickLeastLoaded, without creating anything, and says in their
// coverage reason where a placement would mirror each, or why it would
// fail. GatherCandidates runs once per scope: the sensors it finds depend
// on the scope alone, and a report of a thousand unmirrored interfaces of
// one rule would otherwise describe every sensor a thousand times.
type Previewer struct {
	h *Handlers
	// gathered holds GatherCandidates' sensors and report by scope (JSON),
	// when it found any; a scope whose gather failed is gathered again for
	// each interface, since its error names the instance.
	gathered map[string]workflow.Placement
}

// NewPreviewer returns a Previewer running h's steps.
func NewPreviewer(h *Handlers) *Previewer {
	return &Previewer{h: h, gathered: map[string]workflow.Placement{}}
}

// Preview previews one placement that CheckExistingSession left undecided.
// A step that is throttled or finds EC2 unavailable is an error, since a
// retry could place the interface: no verdict on it.
func (pv *Previewer) Preview(ctx context.Context, p workflow.Placement) (string, error) {
	eni := p.Source.NetworkInterfaceID
	scope, err := json.Marshal(p.Scope)
	if err != nil {
		return "", fmt.Errorf("previewing the placement of %s: %w", eni, err)
	}
	stop := slices.IndexFunc(workflow.Steps, func(s workflow.Step) bool { return s.Name == workflow.StepCreateSession })
	for _, s := range workflow.Steps[1:stop] {
		gather := s.Name == workflow.StepGatherCandidates
		if g, ok := pv.gathered[string(scope)]; ok && gather {
			p.Candidates, p.Steps = slices.Clone(g.Candidates), append(p.Steps, g.Steps...)
			continue
		}
		step, ok := pv.h.handler(s.Name)
		if !ok {
			return "", &steperr.InvalidConfiguration{Err: fmt.Errorf("workflow step %s has no handler", s.Name)}
		}
		next, err := step(ctx, p)
		switch {
		case ctx.Err() != nil:
			return "", fmt.Errorf("previewing the placement of %s: %w", eni, ctx.Err())
		case err == nil:
		case slices.Contains(steperr.Transient(), steperr.TypeName(err)):
			return "", fmt.Errorf("previewing the placement of %s: %w", eni, err)
		default:
			return "no session to a candidate sensor; a placement would fail: " + err.Error(), nil
		}
		if gather {
			pv.gathered[string(scope)] = workflow.Placement{Candidates: slices.Clone(next.Candidates), Steps: next.Steps[len(p.Steps):]}
		}
		p = next
	}
	return fmt.Sprintf("no session to a candidate sensor%s; a placement would mirror it to %s", ruleOf(*p.Scope), p.TargetID), nil
}

// Sensors lists, for coverage, every target that is a candidate of some
// rule (configured, what it points at still there, not draining) and every
// draining target that still holds sessions, sorted by id, each with its
// load: the distinct source interfaces of sessions (every session of the
// account) to it against its limit, and its zone. It resolves them as
// GatherCandidates does, with the same calls.
func (h *Handlers) Sensors(ctx context.Context, targets []ec2types.TrafficMirrorTarget, sessions []ec2types.TrafficMirrorSession) ([]workflow.SensorLoad, error) {
	if err := h.ready(); err != nil {
		return nil, err
	}
	sources := map[string]map[string]bool{}
	for _, s := range sessions {
		t := aws.ToString(s.TrafficMirrorTargetId)
		if sources[t] == nil {
			sources[t] = map[string]bool{}
		}
		sources[t][aws.ToString(s.NetworkInterfaceId)] = true
	}
	scopes := h.Config.Scopes()
	var chosen []ec2types.TrafficMirrorTarget
	for _, t := range targets {
		id := aws.ToString(t.TrafficMirrorTargetId)
		configured := slices.ContainsFunc(scopes, func(s config.Scope) bool { return s.Candidate(id, configTags(t.Tags)) })
		if draining := placement.Draining(t); (configured && !draining) || (draining && len(sources[id]) > 0) {
			chosen = append(chosen, t)
		}
	}
	out := []workflow.SensorLoad{}
	if len(chosen) == 0 {
		return out, nil
	}
	resolved, _, live, err := h.resolveSensors(ctx, chosen)
	if err != nil {
		return nil, err
	}
	for _, t := range chosen {
		id := aws.ToString(t.TrafficMirrorTargetId)
		draining := placement.Draining(t)
		if !draining && !live[id] {
			continue
		}
		load := workflow.SensorLoad{TargetID: id, Sources: len(sources[id]), Draining: draining}
		if i := slices.IndexFunc(resolved, func(s placement.Sensor) bool { return s.TargetID == id }); i >= 0 {
			load.Zone, load.Limit = resolved[i].AvailabilityZone, resolved[i].MaxSources
			if len(resolved[i].Zones) > 0 {
				load.Zone = strings.Join(resolved[i].Zones, ",")
			}
		}
		out = append(out, load)
	}
	slices.SortStableFunc(out, func(a, b workflow.SensorLoad) int { return strings.Compare(a.TargetID, b.TargetID) })
	return out, nil
}
