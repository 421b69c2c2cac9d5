package placement

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSourcesOf(t *testing.T) {
	i0, i1, i2 := aws.Int32(0), aws.Int32(1), aws.Int32(2)
	primary := instanceNI(srcENI, i0, i0, srcIP, srcGroup)
	second := func(eni string, card, device *int32) ec2types.InstanceNetworkInterface {
		return instanceNI(eni, card, device, "10.0.1.9", "sg-second")
	}
	typed := func(ni ec2types.InstanceNetworkInterface, typ string) ec2types.InstanceNetworkInterface {
		ni.InterfaceType = aws.String(typ)
		return ni
	}
	withStatus := func(ni ec2types.InstanceNetworkInterface, st ec2types.AttachmentStatus) ec2types.InstanceNetworkInterface {
		a := *ni.Attachment
		a.Status = st
		ni.Attachment = &a
		return ni
	}
	without := func(ni ec2types.InstanceNetworkInterface, f func(*ec2types.InstanceNetworkInterface)) ec2types.InstanceNetworkInterface {
		f(&ni)
		return ni
	}
	secondSource := func(eni string) Source {
		s := testSource()
		s.NetworkInterfaceID, s.PrivateIP, s.SecurityGroupIDs = eni, "10.0.1.9", []string{"sg-second"}
		return s
	}
	tests := []struct {
		name string
		inst ec2types.Instance
		all  bool
		want []Source
		// wantErrs are the interfaces reported as incomplete, each with a
		// phrase its error must hold; "" for an error that names no interface
		// id (the whole instance's, or an interface without one).
		wantErrs map[string]string
	}{
		{
			name: "primary: only the interface at device index 0 is a source",
			inst: testInstance(second("eni-2", i0, i1), primary),
			want: []Source{testSource()},
		},
		{
			name:     "primary: an incomplete primary interface is an error even when another is complete",
			inst:     testInstance(instanceNI(srcENI, i0, i0, ""), second("eni-2", i0, i1)),
			wantErrs: map[string]string{"": "network interface eni-src has no primary private IPv4 address"},
		},
		{
			name: "all: every interface, in device-index order and then network card",
			inst: testInstance(second("eni-d1", i0, i1), second("eni-c1", i1, i0), second("eni-d2", i0, i2), primary),
			all:  true,
			want: []Source{testSource(), secondSource("eni-c1"), secondSource("eni-d1"), secondSource("eni-d2")},
		},
		{
			name: "all: InterfaceType interface or absent is a source",
			inst: testInstance(typed(primary, "interface"), second("eni-2", i0, i1)),
			all:  true,
			want: []Source{testSource(), secondSource("eni-2")},
		},
		{
			name: "all: EFA, trunk, branch and other interface types are not sources",
			inst: testInstance(primary,
				typed(second("eni-efa", i0, i1), string(ec2types.NetworkInterfaceTypeEfa)),
				typed(second("eni-efaonly", i1, i0), string(ec2types.NetworkInterfaceTypeEfaOnly)),
				typed(second("eni-trunk", i0, i2), string(ec2types.NetworkInterfaceTypeTrunk)),
				typed(second("eni-branch", i1, i1), string(ec2types.NetworkInterfaceTypeBranch)),
				typed(second("eni-evs", i1, i2), "evs")),
			all:  true,
			want: []Source{testSource()},
		},
		{
			name: "all: a detaching or detached interface is not attached",
			inst: testInstance(primary,
				withStatus(second("eni-detaching", i0, i1), ec2types.AttachmentStatusDetaching),
				withStatus(second("eni-detached", i0, i2), ec2types.AttachmentStatusDetached),
				withStatus(second("eni-attached", i1, i0), ec2types.AttachmentStatusAttached)),
			all:  true,
			want: []Source{testSource(), secondSource("eni-attached")},
		},
		{
			name: "all: an interface without an attachment or device index is not attached",
			inst: testInstance(primary,
				without(second("eni-noattach", i0, i1), func(ni *ec2types.InstanceNetworkInterface) { ni.Attachment = nil }),
				second("eni-nodevice", i0, nil)),
			all:  true,
			want: []Source{testSource()},
		},
		{
			name: "all: another interface takes its subnet, VPC and groups from itself",
			inst: testInstance(primary, without(second("eni-2", i0, i1), func(ni *ec2types.InstanceNetworkInterface) {
				ni.SubnetId, ni.VpcId = aws.String("subnet-2"), aws.String("vpc-2")
			})),
			all: true,
			want: []Source{testSource(), func() Source {
				s := secondSource("eni-2")
				s.SubnetID, s.VPCID = "subnet-2", "vpc-2"
				return s
			}()},
		},
		{
			name: "all: the primary interface alone falls back to the instance's subnet and VPC",
			inst: testInstance(
				without(primary, func(ni *ec2types.InstanceNetworkInterface) { ni.SubnetId, ni.VpcId = nil, nil }),
				without(second("eni-2", i0, i1), func(ni *ec2types.InstanceNetworkInterface) { ni.VpcId = nil })),
			all: true,
			want: []Source{testSource(), func() Source {
				s := secondSource("eni-2")
				s.VPCID = ""
				return s
			}()},
		},
		{
			name:     "all: an interface at device index 0 on network card 1 is not the primary and has no subnet fallback",
			inst:     testInstance(primary, without(second("eni-c1", i1, i0), func(ni *ec2types.InstanceNetworkInterface) { ni.SubnetId = nil })),
			all:      true,
			want:     []Source{testSource()},
			wantErrs: map[string]string{"eni-c1": "instance i-src: network interface eni-c1 (device index 0 on network card 1) has no SubnetId"},
		},
		{
			name: "all: an incomplete interface does not hide the others",
			inst: testInstance(primary,
				without(second("eni-noip", i0, i1), func(ni *ec2types.InstanceNetworkInterface) { ni.PrivateIpAddress = nil }),
				without(second("eni-v6", i0, i2), func(ni *ec2types.InstanceNetworkInterface) { ni.PrivateIpAddress = aws.String("2001:db8::9") }),
				second("eni-3", i1, i0)),
			all:  true,
			want: []Source{testSource(), secondSource("eni-3")},
			wantErrs: map[string]string{
				"eni-noip": "network interface eni-noip has no primary private IPv4 address",
				"eni-v6":   `network interface eni-v6 has primary private address "2001:db8::9", which is not an IPv4 address`,
			},
		},
		{
			name:     "all: an incomplete primary interface does not hide the others",
			inst:     testInstance(instanceNI(srcENI, i0, i0, ""), second("eni-2", i0, i1)),
			all:      true,
			want:     []Source{secondSource("eni-2")},
			wantErrs: map[string]string{srcENI: "network interface eni-src has no primary private IPv4 address"},
		},
		{
			name:     "all: an interface without an id is reported by its device index",
			inst:     testInstance(primary, without(second("x", i0, i1), func(ni *ec2types.InstanceNetworkInterface) { ni.NetworkInterfaceId = nil })),
			all:      true,
			want:     []Source{testSource()},
			wantErrs: map[string]string{"": "network interface at device index 1 on network card 0 has no NetworkInterfaceId"},
		},
		{
			name: "all: an instance without a zone has no source",
			inst: func() ec2types.Instance {
				in := testInstance(primary, second("eni-2", i0, i1))
				in.Placement = nil
				return in
			}(),
			all:      true,
			wantErrs: map[string]string{"": "instance i-src has no Placement.AvailabilityZone"},
		},
		{
			name:     "all: an instance with no interface of type interface has no source",
			inst:     testInstance(typed(primary, "efa")),
			all:      true,
			wantErrs: map[string]string{"": "instance i-src has no attached network interface of type interface among its 1 interfaces"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SourcesOf(tt.inst, tt.all)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sources mismatch (-want +got):\n%s", diff)
			}
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Errorf("SourcesOf error = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, ErrIncompleteSource) {
				t.Fatalf("error %v does not wrap ErrIncompleteSource", err)
			}
			gotErrs := map[string]string{}
			for _, e := range unjoin(err) {
				var ie *InterfaceError
				key := ""
				if errors.As(e, &ie) {
					key = ie.NetworkInterfaceID
					if ie.InstanceID != "i-src" {
						t.Errorf("InterfaceError.InstanceID = %q, want i-src", ie.InstanceID)
					}
				}
				gotErrs[key] = e.Error()
			}
			if len(gotErrs) != len(tt.wantErrs) {
				t.Errorf("errors for %v, want for the interfaces of %v", gotErrs, tt.wantErrs)
			}
			for eni, phrase := range tt.wantErrs {
				if !strings.Contains(gotErrs[eni], phrase) {
					t.Errorf("error for %q = %q, want it to say %q", eni, gotErrs[eni], phrase)
				}
			}
		})
	}
}

// unjoin returns the errors errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // taking a join apart, not matching a cause
		return j.Unwrap()
	}
	return []error{err}
}

// TestSourceInterfaceIDs lists the interfaces SourcesOf would make
// sources, incomplete ones included, and leaves out what it leaves out.
func TestSourceInterfaceIDs(t *testing.T) {
	i0, i1, i2, i3 := aws.Int32(0), aws.Int32(1), aws.Int32(2), aws.Int32(3)
	incomplete := instanceNI("eni-noip", i0, i1, "")
	efa := instanceNI("eni-efa", i0, i2, "10.0.1.7")
	efa.InterfaceType = aws.String("efa")
	detaching := instanceNI("eni-going", i0, i3, "10.0.1.8")
	detaching.Attachment.Status = ec2types.AttachmentStatusDetaching
	inst := testInstance(detaching, efa, incomplete, instanceNI(srcENI, i0, i0, srcIP, srcGroup))
	tests := []struct {
		name string
		all  bool
		want []string
	}{
		{"primary: the interface at device index 0", false, []string{srcENI}},
		{"all: every attached interface of type interface, in device order, incomplete or not", true, []string{srcENI, "eni-noip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SourceInterfaceIDs(inst, tt.all); !slices.Equal(got, tt.want) {
				t.Errorf("= %v, want %v", got, tt.want)
			}
		})
	}
}
