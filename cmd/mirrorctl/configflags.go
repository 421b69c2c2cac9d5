package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

// configFlags are the flags that give a deployment configuration without a
// deployment: --config FILE and one flag per top-level field. plan runs
// with what they give and snapshot records it. set records which flags
// were given (all of the command's, not only these), because a flag
// overrides the configuration only when given (--local-zone-only=false
// must be able to turn off a snapshot's LocalZoneOnly).
type configFlags struct {
	configFile          string
	filterID, sensorTag string
	targetIDs           []string
	localZoneOnly       bool
	sessionNumber       int
	set                 map[string]bool
}

// configFlagNames are the flags register adds, for given.
var configFlagNames = []string{"config", "filter-id", "target-id", "sensor-tag", "local-zone-only", "session-number"}

// register adds the flags to fs; configUsage is --config's usage, which
// says what the file replaces in the command at hand.
func (f *configFlags) register(fs *flag.FlagSet, configUsage string) {
	fs.StringVar(&f.configFile, "config", "", configUsage)
	fs.StringVar(&f.filterID, "filter-id", "", "traffic mirror filter `ID` new sessions use (Config.FilterId)")
	fs.Func("target-id", "candidate traffic mirror target `ID` (repeatable; Config.TargetIds)", func(v string) error {
		f.targetIDs = append(f.targetIDs, v)
		return nil
	})
	fs.StringVar(&f.sensorTag, "sensor-tag", "", "`KEY=VALUE` tag marking candidate targets when no target ids are set (Config.SensorTag)")
	fs.BoolVar(&f.localZoneOnly, "local-zone-only", false, "never choose a sensor in another Availability Zone (Config.LocalZoneOnly)")
	fs.IntVar(&f.sessionNumber, "session-number", 0, "session `number` of new sessions, 1-32766 (Config.SessionNumber)")
}

// given reports whether any of the flags was given.
func (f *configFlags) given() bool {
	return slices.ContainsFunc(configFlagNames, func(name string) bool { return f.set[name] })
}

// resolve is base (what the command has without these flags, or nothing),
// replaced by --config and then overridden by each flag given, with
// defaults applied and validated. Every mistake is a usage error naming the
// flag that sets the field; none says why there is no base, for the
// message when no FilterId is given at all.
func (f *configFlags) resolve(base *config.Config, none string) (config.Config, error) {
	var cfg config.Config
	if base != nil {
		cfg = *base
	}
	if f.configFile != "" {
		fromFile, err := readConfigFile(f.configFile)
		if err != nil {
			return config.Config{}, err
		}
		cfg = fromFile
	}
	if f.set["filter-id"] {
		cfg.FilterID = f.filterID
	}
	if f.set["target-id"] {
		cfg.TargetIDs = slices.Clone(f.targetIDs)
	}
	if f.set["sensor-tag"] {
		key, value, ok := strings.Cut(f.sensorTag, "=")
		if !ok || key == "" {
			return config.Config{}, usagef("--sensor-tag %q: want KEY=VALUE, e.g. mirrorflow:sensor=true", f.sensorTag)
		}
		cfg.SensorTag = config.Tag{Key: key, Value: value}
	}
	if f.set["local-zone-only"] {
		cfg.LocalZoneOnly = f.localZoneOnly
	}
	if f.set["session-number"] {
		// Validate checks the range; this only keeps the conversion exact.
		if f.sessionNumber < math.MinInt32 || f.sessionNumber > math.MaxInt32 {
			return config.Config{}, usagef("--session-number %d is out of range 1-32766", f.sessionNumber)
		}
		cfg.SessionNumber = int32(f.sessionNumber)
	}
	cfg = cfg.WithDefaults()
	if cfg.FilterID == "" {
		if f.configFile != "" {
			none = f.configFile + " has no FilterId"
		}
		return config.Config{}, usagef("%s: pass --filter-id tmf-... (the traffic mirror filter new sessions would use) "+
			"or --config FILE with the Config JSON object; --target-id or --sensor-tag (default %s=%s) choose the candidate sensors",
			none, config.DefaultSensorTag.Key, config.DefaultSensorTag.Value)
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, usagef("checking the configuration: %s%s",
			strings.TrimPrefix(err.Error(), config.ErrInvalid.Error()+": "), flagFor(err.Error()))
	}
	return cfg, nil
}

// flagFor names the flag that sets the field a config.Validate message is
// about, so the fix is in the message.
func flagFor(msg string) string {
	msg = strings.TrimPrefix(msg, config.ErrInvalid.Error()+": ")
	for _, kf := range [][2]string{
		{"FilterId", "--filter-id"}, {"TargetIds", "--target-id"}, {"SessionNumber", "--session-number"},
		{"either TargetIds or SensorTag", "--target-id or --sensor-tag"},
	} {
		if strings.HasPrefix(msg, kf[0]) {
			return " (set with " + kf[1] + ")"
		}
	}
	return ""
}

// readConfigFile decodes a Config JSON object strictly: a misspelt key in a
// file meant to match the deployment should not be silently ignored.
// Validation waits until the flags are applied, since they may supply what
// the file lacks.
func readConfigFile(path string) (config.Config, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: path is the operator's own --config flag; reading the file they name is the point.
	if err != nil {
		return config.Config{}, &inputError{fmt.Errorf("reading --config: %w", err)}
	}
	var cfg config.Config
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return config.Config{}, &inputError{fmt.Errorf("decoding --config %s: %w", path, err)}
	}
	return cfg, nil
}
