package ec2sim_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// targetTags describes one target of the simulator and returns its tags.
func targetTags(t *testing.T, client *ec2.Client, id string) []ec2types.Tag {
	t.Helper()
	targets, err := ec2api.TrafficMirrorTargetsAsList(context.Background(), client, &ec2.DescribeTrafficMirrorTargetsInput{TrafficMirrorTargetIds: []string{id}})
	if err != nil || len(targets) != 1 {
		t.Fatalf("describing %s: %d targets, %v", id, len(targets), err)
	}
	return targets[0].Tags
}

func tag(key, value string) ec2types.Tag { return ec2types.Tag{Key: ptr(key), Value: ptr(value)} }

// TestDeleteTags checks DeleteTags on a traffic mirror target as the EC2 API
// reference describes it: a key with a value deletes only a tag with that
// value, a key alone deletes it whatever its value, no Tag deletes every tag
// but AWS's own, and a tag that is not there is no error.
func TestDeleteTags(t *testing.T) {
	seeded := []ec2types.Tag{tag("Name", "sensor1"), tag("mirrorflow:sensor", "true")}
	tests := []struct {
		name string
		// before is what CreateTags adds to sensor1 first.
		before []ec2types.Tag
		tags   []ec2types.Tag
		want   []ec2types.Tag
	}{
		{"a key with its value deletes the tag",
			[]ec2types.Tag{tag("mirrorflow:draining", "true")},
			[]ec2types.Tag{tag("mirrorflow:draining", "true")},
			seeded},
		{"a key with another value deletes nothing",
			[]ec2types.Tag{tag("mirrorflow:draining", "false")},
			[]ec2types.Tag{tag("mirrorflow:draining", "true")},
			append(seeded[:2:2], tag("mirrorflow:draining", "false"))},
		{"a key without a value deletes the tag whatever its value",
			[]ec2types.Tag{tag("mirrorflow:draining", "false")},
			[]ec2types.Tag{{Key: ptr("mirrorflow:draining")}},
			seeded},
		{"an empty value deletes only a tag whose value is empty",
			[]ec2types.Tag{tag("owner", ""), tag("mirrorflow:draining", "true")},
			[]ec2types.Tag{tag("owner", ""), tag("mirrorflow:draining", "")},
			append(seeded[:2:2], tag("mirrorflow:draining", "true"))},
		{"a tag that is not there is no error and changes nothing",
			nil,
			[]ec2types.Tag{tag("mirrorflow:draining", "true")},
			seeded},
		{"no Tag deletes every user tag",
			[]ec2types.Tag{tag("mirrorflow:draining", "true")},
			nil,
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := start(t, ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{}))
			ctx := context.Background()
			if len(tt.before) > 0 {
				if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{sensor1}, Tags: tt.before}); err != nil {
					t.Fatalf("tagging: %v", err)
				}
			}
			if _, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{sensor1}, Tags: tt.tags}); err != nil {
				t.Fatalf("deleting tags: %v", err)
			}
			got := targetTags(t, client, sensor1)
			if diff := cmp.Diff(tt.want, got, sdktest.IgnoreUnexported(got), cmpEmptyIsNil); diff != "" {
				t.Errorf("tags of %s (-want +got):\n%s", sensor1, diff)
			}
		})
	}
}

// cmpEmptyIsNil treats an absent tag list and an empty one alike: the wire
// cannot tell them apart.
var cmpEmptyIsNil = cmp.FilterValues(func(a, b []ec2types.Tag) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

// TestDeleteTagsRefuses checks that DeleteTags changes nothing when EC2
// would refuse it, and answers EC2's code.
func TestDeleteTagsRefuses(t *testing.T) {
	draining := []ec2types.Tag{tag("mirrorflow:draining", "true")}
	tests := []struct {
		name string
		in   *ec2.DeleteTagsInput
		code string
	}{
		{"an unknown target is NotFound", &ec2.DeleteTagsInput{Resources: []string{"tmt-0000000000000000a"}, Tags: draining},
			awserr.InvalidTrafficMirrorTargetID},
		{"an id of no known kind is InvalidID", &ec2.DeleteTagsInput{Resources: []string{"sensor1"}, Tags: draining},
			awserr.InvalidID},
		{"one unknown id among known ones refuses the whole call", &ec2.DeleteTagsInput{Resources: []string{sensor1, "tmt-0000000000000000a"}, Tags: draining},
			awserr.InvalidTrafficMirrorTargetID},
		{"DryRun answers DryRunOperation", &ec2.DeleteTagsInput{Resources: []string{sensor1}, Tags: draining, DryRun: ptr(true)},
			awserr.DryRunOperation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := start(t, ec2sim.New(load(t, "three-zones.json"), ec2sim.Options{}))
			ctx := context.Background()
			if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{sensor1}, Tags: draining}); err != nil {
				t.Fatalf("tagging: %v", err)
			}
			_, err := client.DeleteTags(ctx, tt.in)
			if err == nil {
				t.Fatal("want an error")
			}
			if got := code(t, err); got != tt.code {
				t.Errorf("code = %s, want %s", got, tt.code)
			}
			want := []ec2types.Tag{tag("Name", "sensor1"), tag("mirrorflow:sensor", "true"), tag("mirrorflow:draining", "true")}
			got := targetTags(t, client, sensor1)
			if diff := cmp.Diff(want, got, sdktest.IgnoreUnexported(got)); diff != "" {
				t.Errorf("a refused DeleteTags changed the tags of %s (-want +got):\n%s", sensor1, diff)
			}
		})
	}
}
