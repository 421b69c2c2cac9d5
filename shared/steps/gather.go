package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/mirrorflow/mirrorflow/shared/config"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/elbv2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// GatherCandidates lists the candidate sensors of the interface's rule and
// resolves each to where it receives: one DescribeTrafficMirrorTargets (by
// target-id filter when the rule names TargetIds; otherwise every target,
// kept when it carries the rule's sensor tag, because EC2 documents no tag
// filter for traffic mirror targets), then one call per kind for what they
// point at: DescribeNetworkInterfaces for interface targets and
// DescribeInstances for the instances behind them, whose types set the
// sensors' capacity; ELBv2 DescribeLoadBalancers and, per Network Load
// Balancer, DescribeListeners; DescribeVpcEndpoints and DescribeSubnets for
// Gateway Load Balancer endpoints. A target tagged mirrorflow:draining=true,
// or whose interface, load balancer or endpoint is gone, is rejected with
// the reason. Filters rather than ID lists are used for the batch lookups so
// that one vanished resource becomes a rejection of its sensor instead of a
// NotFound for the whole call; a filter of more than ec2api.MaxFilterValues
// ids takes one call per 200.
func (h *Handlers) GatherCandidates(ctx context.Context, p workflow.Placement) (workflow.Placement, error) {
	const step = workflow.StepGatherCandidates
	if decided(p) {
		return p, nil
	}
	if err := h.begin(step, p); err != nil {
		return h.fail(step, p, workflow.StepReport{}, err)
	}
	scope := *p.Scope
	all, err := h.describeTargets(ctx, scope)
	if err != nil {
		return h.fail(step, p, workflow.StepReport{Step: step}, steperr.FromEC2("describing traffic mirror targets", err))
	}
	var targets []ec2types.TrafficMirrorTarget
	var rejected []placement.Rejection
	for _, t := range all {
		id := aws.ToString(t.TrafficMirrorTargetId)
		switch {
		case !scope.Candidate(id, configTags(t.Tags)):
		case placement.Draining(t):
			rejected = append(rejected, placement.Rejection{TargetID: id, Reason: fmt.Sprintf(
				"draining: tagged %s=true, so it takes no new session (remove the tag to use it again)", placement.DrainingTagKey)})
		default:
			targets = append(targets, t)
		}
	}
	rejected = append(rejected, missingTargets(scope, all)...)
	if len(targets) == 0 {
		err := &steperr.NoReachableSensor{Step: step, InstanceID: p.InstanceID, Rejected: rejected}
		if len(rejected) == 0 {
			err.Detail = "no traffic mirror target carries the sensor tag " + scope.SensorTag.Key + "=" + scope.SensorTag.Value
		}
		return h.fail(step, p, workflow.StepReport{Step: step, Rejected: rejected}, err)
	}

	sensors, unresolved, _, err := h.resolveSensors(ctx, targets)
	if err != nil {
		return h.fail(step, p, workflow.StepReport{Step: step}, err)
	}
	rejected = append(rejected, unresolved...)
	slices.SortStableFunc(rejected, func(a, b placement.Rejection) int { return strings.Compare(a.TargetID, b.TargetID) })
	if len(sensors) > MaxCandidates {
		err := &steperr.InvalidConfiguration{Err: fmt.Errorf(
			"%d candidate sensors%s, more than the %d a placement can carry within Step Functions' 256 KiB payload; "+
				"give this rule a narrower SensorTag or TargetIds (a rule per zone or per VPC, say)", len(sensors), ruleOf(scope), MaxCandidates)}
		return h.fail(step, p, workflow.StepReport{Step: step, Note: err.Error()}, err)
	}
	return h.filtered(p, step, sensors, rejected, gatherNote(scope, sensors))
}

// MaxCandidates is the most candidate sensors one placement carries. Each
// costs about 530 bytes of payload by PickLeastLoaded (its resolved sensor,
// and its id in every step's report; TestPlacementPayloadFitsStepFunctionsQuota
// measures it), and a state's input or output may not exceed 256 KiB (Step
// Functions service quotas): past it the execution fails with
// States.DataLimitExceeded, which no Catch can route to the dead-letter
// queue. 400 candidates take about 213 KB, leaving room for the rest of the
// payload; a rule with more fails at GatherCandidates with a message that
// says how to narrow it, and lands in the dead-letter queue with it.
const MaxCandidates = 400

// resolveSensors describes what each target points at (interfaces and
// their instances, Network Load Balancers and their listeners, Gateway
// Load Balancer endpoints and their subnets) and resolves the targets to
// sensors, sorted by target id, with a rejection for each that cannot
// receive (what it points at is gone, an NLB without a UDP 4789 listener),
// and which targets still point at something (placement.Live).
func (h *Handlers) resolveSensors(ctx context.Context, targets []ec2types.TrafficMirrorTarget) (
	sensors []placement.Sensor, rejected []placement.Rejection, live map[string]bool, err error) {
	pt, err := h.describePointees(ctx, targets)
	if err != nil {
		return nil, nil, nil, err
	}
	instances, err := h.sensorInstances(ctx, pt.interfaces)
	if err != nil {
		return nil, nil, nil, err
	}
	listeners, err := h.listeners(ctx, pt.loadBalancers)
	if err != nil {
		return nil, nil, nil, err
	}
	subnets, err := h.endpointSubnets(ctx, pt.endpoints)
	if err != nil {
		return nil, nil, nil, err
	}
	var interfaceTargets, lbTargets []ec2types.TrafficMirrorTarget
	for _, t := range targets {
		if t.NetworkLoadBalancerArn != nil || t.GatewayLoadBalancerEndpointId != nil ||
			t.Type == ec2types.TrafficMirrorTargetTypeNetworkLoadBalancer || t.Type == ec2types.TrafficMirrorTargetTypeGatewayLoadBalancerEndpoint {
			lbTargets = append(lbTargets, t)
		} else {
			interfaceTargets = append(interfaceTargets, t)
		}
	}
	sensors, rejected = placement.ResolveSensors(interfaceTargets, pt.interfaces, instances)
	lbSensors, lbRejected := placement.ResolveLoadBalancerSensors(lbTargets, pt.loadBalancers, listeners, pt.endpoints, subnets)
	sensors = append(sensors, lbSensors...)
	slices.SortStableFunc(sensors, func(a, b placement.Sensor) int { return strings.Compare(a.TargetID, b.TargetID) })
	return sensors, append(rejected, lbRejected...), pt.live(targets), nil
}

// sensorInstances describes the instances the sensors' interfaces are
// attached to, whose types set how many sources they take.
func (h *Handlers) sensorInstances(ctx context.Context, enis []ec2types.NetworkInterface) ([]ec2types.Instance, error) {
	var ids []string
	for _, e := range enis {
		if e.Attachment != nil {
			ids = append(ids, aws.ToString(e.Attachment.InstanceId))
		}
	}
	if ids = sortedUnique(ids); len(ids) == 0 {
		return nil, nil
	}
	instances, err := ec2api.InChunks(ids, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.Instance, error) {
		return ec2api.InstancesAsList(ctx, h.EC2, &ec2.DescribeInstancesInput{
			Filters: []ec2types.Filter{ec2api.Filter("instance-id", chunk...)},
		})
	})
	if err != nil {
		return nil, steperr.FromEC2("describing the sensors' instances", err)
	}
	return instances, nil
}

// listeners describes each Network Load Balancer's listeners, one call per
// load balancer: ELBv2 has no batch form of DescribeListeners.
func (h *Handlers) listeners(ctx context.Context, lbs []elbv2types.LoadBalancer) ([]elbv2types.Listener, error) {
	var out []elbv2types.Listener
	for _, lb := range lbs {
		if lb.Type != elbv2types.LoadBalancerTypeEnumNetwork {
			continue
		}
		ls, err := elbv2api.ListenersAsList(ctx, h.ELBv2, aws.ToString(lb.LoadBalancerArn))
		if err != nil {
			return nil, steperr.FromEC2("describing the listeners of "+aws.ToString(lb.LoadBalancerArn), err)
		}
		out = append(out, ls...)
	}
	return out, nil
}

// endpointSubnets describes the subnets of Gateway Load Balancer
// endpoints: an endpoint's zone is its subnet's.
func (h *Handlers) endpointSubnets(ctx context.Context, endpoints []ec2types.VpcEndpoint) ([]ec2types.Subnet, error) {
	var ids []string
	for _, e := range endpoints {
		ids = append(ids, e.SubnetIds...)
	}
	if ids = sortedUnique(ids); len(ids) == 0 {
		return nil, nil
	}
	subnets, err := ec2api.InChunks(ids, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.Subnet, error) {
		return ec2api.SubnetsAsList(ctx, h.EC2, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{ec2api.Filter("subnet-id", chunk...)}})
	})
	if err != nil {
		return nil, steperr.FromEC2("describing the subnets of the sensors' endpoints", err)
	}
	return subnets, nil
}

// describeTargets lists the traffic mirror targets that may be sensors of
// scope: its TargetIds, by filter, or else every target in the account.
func (h *Handlers) describeTargets(ctx context.Context, scope config.Scope) ([]ec2types.TrafficMirrorTarget, error) {
	if len(scope.TargetIDs) == 0 {
		return ec2api.TrafficMirrorTargetsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorTargetsInput{})
	}
	return ec2api.InChunks(sortedUnique(scope.TargetIDs), ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.TrafficMirrorTarget, error) {
		return ec2api.TrafficMirrorTargetsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorTargetsInput{
			Filters: []ec2types.Filter{ec2api.Filter("traffic-mirror-target-id", chunk...)},
		})
	})
}

// missingTargets rejects each target id the scope names that EC2 did not
// describe, so a typo or a deleted sensor in TargetIds is visible in the
// console.
func missingTargets(scope config.Scope, found []ec2types.TrafficMirrorTarget) []placement.Rejection {
	var out []placement.Rejection
	for _, id := range sortedUnique(scope.TargetIDs) {
		if !slices.ContainsFunc(found, func(t ec2types.TrafficMirrorTarget) bool { return aws.ToString(t.TrafficMirrorTargetId) == id }) {
			out = append(out, placement.Rejection{TargetID: id, Reason: fmt.Sprintf(
				"configured target %s does not exist in this account and Region; remove it from TargetIds or recreate it", id)})
		}
	}
	return out
}

func gatherNote(scope config.Scope, sensors []placement.Sensor) string {
	how := "TargetIds"
	if len(scope.TargetIDs) == 0 {
		how = "tag " + scope.SensorTag.Key + "=" + scope.SensorTag.Value
	}
	if scope.Rule != "" {
		how += " of rule " + scope.Rule
	} else if len(scope.TargetIDs) > 0 {
		how = "configured " + how
	}
	parts := make([]string, 0, len(sensors))
	for _, s := range sensors {
		where := s.Type
		switch {
		case len(s.Zones) > 0:
			where = strings.Join(s.Zones, ",")
		case s.AvailabilityZone != "":
			where = s.AvailabilityZone
		}
		capacity := "no source limit"
		if s.MaxSources > 0 {
			capacity = fmt.Sprintf("up to %d sources", s.MaxSources)
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %s)", s.TargetID, where, capacity))
	}
	return fmt.Sprintf("%d candidate sensor(s) by %s: %s", len(sensors), how, strings.Join(parts, ", "))
}
