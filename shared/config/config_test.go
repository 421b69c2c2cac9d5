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
	}
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
			name: "an empty configuration gets the default sensor tag and session number 1",
			in:   config.Config{FilterID: "tmf-0a1b2c3d"},
			want: config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1},
		},
		{
			name: "SensorTag is not defaulted when TargetIds are set",
			in:   config.Config{TargetIDs: []string{"tmt-0aa11bb2"}},
			want: config.Config{TargetIDs: []string{"tmt-0aa11bb2"}, SessionNumber: 1},
		},
		{
			name: "a configured SensorTag is kept",
			in:   config.Config{SensorTag: config.Tag{Key: "role", Value: "ids"}},
			want: config.Config{SensorTag: config.Tag{Key: "role", Value: "ids"}, SessionNumber: 1},
		},
		{
			name: "a SensorTag without a Key is replaced by the default",
			in:   config.Config{SensorTag: config.Tag{Value: "ids"}},
			want: config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 1},
		},
		{
			name: "a configured SessionNumber is kept",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 7, LocalZoneOnly: true},
			want: config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: 7, LocalZoneOnly: true},
		},
		{
			name: "an out-of-range SessionNumber is left for Validate to report",
			in:   config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: -3},
			want: config.Config{SensorTag: config.DefaultSensorTag, SessionNumber: -3},
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
			},
		},
		{
			name:  "omitted keys take their defaults",
			input: readTestdata(t, "filter-only.json"),
			want:  config.Config{FilterID: "tmf-0a1b2c3d4e5f60718", SensorTag: config.DefaultSensorTag, SessionNumber: 1},
		},
		{
			name:  "TargetIds leave SensorTag unset",
			input: readTestdata(t, "target-ids.json"),
			want: config.Config{
				FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb22cc33dd44", "tmt-0ee55ff6"},
				LocalZoneOnly: true, SessionNumber: 32766,
			},
		},
		{
			name:  "SessionNumber 0 becomes 1 after defaults",
			input: `{"FilterId": "tmf-0a1b2c3d", "SessionNumber": 0}`,
			want:  config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1},
		},
		{
			name:  "whitespace after the object is allowed",
			input: "{\"FilterId\": \"tmf-0a1b2c3d\"}\n\t \n",
			want:  config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1},
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
			cfg: config.Config{
				FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0ee55ff6", "tmt-0aa11bb22cc33dd44", "tmt-0aa11bb2"},
				SessionNumber: 1,
			},
		},
		{
			name: "TargetIds and a sensor tag survive together",
			cfg: config.Config{
				FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb2"},
				SensorTag: config.Tag{Key: "role", Value: "ids"}, SessionNumber: 3,
			},
		},
		{
			name: "LocalZoneOnly true survives",
			cfg:  config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, LocalZoneOnly: true, SessionNumber: 1},
		},
		{
			name: "the largest SessionNumber survives",
			cfg:  config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 32766},
		},
		{
			name: "a sensor tag with commas, spaces and an empty value survives",
			cfg:  config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.Tag{Key: " team, ops ", Value: ""}, SessionNumber: 1},
		},
		{
			name: "a tag value without a key survives beside TargetIds",
			cfg: config.Config{
				FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb2"},
				SensorTag: config.Tag{Value: "orphan"}, SessionNumber: 1,
			},
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

func TestEnvSetsEveryVariable(t *testing.T) {
	want := []string{
		config.EnvFilterID, config.EnvTargetIDs, config.EnvSensorTagKey, config.EnvSensorTagValue,
		config.EnvLocalZoneOnly, config.EnvSessionNumber,
	}
	var got []string
	for k := range valid().Env() {
		got = append(got, k)
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Env keys (-want +got):\n%s", diff)
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
			name: "unset variables take the defaults",
			env:  map[string]string{config.EnvFilterID: "tmf-0a1b2c3d"},
			want: config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1},
		},
		{
			name: "TargetIds are split on commas and trimmed",
			env: map[string]string{
				config.EnvFilterID: "tmf-0a1b2c3d", config.EnvTargetIDs: " tmt-0aa11bb2 , tmt-0ee55ff6 ",
			},
			want: config.Config{FilterID: "tmf-0a1b2c3d", TargetIDs: []string{"tmt-0aa11bb2", "tmt-0ee55ff6"}, SessionNumber: 1},
		},
		{
			name: "blank TargetIds mean none",
			env:  map[string]string{config.EnvFilterID: "tmf-0a1b2c3d", config.EnvTargetIDs: "  "},
			want: config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1},
		},
		{
			name: "LocalZoneOnly accepts strconv's booleans",
			env:  map[string]string{config.EnvFilterID: "tmf-0a1b2c3d", config.EnvLocalZoneOnly: "1"},
			want: config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, LocalZoneOnly: true, SessionNumber: 1},
		},
		{
			name: "SessionNumber 0 becomes 1",
			env:  map[string]string{config.EnvFilterID: "tmf-0a1b2c3d", config.EnvSessionNumber: "0"},
			want: config.Config{FilterID: "tmf-0a1b2c3d", SensorTag: config.DefaultSensorTag, SessionNumber: 1},
		},
		{
			name:    "a non-boolean LocalZoneOnly names the variable",
			env:     map[string]string{config.EnvFilterID: "tmf-0a1b2c3d", config.EnvLocalZoneOnly: "yes"},
			wantErr: `MIRRORFLOW_LOCAL_ZONE_ONLY "yes" is not a boolean`,
		},
		{
			name:    "a non-number SessionNumber names the variable",
			env:     map[string]string{config.EnvFilterID: "tmf-0a1b2c3d", config.EnvSessionNumber: "one"},
			wantErr: `MIRRORFLOW_SESSION_NUMBER "one" is not a number`,
		},
		{
			name:    "a SessionNumber beyond int32 names the variable",
			env:     map[string]string{config.EnvFilterID: "tmf-0a1b2c3d", config.EnvSessionNumber: "4294967297"},
			wantErr: `MIRRORFLOW_SESSION_NUMBER "4294967297"`,
		},
		{
			name:    "SessionNumber 32767 is out of range",
			env:     map[string]string{config.EnvFilterID: "tmf-0a1b2c3d", config.EnvSessionNumber: "32767"},
			wantErr: "SessionNumber 32767 is out of range",
		},
		{
			name:    "an unset FilterId is named by its configuration key",
			env:     map[string]string{},
			wantErr: "FilterId is required",
		},
		{
			name:    "an empty TargetIds entry is named by its index",
			env:     map[string]string{config.EnvFilterID: "tmf-0a1b2c3d", config.EnvTargetIDs: "tmt-0aa11bb2,,tmt-0ee55ff6"},
			wantErr: `TargetIds[1] ""`,
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
