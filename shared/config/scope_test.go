package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

func ptr[T any](v T) *T { return &v }

// documentedRules are the Rules of the Config in snapshot-format.md
// (testdata/documented.json).
func documentedRules() []config.Rule {
	return []config.Rule{
		{
			Name: "pci", Match: config.Match{SubnetIDs: []string{"subnet-0123456789abcdef0"}},
			TargetIDs: []string{"tmt-0a1b2c3d4e5f60718"}, LocalZoneOnly: ptr(true),
		},
		{
			Name: "prod", Match: config.Match{Tags: []config.Tag{{Key: "env", Value: "prod"}}, VPCIDs: []string{"vpc-0a1b2c3d"}},
		},
	}
}

// Names of the resources the scope cases place an interface in.
const (
	pciSubnet   = "subnet-0123456789abcdef0"
	otherSubnet = "subnet-0fedcba987654321f"
	prodVPC     = "vpc-0a1b2c3d"
	otherVPC    = "vpc-0e0e0e0e"
)

var (
	envProd = config.Tag{Key: "env", Value: "prod"}
	envDev  = config.Tag{Key: "env", Value: "dev"}
	teamOps = config.Tag{Key: "team", Value: "ops"}
)

// top is the top level the scope cases lay rules over: its candidates by id.
func top(rules ...config.Rule) config.Config {
	return config.Config{
		FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb2"}, SensorTag: config.Tag{Key: "role", Value: "sensor"},
		LocalZoneOnly: true, SessionNumber: 3, ExcludeTag: config.DefaultExcludeTag, Interfaces: config.InterfacesPrimary,
		Rules: rules,
	}
}

// topScope is the scope top() gives an interface no rule changes.
func topScope(rule string) config.Scope {
	return config.Scope{
		Rule: rule, FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb2"},
		SensorTag: config.Tag{Key: "role", Value: "sensor"}, LocalZoneOnly: true, SessionNumber: 3,
	}
}

func TestScopeOf(t *testing.T) {
	type iface struct {
		tags        []config.Tag
		subnet, vpc string
	}
	tests := []struct {
		name   string
		cfg    config.Config
		iface  iface
		want   config.Scope
		wantOK bool
	}{
		{
			name:   "no rules: every interface is in scope with the top-level values",
			cfg:    top(),
			iface:  iface{subnet: otherSubnet, vpc: otherVPC},
			want:   topScope(""),
			wantOK: true,
		},
		{
			name:   "an empty Rules is no rules",
			cfg:    top([]config.Rule{}...),
			iface:  iface{subnet: otherSubnet, vpc: otherVPC},
			want:   topScope(""),
			wantOK: true,
		},
		{
			name: "the first matching rule decides",
			cfg: top(
				config.Rule{Name: "dev", Match: config.Match{Tags: []config.Tag{envDev}}, SessionNumber: 10},
				config.Rule{Name: "prod", Match: config.Match{Tags: []config.Tag{envProd}}, SessionNumber: 20},
				config.Rule{Name: "ops", Match: config.Match{Tags: []config.Tag{teamOps}}, SessionNumber: 30},
			),
			iface:  iface{tags: []config.Tag{teamOps, envProd}, subnet: pciSubnet, vpc: prodVPC},
			want:   withSession(topScope("prod"), 20),
			wantOK: true,
		},
		{
			name: "a rule that matches decides even when a later one matches more closely",
			cfg: top(
				config.Rule{Name: "any", SessionNumber: 10},
				config.Rule{Name: "prod", Match: config.Match{Tags: []config.Tag{envProd}, SubnetIDs: []string{pciSubnet}}, SessionNumber: 20},
			),
			iface:  iface{tags: []config.Tag{envProd}, subnet: pciSubnet, vpc: prodVPC},
			want:   withSession(topScope("any"), 10),
			wantOK: true,
		},
		{
			name: "Tags in Match must all be on the instance",
			cfg: top(
				config.Rule{Name: "prod-ops", Match: config.Match{Tags: []config.Tag{envProd, teamOps}}},
				config.Rule{Name: "prod", Match: config.Match{Tags: []config.Tag{envProd}}, SessionNumber: 20},
			),
			iface:  iface{tags: []config.Tag{envProd, {Key: "team", Value: "web"}}, subnet: pciSubnet, vpc: prodVPC},
			want:   withSession(topScope("prod"), 20),
			wantOK: true,
		},
		{
			name:   "a Match tag holds only with the same key and value",
			cfg:    top(config.Rule{Name: "prod", Match: config.Match{Tags: []config.Tag{envProd}}}),
			iface:  iface{tags: []config.Tag{envDev, {Key: "ENV", Value: "prod"}, {Key: "env ", Value: "prod"}}, subnet: pciSubnet, vpc: prodVPC},
			wantOK: false,
		},
		{
			name:   "a Match tag with an empty value needs the key with an empty value",
			cfg:    top(config.Rule{Name: "team", Match: config.Match{Tags: []config.Tag{{Key: "team"}}}}),
			iface:  iface{tags: []config.Tag{teamOps}, subnet: pciSubnet, vpc: prodVPC},
			wantOK: false,
		},
		{
			name:   "SubnetIds: the interface's subnet must be listed",
			cfg:    top(config.Rule{Name: "pci", Match: config.Match{SubnetIDs: []string{otherSubnet, pciSubnet}}}),
			iface:  iface{subnet: pciSubnet, vpc: prodVPC},
			want:   topScope("pci"),
			wantOK: true,
		},
		{
			name:   "SubnetIds: an interface in another subnet is not matched",
			cfg:    top(config.Rule{Name: "pci", Match: config.Match{SubnetIDs: []string{pciSubnet}}}),
			iface:  iface{subnet: otherSubnet, vpc: prodVPC},
			wantOK: false,
		},
		{
			name:   "VpcIds: the interface's VPC must be listed",
			cfg:    top(config.Rule{Name: "prod", Match: config.Match{VPCIDs: []string{prodVPC}}}),
			iface:  iface{subnet: otherSubnet, vpc: prodVPC},
			want:   topScope("prod"),
			wantOK: true,
		},
		{
			name:   "VpcIds: an interface in another VPC is not matched",
			cfg:    top(config.Rule{Name: "prod", Match: config.Match{VPCIDs: []string{prodVPC}}}),
			iface:  iface{subnet: pciSubnet, vpc: otherVPC},
			wantOK: false,
		},
		{
			name: "every criterion given must hold",
			cfg: top(config.Rule{Name: "prod", Match: config.Match{
				Tags: []config.Tag{envProd}, SubnetIDs: []string{pciSubnet}, VPCIDs: []string{prodVPC},
			}}),
			iface:  iface{tags: []config.Tag{envProd}, subnet: pciSubnet, vpc: otherVPC},
			wantOK: false,
		},
		{
			name: "every criterion holding matches",
			cfg: top(config.Rule{Name: "prod", Match: config.Match{
				Tags: []config.Tag{envProd}, SubnetIDs: []string{pciSubnet}, VPCIDs: []string{prodVPC},
			}}),
			iface:  iface{tags: []config.Tag{teamOps, envProd}, subnet: pciSubnet, vpc: prodVPC},
			want:   topScope("prod"),
			wantOK: true,
		},
		{
			name:   "an empty Match matches every interface",
			cfg:    top(config.Rule{Name: "pci", Match: config.Match{SubnetIDs: []string{pciSubnet}}}, config.Rule{Name: "rest"}),
			iface:  iface{subnet: otherSubnet, vpc: otherVPC},
			want:   topScope("rest"),
			wantOK: true,
		},
		{
			name:   "an empty Match matches an interface with no tags, subnet or VPC known",
			cfg:    top(config.Rule{Name: "rest"}),
			want:   topScope("rest"),
			wantOK: true,
		},
		{
			name: "no rule matching is out of scope",
			cfg: top(
				config.Rule{Name: "pci", Match: config.Match{SubnetIDs: []string{pciSubnet}}},
				config.Rule{Name: "prod", Match: config.Match{Tags: []config.Tag{envProd}}},
			),
			iface:  iface{tags: []config.Tag{envDev}, subnet: otherSubnet, vpc: prodVPC},
			want:   config.Scope{},
			wantOK: false,
		},
		{
			name:   "a rule with TargetIds does not inherit the top-level candidates",
			cfg:    top(config.Rule{Name: "pci", TargetIDs: []string{"tmt-0ee55ff6"}}),
			want:   config.Scope{Rule: "pci", FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0ee55ff6"}, LocalZoneOnly: true, SessionNumber: 3},
			wantOK: true,
		},
		{
			name:   "a rule with a SensorTag does not inherit the top-level TargetIds",
			cfg:    top(config.Rule{Name: "ids", SensorTag: &config.Tag{Key: "ids", Value: "yes"}}),
			want:   config.Scope{Rule: "ids", FilterID: "tmf-0a1b2c3d", SensorTag: config.Tag{Key: "ids", Value: "yes"}, LocalZoneOnly: true, SessionNumber: 3},
			wantOK: true,
		},
		{
			name: "a rule with both TargetIds and a SensorTag keeps both, and TargetIds decide",
			cfg:  top(config.Rule{Name: "both", TargetIDs: []string{"tmt-0ee55ff6"}, SensorTag: &config.Tag{Key: "ids", Value: "yes"}}),
			want: config.Scope{
				Rule: "both", FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0ee55ff6"},
				SensorTag: config.Tag{Key: "ids", Value: "yes"}, LocalZoneOnly: true, SessionNumber: 3,
			},
			wantOK: true,
		},
		{
			name:   "a rule without TargetIds or SensorTag inherits them",
			cfg:    top(config.Rule{Name: "rest", FilterID: "tmf-0e1f2a3b"}),
			want:   withFilter(topScope("rest"), "tmf-0e1f2a3b"),
			wantOK: true,
		},
		{
			name:   "a rule's empty TargetIds is not given: it inherits the candidates",
			cfg:    top(config.Rule{Name: "rest", TargetIDs: []string{}}),
			want:   topScope("rest"),
			wantOK: true,
		},
		{
			name: "a rule's FilterId, LocalZoneOnly and SessionNumber replace the top-level ones",
			cfg:  top(config.Rule{Name: "pci", FilterID: "tmf-0e1f2a3b", LocalZoneOnly: ptr(false), SessionNumber: 9}),
			want: config.Scope{
				Rule: "pci", FilterID: "tmf-0e1f2a3b", TargetIDs: []string{"tmt-0aa11bb2"},
				SensorTag: config.Tag{Key: "role", Value: "sensor"}, LocalZoneOnly: false, SessionNumber: 9,
			},
			wantOK: true,
		},
		{
			name: "a rule's LocalZoneOnly true replaces a top-level false",
			cfg: func() config.Config {
				c := top(config.Rule{Name: "pci", LocalZoneOnly: ptr(true)})
				c.LocalZoneOnly = false
				return c
			}(),
			want:   topScope("pci"),
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.cfg.ScopeOf(tt.iface.tags, tt.iface.subnet, tt.iface.vpc)
			if ok != tt.wantOK {
				t.Fatalf("ScopeOf in scope = %v, want %v (scope %+v)", ok, tt.wantOK, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ScopeOf (-want +got):\n%s", diff)
			}
		})
	}
}

func withSession(s config.Scope, n int32) config.Scope { s.SessionNumber = n; return s }

func withFilter(s config.Scope, id string) config.Scope { s.FilterID = id; return s }

func TestScopes(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Config
		want []config.Scope
	}{
		{
			name: "without rules the top level is the one scope",
			cfg:  top(),
			want: []config.Scope{topScope("")},
		},
		{
			name: "with rules, one scope per rule in order, and no top-level scope of its own",
			cfg: top(
				config.Rule{Name: "pci", Match: config.Match{SubnetIDs: []string{pciSubnet}}, FilterID: "tmf-0e1f2a3b", TargetIDs: []string{"tmt-0ee55ff6"}},
				config.Rule{Name: "ids", SensorTag: &config.Tag{Key: "ids", Value: "yes"}},
				config.Rule{Name: "rest"},
			),
			want: []config.Scope{
				{Rule: "pci", FilterID: "tmf-0e1f2a3b", TargetIDs: []string{"tmt-0ee55ff6"}, LocalZoneOnly: true, SessionNumber: 3},
				{Rule: "ids", FilterID: "tmf-0a1b2c3d", SensorTag: config.Tag{Key: "ids", Value: "yes"}, LocalZoneOnly: true, SessionNumber: 3},
				topScope("rest"),
			},
		},
		{
			name: "the documented rules: pci by id in its own zone, prod with the top-level sensor tag",
			cfg: config.Config{
				FilterID: "tmf-0a1b2c3d4e5f60718", SensorTag: config.DefaultSensorTag, SessionNumber: 1, Rules: documentedRules(),
			},
			want: []config.Scope{
				{Rule: "pci", FilterID: "tmf-0a1b2c3d4e5f60718", TargetIDs: []string{"tmt-0a1b2c3d4e5f60718"}, LocalZoneOnly: true, SessionNumber: 1},
				{Rule: "prod", FilterID: "tmf-0a1b2c3d4e5f60718", SensorTag: config.DefaultSensorTag, SessionNumber: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.cfg.Scopes()); diff != "" {
				t.Errorf("Scopes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAScopeDoesNotShareTheConfigurationsLists(t *testing.T) {
	cfg := top(config.Rule{Name: "pci", TargetIDs: []string{"tmt-0ee55ff6"}}, config.Rule{Name: "rest"})
	for _, s := range cfg.Scopes() {
		s.TargetIDs[0] = "tmt-changed"
	}
	s, _ := cfg.ScopeOf(nil, "", "")
	s.TargetIDs[0] = "tmt-changed"
	if cfg.TargetIDs[0] != "tmt-0aa11bb2" || cfg.Rules[0].TargetIDs[0] != "tmt-0ee55ff6" {
		t.Errorf("changing a scope changed the configuration: %+v", cfg)
	}
}

func TestOptedOut(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Config
		tags []config.Tag
		want bool
	}{
		{name: "an instance carrying the default ExcludeTag is opted out", cfg: valid(), tags: []config.Tag{envProd, {Key: "mirrorflow:exclude", Value: "true"}}, want: true},
		{name: "the ExcludeTag's value must match too", cfg: valid(), tags: []config.Tag{{Key: "mirrorflow:exclude", Value: "false"}}},
		{name: "an instance without tags is not opted out", cfg: valid()},
		{
			name: "a configured ExcludeTag replaces the default",
			cfg:  func() config.Config { c := valid(); c.ExcludeTag = config.Tag{Key: "mirror", Value: "off"}; return c }(),
			tags: []config.Tag{{Key: "mirrorflow:exclude", Value: "true"}},
		},
		{
			name: "a configured ExcludeTag opts out the instances that carry it",
			cfg:  func() config.Config { c := valid(); c.ExcludeTag = config.Tag{Key: "mirror", Value: "off"}; return c }(),
			tags: []config.Tag{{Key: "mirror", Value: "off"}},
			want: true,
		},
		{
			name: "an ExcludeTag without a Key opts nobody out, even an instance with an empty tag",
			cfg:  func() config.Config { c := valid(); c.ExcludeTag = config.Tag{}; return c }(),
			tags: []config.Tag{{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.OptedOut(tt.tags); got != tt.want {
				t.Errorf("OptedOut = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCandidate(t *testing.T) {
	sensor := config.Tag{Key: "role", Value: "sensor"}
	tests := []struct {
		name  string
		scope config.Scope
		id    string
		tags  []config.Tag
		want  bool
	}{
		{name: "a listed target is a candidate", scope: config.Scope{TargetIDs: []string{"tmt-1", "tmt-2"}}, id: "tmt-2", want: true},
		{name: "TargetIds decide when given: a tagged target not listed is not a candidate", scope: config.Scope{TargetIDs: []string{"tmt-1"}, SensorTag: sensor}, id: "tmt-2", tags: []config.Tag{sensor}},
		{name: "without TargetIds a target carrying the SensorTag is a candidate", scope: config.Scope{SensorTag: sensor}, id: "tmt-2", tags: []config.Tag{envProd, sensor}, want: true},
		{name: "the SensorTag's value must match too", scope: config.Scope{SensorTag: sensor}, id: "tmt-2", tags: []config.Tag{{Key: "role", Value: "web"}}},
		{name: "an empty SensorTag Key makes no candidate", scope: config.Scope{}, id: "tmt-2", tags: []config.Tag{{}}},
		{name: "a target without an id is never a candidate", scope: config.Scope{TargetIDs: []string{""}, SensorTag: sensor}, tags: []config.Tag{sensor}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.scope.Candidate(tt.id, tt.tags); got != tt.want {
				t.Errorf("Candidate(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestGuardDutyScope(t *testing.T) {
	forensics := config.Rule{Name: "forensics", Match: config.Match{Tags: []config.Tag{{Key: "forensics", Value: "true"}}},
		TargetIDs: []string{"tmt-0ff11ee2"}, SessionNumber: 1}
	tests := []struct {
		name   string
		cfg    config.Config
		want   config.Scope
		wantOK bool
	}{
		{name: "no GuardDuty key gives no scope", cfg: top(forensics)},
		{name: "a disabled GuardDuty gives no scope",
			cfg: func() config.Config {
				c := top(forensics)
				c.GuardDuty = &config.GuardDuty{MinSeverity: 7, Rule: "forensics"}
				return c
			}()},
		{name: "an enabled GuardDuty gives its rule's scope, whichever rule comes first",
			cfg: func() config.Config {
				c := top(config.Rule{Name: "rest"}, forensics)
				c.GuardDuty = &config.GuardDuty{Enabled: true, MinSeverity: 7, Rule: "forensics"}
				return c
			}(),
			want:   config.Scope{Rule: "forensics", FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0ff11ee2"}, LocalZoneOnly: true, SessionNumber: 1},
			wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.cfg.GuardDutyScope()
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GuardDutyScope (-want +got):\n%s", diff)
			}
		})
	}
}
