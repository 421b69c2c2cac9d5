// Package snapshot reads an account snapshot: the JSON the AWS CLI prints for
// each `aws ec2 describe-*` call (and the two `aws elbv2` ones), merged, plus
// mirrorflow's Config (see snapshot-format.md). It decodes straight into the
// SDK's ec2types and elasticloadbalancingv2 types structs so that the
// planner, the simulators and a real account all see the same shapes.
package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
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
	// VPCEndpoints are what `aws ec2 describe-vpc-endpoints` prints under
	// "VpcEndpoints": a Gateway Load Balancer endpoint target's subnet,
	// hence its zone.
	VPCEndpoints []ec2types.VpcEndpoint `json:"VpcEndpoints,omitempty"`
	// LoadBalancers and Listeners are what `aws elbv2 describe-load-balancers`
	// and `describe-listeners` (merged over the load balancers) print: a
	// Network Load Balancer target's zones and whether it listens on UDP 4789.
	LoadBalancers []elbv2types.LoadBalancer `json:"LoadBalancers,omitempty"`
	Listeners     []elbv2types.Listener     `json:"Listeners,omitempty"`

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
	return deepCopy(reflect.ValueOf(s)).Interface().(*Snapshot)
}

// deepCopy copies v and everything it points to. A snapshot is plain data
// (the SDK's ec2types structs: pointers, slices, maps and scalars), so this
// is what a JSON round trip would do, at a fraction of its cost: the
// simulator clones its seed for every test case. Unexported fields are the
// SDK's zero-size serde markers and are left zero.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(deepCopy(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		if opaque(v.Type()) {
			out.Set(v)
			return out
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(deepCopy(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return out
	case reflect.Interface:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(deepCopy(v.Elem()))
		return out
	default:
		// Scalars and strings are values; they copy by assignment.
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		return out
	}
}

// Merge adds other's resources to s, replacing any of s with the same id,
// as a later describe of a changed account would show them. An instance
// keeps its reservation when other names the same one, else moves to
// other's. Config is left as it is: it is the deployment's, not the
// account's. other's slices are shared, not copied.
func (s *Snapshot) Merge(other *Snapshot) {
	for _, r := range other.Reservations {
		moved := map[string]bool{}
		for _, inst := range r.Instances {
			moved[deref(inst.InstanceId)] = true
		}
		kept := s.Reservations[:0]
		merged := false
		for _, have := range s.Reservations {
			have.Instances = slices.DeleteFunc(slices.Clone(have.Instances), func(i ec2types.Instance) bool { return moved[deref(i.InstanceId)] })
			if deref(have.ReservationId) != "" && deref(have.ReservationId) == deref(r.ReservationId) {
				have.Instances = append(have.Instances, r.Instances...)
				merged = true
			}
			if len(have.Instances) > 0 {
				kept = append(kept, have)
			}
		}
		s.Reservations = kept
		if !merged {
			s.Reservations = append(s.Reservations, r)
		}
	}
	s.NetworkInterfaces = mergeByID(s.NetworkInterfaces, other.NetworkInterfaces, func(v ec2types.NetworkInterface) *string { return v.NetworkInterfaceId })
	s.SecurityGroups = mergeByID(s.SecurityGroups, other.SecurityGroups, func(v ec2types.SecurityGroup) *string { return v.GroupId })
	s.NetworkAcls = mergeByID(s.NetworkAcls, other.NetworkAcls, func(v ec2types.NetworkAcl) *string { return v.NetworkAclId })
	s.Subnets = mergeByID(s.Subnets, other.Subnets, func(v ec2types.Subnet) *string { return v.SubnetId })
	s.TrafficMirrorTargets = mergeByID(s.TrafficMirrorTargets, other.TrafficMirrorTargets, func(v ec2types.TrafficMirrorTarget) *string { return v.TrafficMirrorTargetId })
	s.TrafficMirrorFilters = mergeByID(s.TrafficMirrorFilters, other.TrafficMirrorFilters, func(v ec2types.TrafficMirrorFilter) *string { return v.TrafficMirrorFilterId })
	s.TrafficMirrorSessions = mergeByID(s.TrafficMirrorSessions, other.TrafficMirrorSessions, func(v ec2types.TrafficMirrorSession) *string { return v.TrafficMirrorSessionId })
	s.InstanceTypes = mergeByID(s.InstanceTypes, other.InstanceTypes, func(v ec2types.InstanceTypeInfo) *string { t := string(v.InstanceType); return &t })
	s.ManagedPrefixLists = mergeByID(s.ManagedPrefixLists, other.ManagedPrefixLists, func(v ec2types.ManagedPrefixList) *string { return v.PrefixListId })
	if len(other.PrefixListEntries) > 0 && s.PrefixListEntries == nil {
		s.PrefixListEntries = map[string][]ec2types.PrefixListEntry{}
	}
	maps.Copy(s.PrefixListEntries, other.PrefixListEntries)
	s.VPCEndpoints = mergeByID(s.VPCEndpoints, other.VPCEndpoints, func(v ec2types.VpcEndpoint) *string { return v.VpcEndpointId })
	s.LoadBalancers = mergeByID(s.LoadBalancers, other.LoadBalancers, func(v elbv2types.LoadBalancer) *string { return v.LoadBalancerArn })
	s.Listeners = mergeByID(s.Listeners, other.Listeners, func(v elbv2types.Listener) *string { return v.ListenerArn })
}

// mergeByID replaces the items of have whose id an item of add has, in
// place, and appends the others in add's order.
func mergeByID[T any](have, add []T, id func(T) *string) []T {
	at := make(map[string]int, len(have))
	for i, v := range have {
		at[deref(id(v))] = i
	}
	for _, v := range add {
		if i, ok := at[deref(id(v))]; ok {
			have[i] = v
			continue
		}
		at[deref(id(v))] = len(have)
		have = append(have, v)
	}
	return have
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// opaque reports whether a struct type keeps state in unexported fields,
// so that only copying the whole value preserves it.
func opaque(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); !f.IsExported() && f.Type.Size() > 0 {
			return true
		}
	}
	return false
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
