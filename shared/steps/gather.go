package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// GatherCandidates lists the candidate sensors and resolves each to where it
// receives: one DescribeTrafficMirrorTargets (by target-id filter when
// TargetIds is configured; otherwise every target, kept when it carries the
// sensor tag, because EC2 documents no tag filter for traffic mirror
// targets), one DescribeNetworkInterfaces for the targets' interfaces and one
// DescribeInstances for the instances behind them, whose types set the
// sensors' capacity. Filters rather than ID lists are used for the batch
// lookups so that one vanished resource becomes a rejection of its sensor
// instead of a NotFound for the whole call. A filter of more than
// ec2api.MaxFilterValues ids takes one call per 200.
func (h *Handlers) GatherCandidates(ctx context.Context, p workflow.Placement) (workflow.Placement, error) {
	const step = workflow.StepGatherCandidates
	if decided(p) {
		return p, nil
	}
	if err := h.begin(step, p); err != nil {
		return fail(p, workflow.StepReport{}, err)
	}

	all, err := h.describeTargets(ctx)
	if err != nil {
		return fail(p, workflow.StepReport{Step: step}, steperr.FromEC2("describing traffic mirror targets", err))
	}
	var targets []ec2types.TrafficMirrorTarget
	for _, t := range all {
		if placement.IsCandidate(t, h.Config.TargetIDs, h.Config.SensorTag) {
			targets = append(targets, t)
		}
	}
	rejected := h.missingTargets(targets)
	if len(targets) == 0 {
		err := &steperr.NoReachableSensor{Step: step, InstanceID: p.InstanceID, Rejected: rejected}
		if len(rejected) == 0 {
			err.Detail = "no traffic mirror target carries the sensor tag " + h.Config.SensorTag.Key + "=" + h.Config.SensorTag.Value
		}
		return fail(p, workflow.StepReport{Step: step, Rejected: rejected}, err)
	}

	var eniIDs []string
	for _, t := range targets {
		eniIDs = append(eniIDs, aws.ToString(t.NetworkInterfaceId))
	}
	var enis []ec2types.NetworkInterface
	if eniIDs = sortedUnique(eniIDs); len(eniIDs) > 0 {
		enis, err = ec2api.InChunks(eniIDs, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.NetworkInterface, error) {
			return ec2api.NetworkInterfacesAsList(ctx, h.EC2, &ec2.DescribeNetworkInterfacesInput{
				Filters: []ec2types.Filter{ec2api.Filter("network-interface-id", chunk...)},
			})
		})
		if err != nil {
			return fail(p, workflow.StepReport{Step: step}, steperr.FromEC2("describing the sensors' network interfaces", err))
		}
	}
	var instanceIDs []string
	for _, e := range enis {
		if e.Attachment != nil {
			instanceIDs = append(instanceIDs, aws.ToString(e.Attachment.InstanceId))
		}
	}
	var instances []ec2types.Instance
	if instanceIDs = sortedUnique(instanceIDs); len(instanceIDs) > 0 {
		instances, err = ec2api.InChunks(instanceIDs, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.Instance, error) {
			return ec2api.InstancesAsList(ctx, h.EC2, &ec2.DescribeInstancesInput{
				Filters: []ec2types.Filter{ec2api.Filter("instance-id", chunk...)},
			})
		})
		if err != nil {
			return fail(p, workflow.StepReport{Step: step}, steperr.FromEC2("describing the sensors' instances", err))
		}
	}

	sensors, unresolved := placement.ResolveSensors(targets, enis, instances)
	rejected = append(rejected, unresolved...)
	return filtered(p, step, sensors, rejected, h.gatherNote(sensors))
}

// describeTargets lists the traffic mirror targets that may be sensors: the
// configured TargetIds, by filter, or else every target in the account.
func (h *Handlers) describeTargets(ctx context.Context) ([]ec2types.TrafficMirrorTarget, error) {
	if len(h.Config.TargetIDs) == 0 {
		return ec2api.TrafficMirrorTargetsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorTargetsInput{})
	}
	return ec2api.InChunks(sortedUnique(h.Config.TargetIDs), ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.TrafficMirrorTarget, error) {
		return ec2api.TrafficMirrorTargetsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorTargetsInput{
			Filters: []ec2types.Filter{ec2api.Filter("traffic-mirror-target-id", chunk...)},
		})
	})
}

// missingTargets rejects each configured target id EC2 did not describe, so
// a typo or a deleted sensor in TargetIds is visible in the console.
func (h *Handlers) missingTargets(found []ec2types.TrafficMirrorTarget) []placement.Rejection {
	var out []placement.Rejection
	for _, id := range sortedUnique(h.Config.TargetIDs) {
		if !slices.ContainsFunc(found, func(t ec2types.TrafficMirrorTarget) bool { return aws.ToString(t.TrafficMirrorTargetId) == id }) {
			out = append(out, placement.Rejection{TargetID: id, Reason: fmt.Sprintf(
				"configured target %s does not exist in this account and Region; remove it from TargetIds or recreate it", id)})
		}
	}
	return out
}

func (h *Handlers) gatherNote(sensors []placement.Sensor) string {
	how := "configured TargetIds"
	if len(h.Config.TargetIDs) == 0 {
		how = "tag " + h.Config.SensorTag.Key + "=" + h.Config.SensorTag.Value
	}
	parts := make([]string, 0, len(sensors))
	for _, s := range sensors {
		where := s.Type
		if s.AvailabilityZone != "" {
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
