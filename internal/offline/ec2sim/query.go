package ec2sim

import (
	"net/url"
	"sort"
	"strconv"
	"strings"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// request is one EC2 Query API call: its form-encoded parameters, with the
// numbered lists (Filter.1.Name, InstanceId.2, ...) decoded on demand.
type request struct {
	action string
	form   url.Values
}

func (r request) str(name string) string { return r.form.Get(name) }

func (r request) has(name string) bool { _, ok := r.form[name]; return ok }

// indices returns, in order, the N of every parameter named prefix.N or
// prefix.N.<anything>.
func (r request) indices(prefix string) []int {
	seen := map[int]bool{}
	for k := range r.form {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(n); err == nil {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// list returns the values of prefix.1, prefix.2, ... in order.
func (r request) list(prefix string) []string {
	var out []string
	for _, i := range r.indices(prefix) {
		if v, ok := r.form[prefix+"."+strconv.Itoa(i)]; ok {
			out = append(out, v[0])
		}
	}
	return out
}

func (r request) filters() []ec2types.Filter {
	var out []ec2types.Filter
	for _, i := range r.indices("Filter") {
		p := "Filter." + strconv.Itoa(i)
		name := r.str(p + ".Name")
		out = append(out, ec2types.Filter{Name: &name, Values: r.list(p + ".Value")})
	}
	return out
}

func (r request) tags(prefix string) []ec2types.Tag {
	var out []ec2types.Tag
	for _, i := range r.indices(prefix) {
		p := prefix + "." + strconv.Itoa(i)
		key, value := r.str(p+".Key"), r.str(p+".Value")
		out = append(out, ec2types.Tag{Key: &key, Value: &value})
	}
	return out
}

func (r request) tagSpecifications() []ec2types.TagSpecification {
	var out []ec2types.TagSpecification
	for _, i := range r.indices("TagSpecification") {
		p := "TagSpecification." + strconv.Itoa(i)
		out = append(out, ec2types.TagSpecification{
			ResourceType: ec2types.ResourceType(r.str(p + ".ResourceType")),
			Tags:         r.tags(p + ".Tag"),
		})
	}
	return out
}

func (r request) boolean(name string) (bool, *apiError) {
	v := r.str(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(awserr.InvalidParameterValue, "Value (%s) for parameter %s is invalid. Expected a boolean.", v, name)
	}
	return b, nil
}

// integer returns the parameter name, and whether it was given.
func (r request) integer(name string) (int64, bool, *apiError) {
	v := r.str(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false, errorf(awserr.InvalidParameterValue, "Value (%s) for parameter %s is invalid. Expected an integer.", v, name)
	}
	return n, true, nil
}

func (r request) required(names ...string) *apiError {
	for _, n := range names {
		if r.str(n) == "" {
			return errorf(awserr.MissingParameter, "The request must contain the parameter %s", n)
		}
	}
	return nil
}
