package snapshot_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/yaml"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/config"
)

var dir = filepath.Join("..", "..", "testdata", "snapshots")

// TestLoadTestdata loads every snapshot the repository ships and checks
// the counts its README promises.
func TestLoadTestdata(t *testing.T) {
	tests := []struct {
		file                                string
		instances, interfaces, targets, tms int
	}{
		{"three-zones.json", 7, 11, 4, 4},
		{"sg-blocked.json", 4, 4, 1, 0},
		{"full-sensor.json", 14, 14, 2, 10},
		{"nacl-deny.json", 3, 3, 1, 0},
		{"scoped.json", 14, 25, 11, 7},
		{"backfill.json", 48, 8, 8, 4},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s, err := snapshot.Load(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatalf("loading: %v", err)
			}
			instances := 0
			for _, r := range s.Reservations {
				instances += len(r.Instances)
			}
			got := [4]int{instances, len(s.NetworkInterfaces), len(s.TrafficMirrorTargets), len(s.TrafficMirrorSessions)}
			if want := [4]int{tc.instances, tc.interfaces, tc.targets, tc.tms}; got != want {
				t.Errorf("instances, interfaces, targets, sessions = %v, want %v", got, want)
			}
			if s.Config == nil || s.Config.Validate() != nil || s.Name != tc.file {
				t.Errorf("want a valid Config and Name %q, got %+v, %q", tc.file, s.Config, s.Name)
			}
		})
	}
}

// TestYAMLEqualsJSON checks that the same snapshot in YAML decodes to the
// same structs as in JSON.
func TestYAMLEqualsJSON(t *testing.T) {
	for _, file := range []string{"three-zones.json", "sg-blocked.json"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			y, err := yaml.JSONToYAML(data)
			if err != nil {
				t.Fatalf("converting to YAML: %v", err)
			}
			fromJSON, err := snapshot.Parse("s.json", data)
			if err != nil {
				t.Fatalf("parsing JSON: %v", err)
			}
			fromYAML, err := snapshot.Parse("s.yaml", y)
			if err != nil {
				t.Fatalf("parsing YAML: %v", err)
			}
			if diff := cmp.Diff(fromJSON, fromYAML, cmpopts.IgnoreFields(snapshot.Snapshot{}, "Name"), ignoreSDK()); diff != "" {
				t.Errorf("YAML and JSON differ (-json +yaml):\n%s", diff)
			}
		})
	}
}

// ignoreSDK ignores the SDK structs' unexported marker field.
func ignoreSDK() cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		return ok && sf.Name() == "noSmithyDocumentSerde"
	}, cmp.Ignore())
}

// TestParse covers what a person writes by hand: defaults, YAML's
// unquoted scalars, and every kind of mistake, named by file and field.
func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		data    string
		wantErr string
		check   func(t *testing.T, s *snapshot.Snapshot)
	}{
		{
			name: "Config gets its defaults",
			file: "a.json",
			data: `{"Config": {"FilterId": "tmf-0123456789abcdef0"}}`,
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if s.Config.SessionNumber != 1 || s.Config.SensorTag != config.DefaultSensorTag {
					t.Errorf("defaults not applied: %+v", s.Config)
				}
			},
		},
		{
			name:  "a snapshot without Config has none",
			file:  "a.json",
			data:  `{"Subnets": []}`,
			check: func(t *testing.T, s *snapshot.Snapshot) { requireNil(t, s.Config) },
		},
		{
			name: "unknown fields are ignored",
			file: "a.json",
			data: `{"Vpcs": [{"VpcId": "vpc-1"}], "Subnets": [{"SubnetId": "subnet-1", "Ipv6Native": false, "Colour": "blue"}]}`,
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if len(s.Subnets) != 1 || *s.Subnets[0].SubnetId != "subnet-1" {
					t.Errorf("subnets = %+v", s.Subnets)
				}
			},
		},
		{
			name: "YAML accepts an unquoted IpProtocol -1",
			file: "a.yaml",
			data: "SecurityGroups:\n- GroupId: sg-1\n  IpPermissions:\n  - IpProtocol: -1\n    FromPort: 4789\n",
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if got := *s.SecurityGroups[0].IpPermissions[0].IpProtocol; got != "-1" {
					t.Errorf("IpProtocol = %q, want -1", got)
				}
			},
		},
		{
			name:    "a type error names file and indexed field",
			file:    "three-zones.json",
			data:    `{"Reservations": [{"Instances": [{"InstanceId": "i-1"}, {"State": {"Code": "16"}}]}]}`,
			wantErr: "three-zones.json: Reservations[0].Instances[1].State.Code: expected a number, got string",
		},
		{
			name:    "a list where an object belongs names the field",
			file:    "a.json",
			data:    `{"Subnets": [{"SubnetId": "subnet-1"}, {"Tags": {"Name": "x"}}]}`,
			wantErr: "a.json: Subnets[1].Tags: expected a list, got object",
		},
		{
			name:    "a YAML type error names the field",
			file:    "a.yaml",
			data:    "NetworkAcls:\n- Entries:\n  - RuleNumber: first\n",
			wantErr: "a.yaml: NetworkAcls.Entries.RuleNumber: expected a number, got string",
		},
		{
			name:    "a syntax error names line and column",
			file:    "a.json",
			data:    "{\"Subnets\": [\n  {\"SubnetId\": \"subnet-1\",}\n]}",
			wantErr: "a.json: Subnets[0].SubnetId: line 2, column 27: invalid character '}'",
		},
		{
			name:    "a truncated file says where it stops",
			file:    "a.json",
			data:    `{"Subnets": [{"SubnetId": "subnet-1"`,
			wantErr: "a.json: the JSON ends before the document is complete, inside Subnets[0].SubnetId",
		},
		{
			name:    "a missing FilterId names Config.FilterId",
			file:    "a.json",
			data:    `{"Config": {"SessionNumber": 2}}`,
			wantErr: "a.json: Config.FilterId is required",
		},
		{
			name:    "an out-of-range session number names Config.SessionNumber",
			file:    "a.yaml",
			data:    "Config:\n  FilterId: tmf-0123456789abcdef0\n  SessionNumber: 40000\n",
			wantErr: "a.yaml: Config.SessionNumber 40000 is out of range",
		},
		{
			name:    "an empty file is refused",
			file:    "a.json",
			data:    "  \n",
			wantErr: "a.json: the file is empty",
		},
		{
			name:    "data after the document is refused",
			file:    "a.json",
			data:    `{"Subnets": []} {"Subnets": []}`,
			wantErr: "a.json: unexpected data after the top-level object",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := snapshot.Parse(tc.file, []byte(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, snapshot.ErrInvalid) {
					t.Errorf("error %v does not match snapshot.ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsing: %v", err)
			}
			tc.check(t, s)
		})
	}
}

func requireNil(t *testing.T, c *config.Config) {
	t.Helper()
	if c != nil {
		t.Errorf("Config = %+v, want nil", c)
	}
}

// TestConfigErrorsMatchConfigErrInvalid lets callers treat a snapshot's bad
// Config like any other configuration error.
func TestConfigErrorsMatchConfigErrInvalid(t *testing.T) {
	_, err := snapshot.Parse("a.json", []byte(`{"Config": {"FilterId": "nope"}}`))
	if !errors.Is(err, config.ErrInvalid) || !errors.Is(err, snapshot.ErrInvalid) {
		t.Errorf("error %v should match both config.ErrInvalid and snapshot.ErrInvalid", err)
	}
}

// TestLoadMissingFile names the file that cannot be read.
func TestLoadMissingFile(t *testing.T) {
	_, err := snapshot.Load(filepath.Join(dir, "absent.json"))
	if err == nil || !strings.Contains(err.Error(), "absent.json") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want one naming absent.json and matching os.ErrNotExist", err)
	}
}

// FuzzParse checks that no input makes Parse panic.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"three-zones.json", "nacl-deny.json"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			f.Fatalf("reading seed: %v", err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Reservations": [{"Instances": [{"State": {"Code": "x"}}]}]}`))
	f.Add([]byte("Config:\n  FilterId: tmf-0123456789abcdef0\n"))
	f.Add([]byte(`{"Subnets": [[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := snapshot.Parse("fuzz.json", data)
		if err == nil && s == nil {
			t.Fatal("no error and no snapshot")
		}
	})
}
