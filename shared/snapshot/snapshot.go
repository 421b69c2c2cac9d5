// Package snapshot reads an account snapshot: the JSON the AWS CLI prints for
// each `aws ec2 describe-*` call, merged, plus mirrorflow's Config (see
// snapshot-format.md). It decodes straight into the SDK's ec2types structs so
// that the planner, the simulator and a real account all see the same shapes.
package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"sigs.k8s.io/yaml"

	"github.com/mirrorflow/mirrorflow/shared/config"
)

// Snapshot is one account and Region as EC2 describes it. Each field holds
// what the matching describe call printed under the same key.
type Snapshot struct {
	// Name is the file the snapshot was read from, for messages.
	Name string `json:"-"`

	Reservations          []ec2types.Reservation          `json:"Reservations,omitempty"`
	NetworkInterfaces     []ec2types.NetworkInterface     `json:"NetworkInterfaces,omitempty"`
	SecurityGroups        []ec2types.SecurityGroup        `json:"SecurityGroups,omitempty"`
	NetworkAcls           []ec2types.NetworkAcl           `json:"NetworkAcls,omitempty"`
	Subnets               []ec2types.Subnet               `json:"Subnets,omitempty"`
	TrafficMirrorTargets  []ec2types.TrafficMirrorTarget  `json:"TrafficMirrorTargets,omitempty"`
	TrafficMirrorFilters  []ec2types.TrafficMirrorFilter  `json:"TrafficMirrorFilters,omitempty"`
	TrafficMirrorSessions []ec2types.TrafficMirrorSession `json:"TrafficMirrorSessions,omitempty"`
	InstanceTypes         []ec2types.InstanceTypeInfo     `json:"InstanceTypes,omitempty"`
	ManagedPrefixLists    []ec2types.ManagedPrefixList    `json:"ManagedPrefixLists,omitempty"`
	// PrefixListEntries holds each prefix list's entries, keyed by its pl- id.
	PrefixListEntries map[string][]ec2types.PrefixListEntry `json:"PrefixListEntries,omitempty"`

	// Config is the deployment configuration the snapshot was taken for, with
	// defaults applied and validated; nil when the snapshot has no "Config"
	// key (a snapshot of a real account), so callers take it from flags.
	Config *config.Config `json:"Config,omitempty"`
}

// ErrInvalid is wrapped by every error about a snapshot's content (as
// opposed to failing to read the file), so callers can tell the two apart.
var ErrInvalid = errors.New("invalid snapshot")

// Load reads the snapshot file at path, JSON or YAML.
func Load(path string) (*Snapshot, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: path is the operator's own --snapshot flag; reading the file they name is the point.
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	return Parse(filepath.Base(path), data)
}

// Parse decodes a snapshot named name (used in messages). Data starting with
// "{" is JSON; anything else is YAML with the same keys. Unknown fields are
// ignored, as the CLI prints many that mirrorflow does not need.
func Parse(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{Name: name}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: %s: the file is empty", ErrInvalid, name)
	}
	if trimmed[0] == '{' {
		if err := decodeJSON(trimmed, s); err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, name, describeJSONError(trimmed, err))
		}
	} else {
		// sigs.k8s.io/yaml converts YAML to JSON guided by the target's types,
		// so an unquoted IpProtocol: -1 still lands in a string field.
		if err := yaml.Unmarshal(trimmed, s); err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, name, describeYAMLError(err))
		}
	}
	if s.Config != nil {
		c := s.Config.WithDefaults()
		if err := c.Validate(); err != nil {
			return nil, &configError{file: name, err: err}
		}
		s.Config = &c
	}
	return s, nil
}

// Clone returns a deep copy, so a consumer that changes state (the
// simulator) never changes the snapshot it was seeded from.
func (s *Snapshot) Clone() *Snapshot {
	data, err := json.Marshal(s)
	if err != nil {
		// Every field is plain data decoded from JSON; marshalling it back
		// cannot fail short of a bug in this package.
		panic(fmt.Sprintf("marshalling snapshot %s: %v", s.Name, err))
	}
	out := &Snapshot{Name: s.Name}
	if err := json.Unmarshal(data, out); err != nil {
		panic(fmt.Sprintf("unmarshalling snapshot %s: %v", s.Name, err))
	}
	return out
}

func decodeJSON(data []byte, s *Snapshot) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(s); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errTrailingData
	}
	return nil
}

// configError names the Config field that failed validation by its path
// in the snapshot ("Config.FilterId is required"); it matches both ErrInvalid
// and config.ErrInvalid.
type configError struct {
	file string
	err  error
}

func (e *configError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), config.ErrInvalid.Error()+": ")
	if msg != "" && msg[0] >= 'A' && msg[0] <= 'Z' {
		// config's messages start with the key they are about.
		msg = "Config." + msg
	} else {
		msg = "Config: " + msg
	}
	return fmt.Sprintf("%s: %s: %s", ErrInvalid, e.file, msg)
}

func (e *configError) Unwrap() []error { return []error{ErrInvalid, e.err} }

var errTrailingData = errors.New("unexpected data after the top-level object")

// describeJSONError turns a decoding error into one that names the field by
// its full path with list indices, as a person would find it in the file:
// "Reservations[0].Instances[1].State.Code: expected a number, got string".
func describeJSONError(data []byte, err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		path := pathAt(data, typeErr.Offset)
		if path == "" {
			path = typeErr.Field
		}
		return fmt.Sprintf("%s: expected %s, got %s", path, kindOf(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		// Offset counts the offending byte; point at it.
		line, col := lineCol(data, max(syntaxErr.Offset-1, 0))
		msg := fmt.Sprintf("line %d, column %d: %s", line, col, strings.TrimPrefix(syntaxErr.Error(), "json: "))
		if path := pathAt(data, syntaxErr.Offset); path != "" {
			msg = path + ": " + msg
		}
		return msg
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg := "the JSON ends before the document is complete"
		if path := pathAt(data, int64(len(data))+1); path != "" {
			msg += ", inside " + path
		}
		return msg
	default:
		return strings.TrimPrefix(err.Error(), "json: ")
	}
}

// describeYAMLError keeps the YAML library's message (it carries the line
// for syntax errors) and names the field for type errors.
func describeYAMLError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("%s: expected %s, got %s", typeErr.Field, kindOf(typeErr.Type.String()), typeErr.Value)
	}
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "), "yaml: ")
}

// kindOf names a Go type the way the snapshot's author thinks of it.
func kindOf(goType string) string {
	t := strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string" || strings.HasPrefix(t, "types."):
		// ec2types enums are string types.
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "an object"
	case t == "time.Time":
		return "a time (RFC 3339 string)"
	default:
		return "an object (" + t + ")"
	}
}

// pathAt walks data's tokens and returns the path, with list indices, of
// the value that ends at or spans offset (encoding/json reports offsets, and
// its Field has no indices).
func pathAt(data []byte, offset int64) string {
	type frame struct {
		array bool
		key   string
		index int
	}
	var stack []frame
	render := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.array && f.index >= 0:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			case !f.array && f.key != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			}
		}
		return b.String()
	}
	inObject := func() bool { return len(stack) > 0 && !stack[len(stack)-1].array }
	dec := json.NewDecoder(bytes.NewReader(data))
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return render()
		}
		pos := dec.InputOffset()
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			p := render()
			stack = stack[:len(stack)-1]
			if pos >= offset {
				return p
			}
			expectKey = inObject()
			continue
		}
		if key, ok := tok.(string); ok && expectKey {
			stack[len(stack)-1].key = key
			expectKey = false
			continue
		}
		// A value starts here.
		if len(stack) > 0 && stack[len(stack)-1].array {
			stack[len(stack)-1].index++
		}
		if d, ok := tok.(json.Delim); ok {
			p := render()
			stack = append(stack, frame{array: d == '[', index: -1})
			if pos >= offset {
				return p
			}
			expectKey = d == '{'
			continue
		}
		if pos >= offset {
			return render()
		}
		expectKey = inObject()
	}
}

func lineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:offset] {
		if c == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return line, col
}
