// Package config is mirrorflow's deployment configuration: the same keys as
// a snapshot's "Config" and the cdk.json context, validated once, and carried
// to the Lambdas as environment variables.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Tag is one EC2 tag key and value.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Config says which filter new sessions use and which sensors are candidates.
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
}

// DefaultSensorTag is the tag that marks a sensor when none is configured.
var DefaultSensorTag = Tag{Key: "mirrorflow:sensor", Value: "true"}

var (
	filterIDPattern = regexp.MustCompile(`^tmf-[0-9a-f]{8}([0-9a-f]{9})?$`)
	targetIDPattern = regexp.MustCompile(`^tmt-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

// ErrInvalid is wrapped by every validation error, so callers can tell a
// configuration problem from an I/O one.
var ErrInvalid = errors.New("invalid mirrorflow configuration")

// WithDefaults fills what the user may leave out: the sensor tag and session number 1.
func (c Config) WithDefaults() Config {
	if c.SensorTag.Key == "" && len(c.TargetIDs) == 0 {
		c.SensorTag = DefaultSensorTag
	}
	if c.SessionNumber == 0 {
		c.SessionNumber = 1
	}
	return c
}

// Validate reports the first field that is missing or malformed, naming it
// with its configuration key.
func (c Config) Validate() error {
	if c.FilterID == "" {
		return fmt.Errorf("%w: FilterId is required (the tmf- id of the traffic mirror filter new sessions use)", ErrInvalid)
	}
	if !filterIDPattern.MatchString(c.FilterID) {
		return fmt.Errorf("%w: FilterId %q is not a traffic mirror filter id (tmf- followed by 8 or 17 hex digits)", ErrInvalid, c.FilterID)
	}
	for i, id := range c.TargetIDs {
		if !targetIDPattern.MatchString(id) {
			return fmt.Errorf("%w: TargetIds[%d] %q is not a traffic mirror target id (tmt- followed by 8 or 17 hex digits)", ErrInvalid, i, id)
		}
	}
	if len(c.TargetIDs) == 0 && c.SensorTag.Key == "" {
		return fmt.Errorf("%w: either TargetIds or SensorTag.Key must be set, or no sensor can be a candidate", ErrInvalid)
	}
	if c.SessionNumber < 1 || c.SessionNumber > 32766 {
		return fmt.Errorf("%w: SessionNumber %d is out of range 1-32766", ErrInvalid, c.SessionNumber)
	}
	return nil
}

// Parse decodes a JSON configuration object, applies defaults and validates it.
func Parse(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
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

// Environment variable names the stack sets on every step's Lambda.
const (
	EnvFilterID       = "MIRRORFLOW_FILTER_ID"
	EnvTargetIDs      = "MIRRORFLOW_TARGET_IDS"
	EnvSensorTagKey   = "MIRRORFLOW_SENSOR_TAG_KEY"
	EnvSensorTagValue = "MIRRORFLOW_SENSOR_TAG_VALUE"
	EnvLocalZoneOnly  = "MIRRORFLOW_LOCAL_ZONE_ONLY"
	EnvSessionNumber  = "MIRRORFLOW_SESSION_NUMBER"
)

// Env renders c as the environment variables FromEnv reads.
func (c Config) Env() map[string]string {
	return map[string]string{
		EnvFilterID:       c.FilterID,
		EnvTargetIDs:      strings.Join(c.TargetIDs, ","),
		EnvSensorTagKey:   c.SensorTag.Key,
		EnvSensorTagValue: c.SensorTag.Value,
		EnvLocalZoneOnly:  strconv.FormatBool(c.LocalZoneOnly),
		EnvSessionNumber:  strconv.Itoa(int(c.SessionNumber)),
	}
}

// FromEnv reads the configuration a Lambda was deployed with; getenv is
// os.Getenv in a Lambda and a map lookup in tests.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		FilterID:  getenv(EnvFilterID),
		SensorTag: Tag{Key: getenv(EnvSensorTagKey), Value: getenv(EnvSensorTagValue)},
	}
	if ids := strings.TrimSpace(getenv(EnvTargetIDs)); ids != "" {
		for _, id := range strings.Split(ids, ",") {
			c.TargetIDs = append(c.TargetIDs, strings.TrimSpace(id))
		}
	}
	if v := getenv(EnvLocalZoneOnly); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s %q is not a boolean", ErrInvalid, EnvLocalZoneOnly, v)
		}
		c.LocalZoneOnly = b
	}
	if v := getenv(EnvSessionNumber); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s %q is not a number", ErrInvalid, EnvSessionNumber, v)
		}
		c.SessionNumber = int32(n)
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
