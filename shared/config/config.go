// Package config is mirrorflow's deployment configuration: the same keys as
// a snapshot's "Config" and the cdk.json context, validated once, and carried
// to the Lambdas as one environment variable holding it as JSON.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Tag is one EC2 tag key and value.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Interfaces values: which of an instance's interfaces are sources.
const (
	// InterfacesPrimary mirrors the interface at device index 0 only.
	InterfacesPrimary = "primary"
	// InterfacesAll mirrors every attached interface whose InterfaceType is
	// "interface" or absent, each as a placement of its own.
	InterfacesAll = "all"
)

// Config says which interfaces are mirrored, with which filter, to which sensors.
type Config struct {
	// FilterID is the traffic mirror filter every new session uses.
	FilterID string `json:"FilterId"`
	// TargetIDs are the candidate sensors; when empty, candidates are the
	// traffic mirror targets that carry SensorTag.
	TargetIDs []string `json:"TargetIds"`
	// SensorTag marks candidate targets when TargetIDs is empty.
	SensorTag Tag `json:"SensorTag"`
	// LocalZoneOnly forbids choosing a sensor in another Availability Zone;
	// when false, one is chosen only if none in the source's zone passes.
	LocalZoneOnly bool `json:"LocalZoneOnly"`
	// SessionNumber is the session number of new sessions (1-32766).
	SessionNumber int32 `json:"SessionNumber"`
	// ExcludeTag opts an instance out: one that carries it is skipped.
	ExcludeTag Tag `json:"ExcludeTag"`
	// Interfaces is InterfacesPrimary or InterfacesAll; empty means primary.
	Interfaces string `json:"Interfaces"`
	// Rules, in priority order, decide which interfaces are in scope and
	// with which values; when empty, every interface is in scope with the
	// top-level values.
	Rules []Rule `json:"Rules,omitempty"`
	// GuardDuty, when enabled, places an instance that a GuardDuty finding
	// names under one rule of Rules, whatever its usual scope; nil when
	// not configured.
	GuardDuty *GuardDuty `json:"GuardDuty,omitempty"`
}

// GuardDuty says which GuardDuty findings start a placement and under which
// rule it decides the instance's interfaces.
type GuardDuty struct {
	// Enabled deploys the EventBridge rule on GuardDuty findings.
	Enabled bool `json:"Enabled"`
	// MinSeverity is the lowest finding severity that starts a placement,
	// on GuardDuty's scale of 1.0 to 10.0 (low 1.0-3.9, medium 4.0-6.9,
	// high 7.0-8.9, critical 9.0-10.0).
	MinSeverity float64 `json:"MinSeverity"`
	// Rule names the rule of Rules whose scope decides the interfaces of an
	// instance a finding names, even when no rule or another rule matches
	// them. It must name a rule: a configuration without Rules has no scope
	// a finding could change.
	Rule string `json:"Rule"`
}

// GuardDuty severities, as the GuardDuty User Guide ("Severity levels of
// GuardDuty findings") bounds them.
const (
	MinGuardDutySeverity = 1.0
	MaxGuardDutySeverity = 10.0
)

// Rule puts the interfaces its Match selects in scope, with its own values
// where it gives them and the top-level ones elsewhere.
type Rule struct {
	// Name identifies the rule in validation messages, placements and coverage.
	Name string `json:"Name"`
	// Match selects the interfaces the rule decides.
	Match Match `json:"Match"`
	// FilterID, when set, replaces the top-level filter.
	FilterID string `json:"FilterId,omitempty"`
	// TargetIDs, when non-empty, are the rule's candidates.
	TargetIDs []string `json:"TargetIds,omitempty"`
	// SensorTag, when set and TargetIDs is empty, marks the rule's candidates.
	// A rule with neither inherits the top-level candidates.
	SensorTag *Tag `json:"SensorTag,omitempty"`
	// LocalZoneOnly, when set, replaces the top-level value.
	LocalZoneOnly *bool `json:"LocalZoneOnly,omitempty"`
	// SessionNumber, when not 0, replaces the top-level session number.
	SessionNumber int32 `json:"SessionNumber,omitempty"`
}

// Match selects interfaces: every criterion given must hold, and an empty
// Match selects every interface.
type Match struct {
	// Tags must all be on the interface's instance (AND).
	Tags []Tag `json:"Tags,omitempty"`
	// SubnetIDs, when given, must list the interface's subnet.
	SubnetIDs []string `json:"SubnetIds,omitempty"`
	// VPCIDs, when given, must list the interface's VPC.
	VPCIDs []string `json:"VpcIds,omitempty"`
}

// Scope is the configuration that decides one source interface: the deciding rule's values over the top-level ones.
type Scope struct {
	Rule          string   `json:"rule,omitempty"` // "" when Config.Rules is empty
	FilterID      string   `json:"filterId"`
	TargetIDs     []string `json:"targetIds,omitempty"`
	SensorTag     Tag      `json:"sensorTag"`
	LocalZoneOnly bool     `json:"localZoneOnly"`
	SessionNumber int32    `json:"sessionNumber"`
}

// DefaultSensorTag is the tag that marks a sensor when none is configured.
var DefaultSensorTag = Tag{Key: "mirrorflow:sensor", Value: "true"}

// DefaultExcludeTag is the tag that opts an instance out when none is configured.
var DefaultExcludeTag = Tag{Key: "mirrorflow:exclude", Value: "true"}

var (
	filterIDPattern = regexp.MustCompile(`^tmf-[0-9a-f]{8}([0-9a-f]{9})?$`)
	targetIDPattern = regexp.MustCompile(`^tmt-[0-9a-f]{8}([0-9a-f]{9})?$`)
	subnetIDPattern = regexp.MustCompile(`^subnet-[0-9a-f]{8}([0-9a-f]{9})?$`)
	vpcIDPattern    = regexp.MustCompile(`^vpc-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

// ErrInvalid is wrapped by every validation error, so callers can tell a
// configuration problem from an I/O one.
var ErrInvalid = errors.New("invalid mirrorflow configuration")

// WithDefaults fills what the user may leave out: the sensor tag, session
// number 1, the exclude tag and primary interfaces. Rules get no defaults:
// what a rule leaves out is the top-level value.
func (c Config) WithDefaults() Config {
	if c.SensorTag.Key == "" && len(c.TargetIDs) == 0 {
		c.SensorTag = DefaultSensorTag
	}
	if c.SessionNumber == 0 {
		c.SessionNumber = 1
	}
	if c.ExcludeTag.Key == "" {
		c.ExcludeTag = DefaultExcludeTag
	}
	if c.Interfaces == "" {
		c.Interfaces = InterfacesPrimary
	}
	return c
}

// Validate reports the first field that is missing or malformed, naming it
// with its configuration key (and, inside Rules, the rule's index and name).
func (c Config) Validate() error {
	if c.FilterID == "" {
		return fmt.Errorf("%w: FilterId is required (the tmf- id of the traffic mirror filter new sessions use)", ErrInvalid)
	}
	if err := checkFilterID(c.FilterID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := checkTargetIDs(c.TargetIDs); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(c.TargetIDs) == 0 && c.SensorTag.Key == "" {
		return fmt.Errorf("%w: either TargetIds or SensorTag.Key must be set, or no sensor can be a candidate", ErrInvalid)
	}
	if err := checkSessionNumber(c.SessionNumber); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.ExcludeTag.Key == "" && c.ExcludeTag.Value != "" {
		return fmt.Errorf("%w: ExcludeTag.Key is required when ExcludeTag.Value (%q) is set", ErrInvalid, c.ExcludeTag.Value)
	}
	switch c.Interfaces {
	case "", InterfacesPrimary, InterfacesAll:
	default:
		return fmt.Errorf("%w: Interfaces %q is not %s or %s", ErrInvalid, c.Interfaces, InterfacesPrimary, InterfacesAll)
	}
	// Every rule message starts with the rule's index and, once it has
	// one, its name: "Rules[1] ("prod"): FilterId ...".
	seen := make(map[string]int, len(c.Rules))
	for i, r := range c.Rules {
		if strings.TrimSpace(r.Name) == "" {
			return fmt.Errorf("%w: Rules[%d]: Name is required", ErrInvalid, i)
		}
		where := fmt.Sprintf("Rules[%d] (%q)", i, r.Name)
		if j, ok := seen[r.Name]; ok {
			return fmt.Errorf("%w: %s: Name is given twice (also Rules[%d])", ErrInvalid, where, j)
		}
		seen[r.Name] = i
		if err := r.validate(); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalid, where, err)
		}
	}
	if c.GuardDuty != nil {
		if err := c.GuardDuty.validate(seen); err != nil {
			return fmt.Errorf("%w: GuardDuty: %w", ErrInvalid, err)
		}
	}
	return nil
}

// validate checks g against the configuration's rule names. What is given
// is checked even while g is disabled, so that a typo does not wait for the
// day someone turns it on.
func (g GuardDuty) validate(rules map[string]int) error {
	if g.Enabled && g.Rule == "" {
		return errors.New("Rule is required when Enabled: it names the rule of Rules a finding's instance is placed under")
	}
	if g.Rule != "" {
		if _, ok := rules[g.Rule]; !ok {
			names := slices.Sorted(maps.Keys(rules))
			if len(names) == 0 {
				return fmt.Errorf("Rule %q names no rule: Rules is empty, so there is no scope to place a finding's instance under (add a rule, e.g. one whose Match no instance meets, with the sensors findings should go to)", g.Rule)
			}
			return fmt.Errorf("Rule %q names no rule of Rules (%s)", g.Rule, strings.Join(names, ", "))
		}
	}
	if (g.Enabled || g.MinSeverity != 0) && (g.MinSeverity < MinGuardDutySeverity || g.MinSeverity > MaxGuardDutySeverity) {
		return fmt.Errorf("MinSeverity %g is out of GuardDuty's range %.1f-%.1f (low 1.0-3.9, medium 4.0-6.9, high 7.0-8.9, critical 9.0-10.0)",
			g.MinSeverity, MinGuardDutySeverity, MaxGuardDutySeverity)
	}
	return nil
}

// validate checks the values r gives, naming each by its key in the rule.
func (r Rule) validate() error {
	if r.FilterID != "" {
		if err := checkFilterID(r.FilterID); err != nil {
			return err
		}
	}
	if err := checkTargetIDs(r.TargetIDs); err != nil {
		return err
	}
	if r.SensorTag != nil && r.SensorTag.Key == "" {
		return errors.New("SensorTag.Key is required when SensorTag is given: a tag without a key marks no target")
	}
	if r.SessionNumber != 0 {
		if err := checkSessionNumber(r.SessionNumber); err != nil {
			return err
		}
	}
	return r.Match.validate()
}

// validate checks every criterion of m, naming it by its key under Match.
func (m Match) validate() error {
	keys := make(map[string]int, len(m.Tags))
	for i, t := range m.Tags {
		if t.Key == "" {
			return fmt.Errorf("Match.Tags[%d].Key is required", i)
		}
		if j, ok := keys[t.Key]; ok {
			return fmt.Errorf("Match.Tags[%d] repeats the key %q of Match.Tags[%d]: an instance carries one value per key", i, t.Key, j)
		}
		keys[t.Key] = i
	}
	for i, id := range m.SubnetIDs {
		if !subnetIDPattern.MatchString(id) {
			return fmt.Errorf("Match.SubnetIds[%d] %q is not a subnet id (subnet- followed by 8 or 17 hex digits)", i, id)
		}
	}
	for i, id := range m.VPCIDs {
		if !vpcIDPattern.MatchString(id) {
			return fmt.Errorf("Match.VpcIds[%d] %q is not a VPC id (vpc- followed by 8 or 17 hex digits)", i, id)
		}
	}
	return nil
}

func checkFilterID(id string) error {
	if !filterIDPattern.MatchString(id) {
		return fmt.Errorf("FilterId %q is not a traffic mirror filter id (tmf- followed by 8 or 17 hex digits)", id)
	}
	return nil
}

func checkTargetIDs(ids []string) error {
	for i, id := range ids {
		if !targetIDPattern.MatchString(id) {
			return fmt.Errorf("TargetIds[%d] %q is not a traffic mirror target id (tmt- followed by 8 or 17 hex digits)", i, id)
		}
	}
	return nil
}

func checkSessionNumber(n int32) error {
	if n < 1 || n > 32766 {
		return fmt.Errorf("SessionNumber %d is out of range 1-32766", n)
	}
	return nil
}

// ScopeOf is the scope of an interface of an instance with tags, in subnet and vpc; ok false = out of scope (no rule matched).
func (c Config) ScopeOf(instanceTags []Tag, subnetID, vpcID string) (s Scope, ok bool) {
	if len(c.Rules) == 0 {
		return c.topScope(), true
	}
	for _, r := range c.Rules {
		if r.Match.matches(instanceTags, subnetID, vpcID) {
			return c.ruleScope(r), true
		}
	}
	return Scope{}, false
}

// Scopes lists every scope a rule can give (one per rule, in order; the top-level one when Rules is empty), for the IAM policy.
func (c Config) Scopes() []Scope {
	if len(c.Rules) == 0 {
		return []Scope{c.topScope()}
	}
	out := make([]Scope, len(c.Rules))
	for i, r := range c.Rules {
		out[i] = c.ruleScope(r)
	}
	return out
}

// GuardDutyScope is the scope a GuardDuty finding's placement decides
// every interface of its instance under: that of the rule GuardDuty.Rule
// names, whatever rule would match. ok is false when GuardDuty is not
// enabled.
func (c Config) GuardDutyScope() (s Scope, ok bool) {
	if c.GuardDuty == nil || !c.GuardDuty.Enabled {
		return Scope{}, false
	}
	for _, r := range c.Rules {
		if r.Name == c.GuardDuty.Rule {
			return c.ruleScope(r), true
		}
	}
	return Scope{}, false
}

// OptedOut reports whether tags carry ExcludeTag.
func (c Config) OptedOut(instanceTags []Tag) bool {
	return c.ExcludeTag.Key != "" && slices.Contains(instanceTags, c.ExcludeTag)
}

// Candidate reports whether a target with id and tags is a candidate of s (s.TargetIDs, else s.SensorTag), as placement.IsCandidate does for the top level today.
// An empty SensorTag.Key matches nothing, so a scope without candidates
// never turns every target of the account into a sensor.
func (s Scope) Candidate(targetID string, tags []Tag) bool {
	if targetID == "" {
		return false
	}
	if len(s.TargetIDs) > 0 {
		return slices.Contains(s.TargetIDs, targetID)
	}
	return s.SensorTag.Key != "" && slices.Contains(tags, s.SensorTag)
}

// topScope is the scope of every interface when there are no rules.
func (c Config) topScope() Scope {
	return Scope{
		FilterID:      c.FilterID,
		TargetIDs:     slices.Clone(c.TargetIDs),
		SensorTag:     c.SensorTag,
		LocalZoneOnly: c.LocalZoneOnly,
		SessionNumber: c.SessionNumber,
	}
}

// ruleScope lays r's values over the top-level ones. Candidates come as a
// whole: a rule that gives TargetIds or a SensorTag sets them, and one that
// gives neither inherits the top level's, so the two never mix.
func (c Config) ruleScope(r Rule) Scope {
	s := c.topScope()
	s.Rule = r.Name
	if r.FilterID != "" {
		s.FilterID = r.FilterID
	}
	if len(r.TargetIDs) > 0 || r.SensorTag != nil {
		s.TargetIDs, s.SensorTag = slices.Clone(r.TargetIDs), Tag{}
		if r.SensorTag != nil {
			s.SensorTag = *r.SensorTag
		}
	}
	if r.LocalZoneOnly != nil {
		s.LocalZoneOnly = *r.LocalZoneOnly
	}
	if r.SessionNumber != 0 {
		s.SessionNumber = r.SessionNumber
	}
	return s
}

// matches reports whether an interface of an instance with tags, in subnet
// and vpc, meets every criterion m gives.
func (m Match) matches(instanceTags []Tag, subnetID, vpcID string) bool {
	for _, t := range m.Tags {
		if !slices.Contains(instanceTags, t) {
			return false
		}
	}
	if len(m.SubnetIDs) > 0 && !slices.Contains(m.SubnetIDs, subnetID) {
		return false
	}
	if len(m.VPCIDs) > 0 && !slices.Contains(m.VPCIDs, vpcID) {
		return false
	}
	return true
}

// Parse decodes a JSON configuration object, applies defaults and validates it.
func Parse(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		if path, key, ok := unknownField(data, err); ok {
			if path == "" {
				return Config{}, fmt.Errorf("%w: decoding: unknown field %q", ErrInvalid, key)
			}
			return Config{}, fmt.Errorf("%w: decoding: %s: unknown field %q", ErrInvalid, path, key)
		}
		return Config{}, fmt.Errorf("%w: decoding: %w", ErrInvalid, err)
	}
	// Decode stops after the first value; anything but whitespace after it
	// is a malformed document, not a configuration to accept in part.
	if tok, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return Config{}, fmt.Errorf("%w: decoding: after the configuration object: %w", ErrInvalid, err)
		}
		return Config{}, fmt.Errorf("%w: decoding: unexpected %v after the configuration object", ErrInvalid, tok)
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// unknownField finds the first object key in data, in document order, that
// names no field of the Config type it decodes into, and the path of the
// object holding it ("Rules[1].Match"; "" at the top level). encoding/json
// reports the key alone, which leaves a person to guess which of a dozen
// Match or SensorTag objects holds the typo. Keys are matched as
// encoding/json matches them: exactly, else case-insensitively.
// Only an error that encoding/json reports as an unknown field is looked
// into, so a type or syntax error keeps its own message and type.
func unknownField(data []byte, decodeErr error) (path, key string, ok bool) {
	if !strings.HasPrefix(decodeErr.Error(), "json: unknown field ") {
		return "", "", false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	path, key, ok, err := walkUnknown(dec, reflect.TypeFor[Config](), "")
	if err != nil {
		return "", "", false
	}
	return path, key, ok
}

var anyType = reflect.TypeFor[any]()

// walkUnknown reads the next JSON value from dec as one of type t (anyType
// when the value has no Go type to check), stopping at the first key that
// names no field.
func walkUnknown(dec *json.Decoder, t reflect.Type, path string) (string, string, bool, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return "", "", false, err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return "", "", false, err
			}
			key, _ := keyTok.(string)
			fieldType, name := anyType, key
			if t.Kind() == reflect.Struct {
				f, ok := jsonField(t, key)
				if !ok {
					return path, key, true, nil
				}
				fieldType, name = f.Type, jsonName(f)
			}
			if p, k, found, err := walkUnknown(dec, fieldType, joinPath(path, name)); found || err != nil {
				return p, k, found, err
			}
		}
		_, err := dec.Token() // '}'
		return "", "", false, err
	case json.Delim('['):
		elem := anyType
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if p, k, found, err := walkUnknown(dec, elem, fmt.Sprintf("%s[%d]", path, i)); found || err != nil {
				return p, k, found, err
			}
		}
		_, err := dec.Token() // ']'
		return "", "", false, err
	default:
		return "", "", false, nil
	}
}

// jsonField is the exported field of struct type t that encoding/json
// decodes key into.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	var folded *reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		switch name := jsonName(f); {
		case name == key:
			return f, true
		case folded == nil && strings.EqualFold(name, key):
			folded = &f
		}
	}
	if folded != nil {
		return *folded, true
	}
	return reflect.StructField{}, false
}

// jsonName is f's key in JSON: its tag's name, else the field's.
func jsonName(f reflect.StructField) string {
	if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
		return name
	}
	return f.Name
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// EnvConfig is the environment variable the stack sets on every step's
// Lambda: the validated configuration as JSON. One variable holds the whole
// configuration because Rules, a list of objects, has no flat form.
const EnvConfig = "MIRRORFLOW_CONFIG"

// Env renders c as the environment variables FromEnv reads.
func (c Config) Env() map[string]string {
	// Marshal cannot fail: a Config holds only strings, numbers, booleans
	// and slices and pointers of them.
	b, _ := json.Marshal(c)
	return map[string]string{EnvConfig: string(b)}
}

// FromEnv reads the configuration a Lambda was deployed with; getenv is
// os.Getenv in a Lambda and a map lookup in tests. It is parsed as strictly
// as the cdk.json context was at synth.
func FromEnv(getenv func(string) string) (Config, error) {
	v := getenv(EnvConfig)
	if strings.TrimSpace(v) == "" {
		return Config{}, fmt.Errorf("%w: %s is not set; the stack sets it to the configuration as JSON", ErrInvalid, EnvConfig)
	}
	c, err := Parse([]byte(v))
	if err != nil {
		return Config{}, fmt.Errorf("reading %s: %w", EnvConfig, err)
	}
	return c, nil
}
