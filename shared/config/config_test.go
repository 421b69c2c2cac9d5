package config_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

// valid is a complete configuration that passes Validate; cases change one field.
func valid() config.Config {
	return config.Config{
		FilterID:      "tmf-0a1b2c3d4e5f60718",
		SensorTag:     config.DefaultSensorTag,
		SessionNumber: 1,
		ExcludeTag:    config.DefaultExcludeTag,
		Interfaces:    config.InterfacesPrimary,
	}
}

// defaulted is c with the defaults of the keys a case does not test, so a
// want states only what the case is about.
func defaulted(c config.Config) config.Config {
	if c.ExcludeTag == (config.Tag{}) {
		c.ExcludeTag = config.DefaultExcludeTag
	}
	if c.Interfaces == "" {
		c.Interfaces = config.InterfacesPrimary
	}
	return c
}

// lookup is FromEnv's getenv over a map, as a test's environment.
func lookup(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// equateEnv treats a nil and an empty TargetIDs alike: Parse keeps JSON's
// [] and FromEnv cannot tell an unset variable from an empty list.
var equateEnv = cmpopts.EquateEmpty()

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*config.Config)
		wantErr string // a substring of the error, "" for none
	}{
		{name: "the documented configuration is valid", change: func(*config.Config) {}},
		{
			name:    "FilterId is required",
			change:  func(c *config.Config) { c.FilterID = "" },
			wantErr: "FilterId is required",
		},
		{
			name:   "FilterId with 8 hex digits is valid",
			change: func(c *config.Config) { c.FilterID = "tmf-0a1b2c3d" },
		},
		{
			name:   "FilterId with 17 hex digits is valid",
			change: func(c *config.Config) { c.FilterID = "tmf-0a1b2c3d4e5f60718" },
		},
		{
			name:    "FilterId with uppercase hex digits is malformed",
			change:  func(c *config.Config) { c.FilterID = "tmf-0A1B2C3D4E5F60718" },
			wantErr: `FilterId "tmf-0A1B2C3D4E5F60718" is not a traffic mirror filter id`,
		},
		{
			name:    "FilterId with 7 hex digits is too short",
			change:  func(c *config.Config) { c.FilterID = "tmf-0a1b2c3" },
			wantErr: `FilterId "tmf-0a1b2c3" is not a traffic mirror filter id`,
		},
		{
			name:    "FilterId with 9 hex digits is neither short nor long form",
			change:  func(c *config.Config) { c.FilterID = "tmf-0a1b2c3d4" },
			wantErr: `FilterId "tmf-0a1b2c3d4" is not a traffic mirror filter id`,
		},
		{
			name:    "FilterId with 18 hex digits is too long",
			change:  func(c *config.Config) { c.FilterID = "tmf-0a1b2c3d4e5f607189" },
			wantErr: `FilterId "tmf-0a1b2c3d4e5f607189" is not a traffic mirror filter id`,
		},
		{
			name:    "FilterId must be a filter, not a target",
			change:  func(c *config.Config) { c.FilterID = "tmt-0a1b2c3d" },
			wantErr: `FilterId "tmt-0a1b2c3d" is not a traffic mirror filter id`,
		},
		{
			name:    "FilterId with surrounding space is malformed",
			change:  func(c *config.Config) { c.FilterID = " tmf-0a1b2c3d" },
			wantErr: `FilterId " tmf-0a1b2c3d" is not a traffic mirror filter id`,
		},
		{
			name: "TargetIds accept 8 and 17 hex digit ids",
			change: func(c *config.Config) {
				c.TargetIDs = []string{"tmt-0aa11bb2", "tmt-0aa11bb22cc33dd44"}
			},
		},
		{
			name: "a malformed TargetIds entry is named by its index",
			change: func(c *config.Config) {
				c.TargetIDs = []string{"tmt-0aa11bb2", "tmt-0AA11BB2", "tmt-x"}
			},
			wantErr: `TargetIds[1] "tmt-0AA11BB2" is not a traffic mirror target id`,
		},
		{
			name:    "an empty TargetIds entry is malformed",
			change:  func(c *config.Config) { c.TargetIDs = []string{""} },
			wantErr: `TargetIds[0] ""`,
		},
		{
			name:    "TargetIds must be targets, not filters",
			change:  func(c *config.Config) { c.TargetIDs = []string{"tmf-0a1b2c3d"} },
			wantErr: `TargetIds[0] "tmf-0a1b2c3d" is not a traffic mirror target id`,
		},
		{
			name: "TargetIds alone name the candidates",
			change: func(c *config.Config) {
				c.TargetIDs, c.SensorTag = []string{"tmt-0aa11bb2"}, config.Tag{}
			},
		},
		{
			name:    "neither TargetIds nor SensorTag leaves no candidate",
			change:  func(c *config.Config) { c.TargetIDs, c.SensorTag = nil, config.Tag{} },
			wantErr: "either TargetIds or SensorTag.Key must be set",
		},
		{
			name:    "a SensorTag Value without a Key names no candidate",
			change:  func(c *config.Config) { c.SensorTag = config.Tag{Value: "true"} },
			wantErr: "either TargetIds or SensorTag.Key must be set",
		},
		{
			name:    "SessionNumber 0 is out of range before defaults",
			change:  func(c *config.Config) { c.SessionNumber = 0 },
			wantErr: "SessionNumber 0 is out of range 1-32766",
		},
		{
			name:   "SessionNumber 32766 is the largest allowed",
			change: func(c *config.Config) { c.SessionNumber = 32766 },
		},
		{
			name:    "SessionNumber 32767 is out of range",
			change:  func(c *config.Config) { c.SessionNumber = 32767 },
			wantErr: "SessionNumber 32767 is out of range 1-32766",
		},
		{
			name:    "a negative SessionNumber is out of range",
			change:  func(c *config.Config) { c.SessionNumber = -1 },
			wantErr: "SessionNumber -1 is out of range 1-32766",
		},
		{
			name: "the first problem is the one reported",
			change: func(c *config.Config) {
				c.FilterID, c.TargetIDs, c.SessionNumber = "", []string{"bad"}, 0
			},
			wantErr: "FilterId is required",
		},
		{
			name:   "Interfaces all is valid",
			change: func(c *config.Config) { c.Interfaces = config.InterfacesAll },
		},
		{
			name:   "an empty Interfaces means primary",
			change: func(c *config.Config) { c.Interfaces = "" },
		},
		{
			name:    "Interfaces must be primary or all",
			change:  func(c *config.Config) { c.Interfaces = "some" },
			wantErr: `Interfaces "some" is not primary or all`,
		},
		{
			name:    "Interfaces is case-sensitive",
			change:  func(c *config.Config) { c.Interfaces = "Primary" },
			wantErr: `Interfaces "Primary" is not primary or all`,
		},
		{
			name:   "a configured ExcludeTag is valid",
			change: func(c *config.Config) { c.ExcludeTag = config.Tag{Key: "mirror", Value: "no"} },
		},
		{
			name:    "an ExcludeTag Value without a Key opts nobody out",
			change:  func(c *config.Config) { c.ExcludeTag = config.Tag{Value: "true"} },
			wantErr: `ExcludeTag.Key is required when ExcludeTag.Value ("true") is set`,
		},
		{
			name:   "the documented rules are valid",
			change: func(c *config.Config) { c.Rules = documentedRules() },
		},
		{
			name:   "a rule may give nothing but a Name and an empty Match",
			change: func(c *config.Config) { c.Rules = []config.Rule{{Name: "everything"}} },
		},
		{
			name:    "a rule without a Name is named by its index",
			change:  func(c *config.Config) { c.Rules = []config.Rule{{Name: "a"}, {Name: "b"}, {}} },
			wantErr: "Rules[2]: Name is required",
		},
		{
			name:    "a blank Name is no Name",
			change:  func(c *config.Config) { c.Rules = []config.Rule{{Name: "  "}} },
			wantErr: "Rules[0]: Name is required",
		},
		{
			name: "a Name given twice names both rules",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "pci"}, {Name: "prod"}, {Name: "dev"}, {Name: "pci"}}
			},
			wantErr: `Rules[3] ("pci"): Name is given twice (also Rules[0])`,
		},
		{
			name:   "Names differing in case are different rules",
			change: func(c *config.Config) { c.Rules = []config.Rule{{Name: "pci"}, {Name: "PCI"}} },
		},
		{
			name: "a rule's FilterId is named with the rule",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "pci", FilterID: "tmf-0a1b2c3d"}, {Name: "prod", FilterID: "x"}}
			},
			wantErr: `Rules[1] ("prod"): FilterId "x" is not a traffic mirror filter id (tmf- followed by 8 or 17 hex digits)`,
		},
		{
			name: "a rule's TargetIds entry is named by the rule and its index",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "a", TargetIDs: []string{"tmt-0aa11bb2", "tmf-0aa11bb2"}}}
			},
			wantErr: `Rules[0] ("a"): TargetIds[1] "tmf-0aa11bb2" is not a traffic mirror target id`,
		},
		{
			name: "a rule's SensorTag needs a Key",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "a", SensorTag: &config.Tag{Value: "true"}}}
			},
			wantErr: `Rules[0] ("a"): SensorTag.Key is required when SensorTag is given`,
		},
		{
			name: "a rule's SensorTag may have an empty Value",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "a", SensorTag: &config.Tag{Key: "ids"}}}
			},
		},
		{
			name:    "a rule's SessionNumber is range-checked like the top-level one",
			change:  func(c *config.Config) { c.Rules = []config.Rule{{Name: "a", SessionNumber: 40000}} },
			wantErr: `Rules[0] ("a"): SessionNumber 40000 is out of range 1-32766`,
		},
		{
			name:    "a rule's negative SessionNumber is out of range",
			change:  func(c *config.Config) { c.Rules = []config.Rule{{Name: "a", SessionNumber: -2}} },
			wantErr: `Rules[0] ("a"): SessionNumber -2 is out of range 1-32766`,
		},
		{
			name:   "a rule's SessionNumber 32766 is the largest allowed",
			change: func(c *config.Config) { c.Rules = []config.Rule{{Name: "a", SessionNumber: 32766}} },
		},
		{
			name: "a Match subnet must be a subnet id",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "a", Match: config.Match{SubnetIDs: []string{"subnet-0123456789abcdef0", "sub-1"}}}}
			},
			wantErr: `Rules[0] ("a"): Match.SubnetIds[1] "sub-1" is not a subnet id`,
		},
		{
			name: "a Match VPC must be a VPC id",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "a", Match: config.Match{VPCIDs: []string{"vpc-0A1B2C3D"}}}}
			},
			wantErr: `Rules[0] ("a"): Match.VpcIds[0] "vpc-0A1B2C3D" is not a VPC id`,
		},
		{
			name: "a Match tag needs a Key",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "a", Match: config.Match{Tags: []config.Tag{{Key: "env", Value: "prod"}, {Value: "x"}}}}}
			},
			wantErr: `Rules[0] ("a"): Match.Tags[1].Key is required`,
		},
		{
			name: "a Match tag may have an empty Value",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "a", Match: config.Match{Tags: []config.Tag{{Key: "team"}}}}}
			},
		},
		{
			name: "a Match key given twice could never match, as an instance has one value per key",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "a", Match: config.Match{Tags: []config.Tag{
					{Key: "env", Value: "prod"}, {Key: "team", Value: "ops"}, {Key: "env", Value: "dev"}}}}}
			},
			wantErr: `Rules[0] ("a"): Match.Tags[2] repeats the key "env" of Match.Tags[0]`,
		},
		{
			name: "the first bad rule is the one reported",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "ok"}, {Name: "bad", FilterID: "x"}, {Name: "worse", SessionNumber: -1}}
			},
			wantErr: `Rules[1] ("bad"): FilterId "x"`,
		},
		{
			name: "top-level problems are reported before the rules'",
			change: func(c *config.Config) {
				c.SessionNumber, c.Rules = 0, []config.Rule{{}}
			},
			wantErr: "SessionNumber 0 is out of range 1-32766",
		},
		{
			name: "GuardDuty enabled under a rule of Rules, from high severity, is valid",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "forensics", Match: config.Match{Tags: []config.Tag{{Key: "forensics", Value: "true"}}}}, {Name: "rest"}}
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 7, Rule: "forensics"}
			},
		},
		{
			name: "GuardDuty.Rule that names no rule is refused, listing the rules",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "pci"}, {Name: "prod"}}
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 7, Rule: "forensic"}
			},
			wantErr: `GuardDuty: Rule "forensic" names no rule of Rules (pci, prod)`,
		},
		{
			name: "GuardDuty.Rule cannot name a rule when there are no Rules",
			change: func(c *config.Config) {
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 7, Rule: "forensics"}
			},
			wantErr: `GuardDuty: Rule "forensics" names no rule: Rules is empty`,
		},
		{
			name: "GuardDuty enabled without a Rule is refused",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "forensics"}}
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 7}
			},
			wantErr: "GuardDuty: Rule is required when Enabled",
		},
		{
			name: "GuardDuty.MinSeverity above 10.0 is out of GuardDuty's range",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "forensics"}}
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 10.5, Rule: "forensics"}
			},
			wantErr: "GuardDuty: MinSeverity 10.5 is out of GuardDuty's range 1.0-10.0",
		},
		{
			name: "GuardDuty.MinSeverity left out (0) is below GuardDuty's range when enabled",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "forensics"}}
				c.GuardDuty = &config.GuardDuty{Enabled: true, Rule: "forensics"}
			},
			wantErr: "GuardDuty: MinSeverity 0 is out of GuardDuty's range",
		},
		{
			name: "GuardDuty.MinSeverity 1.0, the lowest severity, is valid",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "forensics"}}
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 1, Rule: "forensics"}
			},
		},
		{
			name: "GuardDuty.MinSeverity 10.0, the highest critical severity, is valid",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "forensics"}}
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 10, Rule: "forensics"}
			},
		},
		{
			name: "GuardDuty.MinSeverity just under 1.0 is refused",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "forensics"}}
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 0.9, Rule: "forensics"}
			},
			wantErr: "GuardDuty: MinSeverity 0.9 is out of GuardDuty's range",
		},
		{
			name:   "GuardDuty disabled and empty is valid without Rules",
			change: func(c *config.Config) { c.GuardDuty = &config.GuardDuty{} },
		},
		{
			name: "a disabled GuardDuty's Rule is still checked",
			change: func(c *config.Config) {
				c.Rules = []config.Rule{{Name: "pci"}}
				c.GuardDuty = &config.GuardDuty{Rule: "pcii"}
			},
			wantErr: `GuardDuty: Rule "pcii" names no rule of Rules (pci)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			checkErr(t, c.Validate(), tt.wantErr)
		})
	}
}

// checkErr fails t unless err is nil when wantErr is empty, or else wraps
// ErrInvalid and contains wantErr.
func checkErr(t *testing.T, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("error = %v, want none", err)
	case wantErr == "":
	case err == nil:
		t.Fatalf("error = nil, want one containing %q", wantErr)
	case !strings.Contains(err.Error(), wantErr):
		t.Errorf("error = %q, want it to contain %q", err, wantErr)
	case !errors.Is(err, config.ErrInvalid):
		t.Errorf("error %q does not wrap ErrInvalid", err)
	}
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   config.Config
		want config.Config
	}{
		{
			name: "an empty configuration gets the default sensor tag, session number 1, the default exclude tag and primary interfaces",
			in:   config.Config{FilterID: "tmf-0a1b2c3d"},
			want: config.Config{
				FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1,
				ExcludeTag: config.Tag{Key: "mirrorflow:exclude", Value: "true"}, Interfaces: "primary",
			},
		},
		{
			name: "SensorTag is not defaulted when TargetIds are set",
			in:   config.Config{TargetIDs: []string{"tmt-0aa11bb2"}},
			want: defaulted(config.Config{TargetIDs: []string{"tmt-0aa11bb2"}, SessionNumber: 1}),
		},
		{
			name: "a configured SensorTag is kept",
			in:   config.Config{SensorTag: config.Tag{Key: "role", Value: "ids"}},
			want: defaulted(config.Config{SensorTag: config.Tag{Key: "role", Value: "ids"}, SessionNumber: 1}),
		},
		{
			name: "a SensorTag without a Key is replaced by the default",
			in:   config.Config{SensorTag: config.Tag{Value: "ids"}},
			want: defaulted(config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1}),
		},
		{
			name: "a configured SessionNumber is kept",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 7, LocalZoneOnly: true},
			want: defaulted(config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 7, LocalZoneOnly: true}),
		},
		{
			name: "an out-of-range SessionNumber is left for Validate to report",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: -3},
			want: defaulted(config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: -3}),
		},
		{
			name: "a configured ExcludeTag is kept",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, ExcludeTag: config.Tag{Key: "mirror", Value: "off"}},
			want: defaulted(config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, ExcludeTag: config.Tag{Key: "mirror", Value: "off"}}),
		},
		{
			name: "an ExcludeTag without a Key is replaced by the default",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, ExcludeTag: config.Tag{Value: "off"}},
			want: defaulted(config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, ExcludeTag: config.DefaultExcludeTag}),
		},
		{
			name: "Interfaces all is kept",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, Interfaces: config.InterfacesAll},
			want: defaulted(config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, Interfaces: "all"}),
		},
		{
			name: "an invalid Interfaces is left for Validate to report",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, Interfaces: "some"},
			want: defaulted(config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, Interfaces: "some"}),
		},
		{
			name: "rules get no defaults: what a rule leaves out is the top-level value",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, Rules: []config.Rule{{Name: "a"}}},
			want: defaulted(config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1, Rules: []config.Rule{{Name: "a"}}}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.in.WithDefaults()); diff != "" {
				t.Errorf("WithDefaults (-want +got):\n%s", diff)
			}
		})
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    config.Config
		wantErr string
		// wantAs, when set, is a pointer to the JSON error type the error must expose.
		wantAs any
	}{
		{
			name:  "the documented Config parses as written",
			input: readTestdata(t, "documented.json"),
			want: config.Config{
				FilterID: "tmf-0a1b2c3d4e5f60718", TargetIDs: []string{},
				SensorTag: config.Tag{Key: "mirrorflow:sensor", Value: "true"}, SessionNumber: 1,
				ExcludeTag: config.Tag{Key: "mirrorflow:exclude", Value: "true"}, Interfaces: "primary",
				Rules: documentedRules(),
			},
		},
		{
			name:  "a Config without the scope keys parses with their defaults",
			input: readTestdata(t, "top-level-only.json"),
			want: defaulted(config.Config{
				FilterID: "tmf-0a1b2c3d4e5f60718", TargetIDs: []string{},
				SensorTag: config.Tag{Key: "mirrorflow:sensor", Value: "true"}, SessionNumber: 1,
			}),
		},
		{
			name:  "omitted keys take their defaults",
			input: readTestdata(t, "filter-only.json"),
			want:  defaulted(config.Config{FilterID: "tmf-0a1b2c3d4e5f60718", SensorTag: config.DefaultSensorTag, SessionNumber: 1}),
		},
		{
			name:  "TargetIds leave SensorTag unset",
			input: readTestdata(t, "target-ids.json"),
			want: defaulted(config.Config{
				FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb22cc33dd44", "tmt-0ee55ff6"},
				LocalZoneOnly: true, SessionNumber: 32766,
			}),
		},
		{
			name:  "SessionNumber 0 becomes 1 after defaults",
			input: `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": 0}`,
			want:  defaulted(config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1}),
		},
		{
			name:  "whitespace after the object is allowed",
			input: "{\"FilterId\": \"tmf-0a1b2c3d\"}\n\t \n",
			want:  defaulted(config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1}),
		},
		{
			name:  "Interfaces all and an ExcludeTag are read",
			input: `{"FilterId": "tmf-0a1b2c3d", "Interfaces": "all", "ExcludeTag": {"Key": "mirror", "Value": "off"}}`,
			want: config.Config{
				FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1,
				ExcludeTag: config.Tag{Key: "mirror", Value: "off"}, Interfaces: "all",
			},
		},
		{
			name: "a rule's values are read, unset ones left for the top level",
			input: `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a", "Match": {}, "FilterId": "tmf-0e1f2a3b",
				"SensorTag": {"Key": "ids", "Value": ""}, "LocalZoneOnly": false, "SessionNumber": 9}, {"Name": "b", "Match": {}}]}`,
			want: defaulted(config.Config{
				FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1,
				Rules: []config.Rule{
					{Name: "a", FilterID: "tmf-0e1f2a3b", SensorTag: &config.Tag{Key: "ids"}, LocalZoneOnly: ptr(false), SessionNumber: 9},
					{Name: "b"},
				},
			}),
		},
		{
			name:    "Interfaces other than primary or all is rejected",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Interfaces": "some"}`,
			wantErr: `Interfaces "some" is not primary or all`,
		},
		{
			name:    "a bad rule is named by index and name",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "pci"}, {"Name": "prod", "FilterId": "tmf-x"}]}`,
			wantErr: `Rules[1] ("prod"): FilterId "tmf-x" is not a traffic mirror filter id`,
		},
		{
			name:    "an unknown key in a rule's Match is named by its path",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "pci"}, {"Name": "prod", "Match": {"VpcIds": [], "Tag": []}}]}`,
			wantErr: `decoding: Rules[1].Match: unknown field "Tag"`,
		},
		{
			name:    "an unknown key in a rule is named by its path",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "pci", "Filter": "tmf-0a1b2c3d"}]}`,
			wantErr: `decoding: Rules[0]: unknown field "Filter"`,
		},
		{
			name:    "an unknown key in a Match tag is named by its path",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a", "Match": {"Tags": [{"Key": "env", "Value": "prod"}, {"Key": "k", "Values": "v"}]}}]}`,
			wantErr: `decoding: Rules[0].Match.Tags[1]: unknown field "Values"`,
		},
		{
			name:    "an unknown key in a rule's SensorTag is named by its path",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a", "SensorTag": {"Key": "k", "Val": "v"}}]}`,
			wantErr: `decoding: Rules[0].SensorTag: unknown field "Val"`,
		},
		{
			name:  "GuardDuty parses with its rule",
			input: `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "forensics"}], "GuardDuty": {"Enabled": true, "MinSeverity": 7.5, "Rule": "forensics"}}`,
			want: defaulted(config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1,
				Rules: []config.Rule{{Name: "forensics"}}, GuardDuty: &config.GuardDuty{Enabled: true, MinSeverity: 7.5, Rule: "forensics"}}),
		},
		{
			name:    "an unknown key in GuardDuty is named by its path",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "forensics"}], "GuardDuty": {"Enabled": true, "Severity": 7, "Rule": "forensics"}}`,
			wantErr: `decoding: GuardDuty: unknown field "Severity"`,
		},
		{
			name:    "the first unknown key in the document is the one named",
			input:   `{"FilterId": "tmf-0a1b2c3d", "ExcludeTags": {}, "Rules": [{"Name": "a", "Macth": {}}]}`,
			wantErr: `decoding: unknown field "ExcludeTags"`,
		},
		{
			name:  "keys match case-insensitively inside rules, as encoding/json matches them",
			input: `{"filterid": "tmf-0a1b2c3d", "rules": [{"name": "a", "match": {"subnetids": ["subnet-0123abcd"]}, "sensortag": {"key": "k", "value": "v"}}]}`,
			want: defaulted(config.Config{
				FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1,
				Rules: []config.Rule{{Name: "a", Match: config.Match{SubnetIDs: []string{"subnet-0123abcd"}}, SensorTag: &config.Tag{Key: "k", Value: "v"}}},
			}),
		},
		{
			name:    "a type error before an unknown key keeps its UnmarshalTypeError",
			input:   `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": "1", "Bogus": true}`,
			wantErr: "SessionNumber",
			wantAs:  new(*json.UnmarshalTypeError),
		},
		{
			name:    "a rule's LocalZoneOnly must be a boolean",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a", "LocalZoneOnly": "yes"}]}`,
			wantErr: "LocalZoneOnly",
			wantAs:  new(*json.UnmarshalTypeError),
		},
		{
			name:    "Rules must be a list",
			input:   `{"FilterId": "tmf-0a1b2c3d", "Rules": {"Name": "a"}}`,
			wantErr: "Rules",
			wantAs:  new(*json.UnmarshalTypeError),
		},
		{
			name:    "SessionNumber 32767 is rejected after parsing",
			input:   `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": 32767}`,
			wantErr: "SessionNumber 32767 is out of range",
		},
		{
			name:    "a negative SessionNumber is rejected after parsing",
			input:   `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": -1}`,
			wantErr: "SessionNumber -1 is out of range",
		},
		{
			name:    "a missing FilterId is named",
			input:   `{"TargetIds": ["tmt-0aa11bb2"]}`,
			wantErr: "FilterId is required",
		},
		{
			name:    "a malformed TargetIds entry is named by its index",
			input:   `{"FilterId": "tmf-0a1b2c3d", "TargetIds": ["tmt-0aa11bb2", "tmt-0aa11bb"]}`,
			wantErr: `TargetIds[1] "tmt-0aa11bb"`,
		},
		{
			name:    "JSON null is a configuration without FilterId",
			input:   `null`,
			wantErr: "FilterId is required",
		},
		{
			name:    "an unknown key is rejected",
			input:   `{"FilterId": "tmf-0a1b2c3d", "SessionNumbr": 2}`,
			wantErr: `unknown field "SessionNumbr"`,
		},
		{
			name:    "an unknown key inside SensorTag is rejected",
			input:   `{"FilterId": "tmf-0a1b2c3d", "SensorTag": {"Key": "k", "Values": "v"}}`,
			wantErr: `unknown field "Values"`,
		},
		{
			name:    "trailing garbage is rejected",
			input:   `{"FilterId": "tmf-0a1b2c3d"} garbage`,
			wantErr: "invalid character 'g'",
			wantAs:  new(*json.SyntaxError),
		},
		{
			name:    "a trailing closing brace is rejected",
			input:   `{"FilterId": "tmf-0a1b2c3d"}}`,
			wantErr: "invalid character '}'",
			wantAs:  new(*json.SyntaxError),
		},
		{
			name:    "a second object is rejected",
			input:   `{"FilterId": "tmf-0a1b2c3d"} {"FilterId": "tmf-0e1f2a3b"}`,
			wantErr: "unexpected { after the configuration object",
		},
		{
			name:    "malformed JSON exposes the SyntaxError",
			input:   `{"FilterId": "tmf-0a1b2c3d",}`,
			wantErr: "decoding: invalid character '}'",
			wantAs:  new(*json.SyntaxError),
		},
		{
			name:    "a truncated document is rejected",
			input:   `{"FilterId": "tmf-0a1b2c3d"`,
			wantErr: "decoding: unexpected EOF",
		},
		{
			name:    "empty input is rejected",
			input:   ``,
			wantErr: "decoding: EOF",
		},
		{
			name:    "a string SessionNumber exposes the UnmarshalTypeError",
			input:   `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": "1"}`,
			wantErr: "SessionNumber",
			wantAs:  new(*json.UnmarshalTypeError),
		},
		{
			name:    "a SessionNumber beyond int32 exposes the UnmarshalTypeError",
			input:   `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": 4294967297}`,
			wantErr: "SessionNumber",
			wantAs:  new(*json.UnmarshalTypeError),
		},
		{
			name:    "a fractional SessionNumber exposes the UnmarshalTypeError",
			input:   `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": 1.5}`,
			wantErr: "SessionNumber",
			wantAs:  new(*json.UnmarshalTypeError),
		},
		{
			name:    "TargetIds as a comma-separated string exposes the UnmarshalTypeError",
			input:   `{"FilterId": "tmf-0a1b2c3d", "TargetIds": "tmt-0aa11bb2,tmt-0ee55ff6"}`,
			wantErr: "TargetIds",
			wantAs:  new(*json.UnmarshalTypeError),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse([]byte(tt.input))
			checkErr(t, err, tt.wantErr)
			if tt.wantAs != nil && !errors.As(err, tt.wantAs) {
				t.Errorf("error %q does not expose %T", err, tt.wantAs)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Config
	}{
		{name: "the default sensor tag survives", cfg: valid()},
		{
			name: "TargetIds survive in order without a sensor tag",
			cfg: defaulted(config.Config{
				FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0ee55ff6", "tmt-0aa11bb22cc33dd44", "tmt-0aa11bb2"},
				SessionNumber: 1,
			}),
		},
		{
			name: "TargetIds and a sensor tag survive together",
			cfg: defaulted(config.Config{
				FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb2"},
				SensorTag: config.Tag{Key: "role", Value: "ids"}, SessionNumber: 3,
			}),
		},
		{
			name: "LocalZoneOnly true survives",
			cfg:  defaulted(config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, LocalZoneOnly: true, SessionNumber: 1}),
		},
		{
			name: "the largest SessionNumber survives",
			cfg:  defaulted(config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 32766}),
		},
		{
			name: "a sensor tag with commas, spaces and an empty value survives",
			cfg:  defaulted(config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.Tag{Key: " team, ops ", Value: ""}, SessionNumber: 1}),
		},
		{
			name: "a tag value without a key survives beside TargetIds",
			cfg: defaulted(config.Config{
				FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb2"},
				SensorTag: config.Tag{Value: "orphan"}, SessionNumber: 1,
			}),
		},
		{
			name: "an ExcludeTag and Interfaces all survive",
			cfg: config.Config{
				FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1,
				ExcludeTag: config.Tag{Key: "mirror", Value: "off"}, Interfaces: config.InterfacesAll,
			},
		},
		{
			name: "rules survive in order, a LocalZoneOnly false and an empty tag value included",
			cfg: defaulted(config.Config{
				FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, LocalZoneOnly: true, SessionNumber: 1,
				Rules: []config.Rule{
					{Name: "pci", Match: config.Match{SubnetIDs: []string{"subnet-0123456789abcdef0"}}, TargetIDs: []string{"tmt-0aa11bb2"}, LocalZoneOnly: ptr(false)},
					{Name: "ids", Match: config.Match{Tags: []config.Tag{{Key: "team"}}}, SensorTag: &config.Tag{Key: "ids"}, SessionNumber: 5},
					{Name: "rest", FilterID: "tmf-0e1f2a3b"},
				},
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err != nil {
				t.Fatalf("the case itself is invalid: %v", err)
			}
			got, err := config.FromEnv(lookup(tt.cfg.Env()))
			if err != nil {
				t.Fatalf("FromEnv(Env()) = %v", err)
			}
			if diff := cmp.Diff(tt.cfg, got, equateEnv); diff != "" {
				t.Errorf("FromEnv(Env()) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvIsOneVariableHoldingTheConfigurationAsJSON(t *testing.T) {
	env := valid().Env()
	if len(env) != 1 {
		t.Errorf("Env sets %d variables, want only %s", len(env), config.EnvConfig)
	}
	var back config.Config
	if err := json.Unmarshal([]byte(env[config.EnvConfig]), &back); err != nil {
		t.Fatalf("%s is not JSON: %v", config.EnvConfig, err)
	}
	if diff := cmp.Diff(valid(), back); diff != "" {
		t.Errorf("%s decodes to (-want +got):\n%s", config.EnvConfig, diff)
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config.Config
		wantErr string
	}{
		{
			name: "keys the JSON leaves out take the defaults",
			env:  map[string]string{config.EnvConfig: `{"FilterId": "tmf-0a1b2c3d"}`},
			want: defaulted(config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1}),
		},
		{
			name: "SessionNumber 0 becomes 1",
			env:  map[string]string{config.EnvConfig: `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": 0}`},
			want: defaulted(config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1}),
		},
		{
			name:    "an unset variable is named",
			env:     map[string]string{},
			wantErr: "MIRRORFLOW_CONFIG is not set",
		},
		{
			name:    "a blank variable is named",
			env:     map[string]string{config.EnvConfig: " \n"},
			wantErr: "MIRRORFLOW_CONFIG is not set",
		},
		{
			name:    "malformed JSON names the variable",
			env:     map[string]string{config.EnvConfig: `FilterId=tmf-0a1b2c3d`},
			wantErr: "reading MIRRORFLOW_CONFIG: invalid mirrorflow configuration: decoding: invalid character",
		},
		{
			name:    "an unknown key is refused as at synth",
			env:     map[string]string{config.EnvConfig: `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a", "Match": {"Subnets": []}}]}`},
			wantErr: `Rules[0].Match: unknown field "Subnets"`,
		},
		{
			name:    "an unset FilterId is named by its configuration key",
			env:     map[string]string{config.EnvConfig: `{}`},
			wantErr: "reading MIRRORFLOW_CONFIG: invalid mirrorflow configuration: FilterId is required",
		},
		{
			name:    "SessionNumber 32767 is out of range",
			env:     map[string]string{config.EnvConfig: `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": 32767}`},
			wantErr: "SessionNumber 32767 is out of range",
		},
		{
			name:    "an empty TargetIds entry is named by its index",
			env:     map[string]string{config.EnvConfig: `{"FilterId": "tmf-0a1b2c3d", "TargetIds": ["tmt-0aa11bb2", "", "tmt-0ee55ff6"]}`},
			wantErr: `TargetIds[1] ""`,
		},
		{
			name:    "a bad rule is named as at synth",
			env:     map[string]string{config.EnvConfig: `{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a"}, {"Name": "a"}]}`},
			wantErr: `Rules[1] ("a"): Name is given twice (also Rules[0])`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.FromEnv(lookup(tt.env))
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromEnv (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParse checks that no input makes Parse panic, that every error it
// returns is an ErrInvalid, and that whatever it accepts is valid, already
// defaulted, and reaches a Lambda unchanged through Env and FromEnv.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `"tmf-0a1b2c3d"`,
		`{"FilterId": "tmf-0a1b2c3d"} x`,
		`{"FilterId": "tmf-0a1b2c3d", "TargetIds": ["tmt-0aa11bb2", "tmt-0aa11bb22cc33dd44"]}`,
		`{"FilterId": "tmf-0a1b2c3d", "TargetIds": null, "SensorTag": {"Key": "a,b", "Value": " "}}`,
		`{"FilterId": "tmf-0a1b2c3d", "SensorTag": {"Value": "v"}, "SessionNumber": 32766}`,
		`{"FilterId": "tmf-0a1b2c3d", "LocalZoneOnly": true, "SessionNumber": -0}`,
		`{"filterid": "tmf-0a1b2c3d", "sessionnumber": 1e1}`,
		`{"FilterId": "tmf-0a1b2c3d", "Interfaces": "all", "ExcludeTag": {"Key": "x", "Value": ""}}`,
		`{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a", "Match": {"Tags": [{"Key": "env", "Value": "prod"}]}, "LocalZoneOnly": false}]}`,
		`{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a", "Match": {"Tag": []}}]}`,
		`{"FilterId": "tmf-0a1b2c3d", "Rules": [{"Name": "a", "SensorTag": null, "TargetIds": [], "Match": {"VpcIds": ["vpc-0a1b2c3d"]}}]}`,
		`{"Rules": [{"Match": {"Tags": [{"Key": 1}]}}, {"X": [[{}]]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data)
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("Parse error %q does not wrap ErrInvalid", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted %q, but Validate says %v", data, err)
		}
		if diff := cmp.Diff(c, c.WithDefaults()); diff != "" {
			t.Fatalf("Parse returned a configuration WithDefaults still changes (-parsed +defaulted):\n%s", diff)
		}
		got, err := config.FromEnv(lookup(c.Env()))
		if err != nil {
			t.Fatalf("Parse accepted %q, but FromEnv(Env()) says %v", data, err)
		}
		if diff := cmp.Diff(c, got, equateEnv); diff != "" {
			t.Fatalf("FromEnv(Env()) of %q (-parsed +read):\n%s", data, diff)
		}
	})
}
