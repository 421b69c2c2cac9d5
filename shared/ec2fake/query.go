package ec2fake

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// maxFilterValues is EC2's limit on the values of one filter; beyond it EC2
// answers FilterLimitExceeded.
const maxFilterValues = 200

// fieldFunc returns the values a resource has for a filter name, and whether
// the resource type knows that filter at all: EC2 rejects a filter name it
// does not know instead of ignoring it.
type fieldFunc[T any] func(name string, v T) (values []string, known bool)

// query is one Describe call's selection: the resource kind's words for
// errors, the ids asked for, the filters, and how the kind is read.
type query[T any] struct {
	ids      []string
	notFound string // error code when an id does not exist
	noun     string // "instance ID", "security group"...
	filters  []ec2types.Filter
	field    fieldFunc[T]
	tags     func(T) []ec2types.Tag
}

// run selects from items (keyed by id) as EC2 does: every id must exist, or
// the whole call fails naming the missing ones; then every filter must
// match (filters AND, values OR, * and ? as wildcards). The result is sorted
// by id so pages are stable.
func (q query[T]) run(items map[string]T) ([]T, error) {
	for _, f := range q.filters {
		name := deref(f.Name)
		if len(f.Values) == 0 {
			return nil, apiError(CodeInvalidParameterValue, "The filter '%s' requires at least one value", name)
		}
		if len(f.Values) > maxFilterValues {
			return nil, apiError(CodeFilterLimitExceeded, "The filter '%s' has %d values; the limit is %d", name, len(f.Values), maxFilterValues)
		}
		if !q.knows(name) {
			return nil, apiError(CodeInvalidParameterValue, "The filter '%s' is invalid", name)
		}
	}
	keys := slices.Sorted(maps.Keys(items))
	if len(q.ids) > 0 {
		var missing []string
		want := map[string]bool{}
		for _, id := range q.ids {
			if _, ok := items[id]; !ok {
				missing = append(missing, id)
			}
			want[id] = true
		}
		if len(missing) > 0 {
			if len(missing) == 1 {
				return nil, apiError(q.notFound, "The %s '%s' does not exist", q.noun, missing[0])
			}
			return nil, apiError(q.notFound, "The %ss '%s' do not exist", q.noun, strings.Join(missing, "', '"))
		}
		keys = slices.DeleteFunc(keys, func(k string) bool { return !want[k] })
	}
	var out []T
	for _, k := range keys {
		if q.matches(items[k]) {
			out = append(out, items[k])
		}
	}
	return out, nil
}

func (q query[T]) knows(name string) bool {
	if strings.HasPrefix(name, "tag:") || name == "tag-key" {
		return q.tags != nil
	}
	var zero T
	_, known := q.field(name, zero)
	return known
}

func (q query[T]) matches(v T) bool {
	for _, f := range q.filters {
		name := deref(f.Name)
		var have []string
		switch {
		case strings.HasPrefix(name, "tag:"):
			key := strings.TrimPrefix(name, "tag:")
			for _, t := range q.tags(v) {
				if deref(t.Key) == key {
					have = append(have, deref(t.Value))
				}
			}
		case name == "tag-key":
			for _, t := range q.tags(v) {
				have = append(have, deref(t.Key))
			}
		default:
			have, _ = q.field(name, v)
		}
		if !anyMatch(f.Values, have) {
			return false
		}
	}
	return true
}

// anyMatch reports whether any value matches any pattern. A pattern without
// a wildcard is compared as it is, so that a filter of many ids (EC2 allows
// 200) does not compile a regular expression per id and resource.
func anyMatch(patterns, have []string) bool {
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?") {
			if slices.Contains(have, p) {
				return true
			}
			continue
		}
		re := wildcard(p)
		for _, h := range have {
			if re.MatchString(h) {
				return true
			}
		}
	}
	return false
}

// wildcard compiles an EC2 filter value: * is any run of characters, ? one.
func wildcard(p string) *regexp.Regexp {
	quoted := regexp.QuoteMeta(p)
	quoted = strings.ReplaceAll(quoted, `\*`, `.*`)
	quoted = strings.ReplaceAll(quoted, `\?`, `.`)
	return regexp.MustCompile("^" + quoted + "$")
}

// pageBounds are an action's MaxResults range, from the EC2 API reference.
type pageBounds struct{ min, max int32 }

var (
	describeBounds  = pageBounds{5, 1000}
	networkACLBound = pageBounds{5, 100}
	prefixListBound = pageBounds{1, 100}
)

// paginate returns one page of items and the token of the next. The token
// is the offset of the next item, which is opaque enough for a fake and lets
// a test see where a caller resumed.
func paginate[T any](items []T, maxResults *int32, nextToken *string, bounds pageBounds, defaultSize int) ([]T, *string, error) {
	size := len(items)
	if defaultSize > 0 {
		size = defaultSize
	}
	if maxResults != nil {
		if *maxResults < bounds.min || *maxResults > bounds.max {
			return nil, nil, apiError(CodeInvalidParameterValue, "Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", *maxResults, bounds.min, bounds.max)
		}
		size = int(*maxResults)
	}
	start := 0
	if nextToken != nil && *nextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(*nextToken, "ec2fake-"))
		if err != nil || !strings.HasPrefix(*nextToken, "ec2fake-") || n < 0 || n > len(items) {
			return nil, nil, apiError(CodeInvalidPaginationToken, "The pagination token '%s' is invalid", *nextToken)
		}
		start = n
	}
	if size <= 0 {
		size = 1
	}
	end := min(start+size, len(items))
	page := slices.Clone(items[start:end])
	if end >= len(items) {
		return page, nil, nil
	}
	tok := "ec2fake-" + strconv.Itoa(end)
	return page, &tok, nil
}

func str(s *string) []string {
	if s == nil {
		return nil
	}
	return []string{*s}
}

// instanceIDShape is what EC2 accepts as an instance id before looking it up.
var instanceIDShape = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
