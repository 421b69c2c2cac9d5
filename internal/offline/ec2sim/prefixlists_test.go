package ec2sim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/internal/offline/ec2sim"
	"github.com/mirrorflow/mirrorflow/internal/testkit/sdktest"
	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// TestDescribeManagedPrefixLists reads the prefix lists of sg-blocked.json,
// which lists one (office), plus one that the snapshot gives only entries
// for, through the SDK's paginator.
func TestDescribeManagedPrefixLists(t *testing.T) {
	const office, entriesOnly = "pl-f6c1fbf530d84ab0c", "pl-00000000000000abc"
	snap := load(t, "sg-blocked.json")
	snap.PrefixListEntries[entriesOnly] = []ec2types.PrefixListEntry{{Cidr: ptr("10.9.0.0/16")}}
	ctx := context.Background()

	lists := func(client *ec2.Client, in *ec2.DescribeManagedPrefixListsInput) ([]ec2types.ManagedPrefixList, error) {
		p := ec2.NewDescribeManagedPrefixListsPaginator(client, in)
		return ec2api.All(ctx, p.HasMorePages, p.NextPage, "prefix lists",
			func(o *ec2.DescribeManagedPrefixListsOutput) []ec2types.ManagedPrefixList { return o.PrefixLists })
	}
	ids := func(pls []ec2types.ManagedPrefixList) []string {
		var out []string
		for _, pl := range pls {
			out = append(out, *pl.PrefixListId)
		}
		return out
	}

	t.Run("the snapshot's prefix list comes back as the snapshot holds it", func(t *testing.T) {
		client := start(t, ec2sim.New(snap, ec2sim.Options{}))
		got, err := lists(client, &ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{office}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(snap.ManagedPrefixLists, got, sdktest.IgnoreUnexported(got)); diff != "" {
			t.Errorf("prefix lists differ from the snapshot (-snapshot +described):\n%s", diff)
		}
	})

	tests := []struct {
		name     string
		opts     ec2sim.Options
		in       *ec2.DescribeManagedPrefixListsInput
		want     []string
		wantCode string
	}{
		{"no ids lists every prefix list, one that has only entries too", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{}, []string{office, entriesOnly}, ""},
		{"the paginator follows NextToken across pages of one", ec2sim.Options{PageSize: 1},
			&ec2.DescribeManagedPrefixListsInput{}, []string{office, entriesOnly}, ""},
		{"MaxResults 1 pages too", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{MaxResults: ptr[int32](1)}, []string{office, entriesOnly}, ""},
		{"an id names the list that has only entries", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{entriesOnly}}, []string{entriesOnly}, ""},
		{"prefix-list-id values are ORed", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{Filters: []ec2types.Filter{ec2api.Filter("prefix-list-id", office, "pl-0000000000000000f")}}, []string{office}, ""},
		{"prefix-list-name matches the name", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{Filters: []ec2types.Filter{ec2api.Filter("prefix-list-name", "off*")}}, []string{office}, ""},
		{"owner-id matches the owner", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{Filters: []ec2types.Filter{ec2api.Filter("owner-id", "123456789012")}}, []string{office}, ""},
		{"an unknown id is InvalidPrefixListID.NotFound", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{office, "pl-0000000000000000f"}}, nil, awserr.InvalidPrefixListNotFound},
		{"a tag filter is refused: the action documents none", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{Filters: []ec2types.Filter{ec2api.Filter("tag:Name", "office")}}, nil, awserr.InvalidParameterValue},
		{"MaxResults above 100 is InvalidParameterValue", ec2sim.Options{},
			&ec2.DescribeManagedPrefixListsInput{MaxResults: ptr[int32](101)}, nil, awserr.InvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := start(t, ec2sim.New(snap, tt.opts))
			got, err := lists(client, tt.in)
			var apiErr smithy.APIError
			switch {
			case tt.wantCode != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode):
				t.Fatalf("error %v, want %s", err, tt.wantCode)
			case tt.wantCode == "" && err != nil:
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("prefix lists (-want +got):\n%s", diff)
			}
		})
	}
}
