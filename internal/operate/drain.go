package operate

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/placement"
)

// targetIDPattern is the shape of a traffic mirror target id: EC2 answers
// the 17-hex-digit form only.
var targetIDPattern = regexp.MustCompile(`^tmt-[0-9a-f]{17}$`)

// ValidTargetID reports whether id has the shape of a traffic mirror target
// id, so that drain refuses a typo (or an instance id) before calling EC2.
func ValidTargetID(id string) bool { return targetIDPattern.MatchString(id) }

// NoTargetError says an id of the right shape names no traffic mirror
// target that the caller can see: EC2 answered
// InvalidTrafficMirrorTargetId.NotFound, or listed nothing for it.
type NoTargetError struct {
	TargetID string
	// Err is EC2's answer, nil when it listed nothing.
	Err error
}

func (e *NoTargetError) Error() string {
	return e.TargetID + " is not a traffic mirror target in this account and Region; " +
		"check the id and --region (aws ec2 describe-traffic-mirror-targets lists them)"
}

func (e *NoTargetError) Unwrap() error { return e.Err }

var _ error = (*NoTargetError)(nil)

// DescribeTarget returns the traffic mirror target id, or a NoTargetError
// when there is none.
func DescribeTarget(ctx context.Context, api Targets, id string) (ec2types.TrafficMirrorTarget, error) {
	targets, err := ec2api.TrafficMirrorTargetsAsList(ctx, api, &ec2.DescribeTrafficMirrorTargetsInput{TrafficMirrorTargetIds: []string{id}})
	switch {
	case awserr.Code(err) == awserr.InvalidTrafficMirrorTargetID:
		return ec2types.TrafficMirrorTarget{}, fmt.Errorf("describing traffic mirror target %s: %w", id, &NoTargetError{TargetID: id, Err: err})
	case err != nil:
		return ec2types.TrafficMirrorTarget{}, fmt.Errorf("describing traffic mirror target %s: %w", id, Explain(err))
	}
	i := slices.IndexFunc(targets, func(t ec2types.TrafficMirrorTarget) bool { return aws.ToString(t.TrafficMirrorTargetId) == id })
	if i < 0 {
		return ec2types.TrafficMirrorTarget{}, fmt.Errorf("describing traffic mirror target %s: %w", id, &NoTargetError{TargetID: id})
	}
	return targets[i], nil
}

// drainingTag is the tag that marks a target as draining; undrain deletes
// it with its value, so a tag someone set to another value is left alone
// (it never meant draining: placement.Draining compares the value exactly).
func drainingTag() ec2types.Tag {
	return ec2types.Tag{Key: aws.String(placement.DrainingTagKey), Value: aws.String(placement.DrainingTagValue)}
}

// SetDraining tags the target mirrorflow:draining=true (draining) or
// deletes that tag (not draining). The target must exist: a NotFound
// answer, as when it was deleted since it was described, is a
// NoTargetError.
func SetDraining(ctx context.Context, api Targets, id string, draining bool) error {
	var err error
	verb := "tagging"
	if draining {
		_, err = api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{drainingTag()}})
	} else {
		verb = "untagging"
		_, err = api.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{drainingTag()}})
	}
	switch {
	case awserr.Code(err) == awserr.InvalidTrafficMirrorTargetID:
		return fmt.Errorf("%s traffic mirror target %s %s=%s: %w", verb, id, placement.DrainingTagKey, placement.DrainingTagValue,
			&NoTargetError{TargetID: id, Err: err})
	case err != nil:
		return fmt.Errorf("%s traffic mirror target %s %s=%s: %w", verb, id, placement.DrainingTagKey, placement.DrainingTagValue, Explain(err))
	}
	return nil
}

// Load is what a target holds now: its sessions and the distinct source
// interfaces they mirror (the quantity EC2's per-target quota counts).
type Load struct {
	Sessions int `json:"sessions"`
	Sources  int `json:"sources"`
}

// LoadOf counts the sessions whose target is id and their source interfaces.
func LoadOf(ctx context.Context, api Targets, id string) (Load, error) {
	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, api, &ec2.DescribeTrafficMirrorSessionsInput{
		Filters: []ec2types.Filter{ec2api.Filter("traffic-mirror-target-id", id)},
	})
	if err != nil {
		return Load{}, fmt.Errorf("listing the sessions of traffic mirror target %s: %w", id, Explain(err))
	}
	sources := map[string]bool{}
	for _, s := range sessions {
		sources[aws.ToString(s.NetworkInterfaceId)] = true
	}
	return Load{Sessions: len(sessions), Sources: len(sources)}, nil
}

// IsNoTarget reports whether err says the target does not exist.
func IsNoTarget(err error) bool {
	var nt *NoTargetError
	return errors.As(err, &nt)
}
