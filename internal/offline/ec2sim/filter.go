package ec2sim

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
)

// fields returns a resource's values for a Describe filter name, and
// whether the resource type has that filter at all.
type fields[T any] func(item T, name string) (values []string, known bool)

// maxFilterValues is EC2's limit on filter values in one request, all its
// filters counted: beyond it EC2 answers FilterLimitExceeded, "The maximum
// number of filter values specified on a single call is 200".
const maxFilterValues = 200

// filterItems keeps the items every filter matches: filters are ANDed,
// a filter's values ORed, and values may use EC2's * and ? wildcards.
// tag:<key>, tag-key and tag-value work where tags is given: the resources
// whose Describe documents tag filters. The traffic mirror Describes
// document none (their API reference lists only their own fields), so they
// pass nil and a tag filter is refused as an unknown filter.
func filterItems[T any](items []T, filters []ec2types.Filter, f fields[T], tags func(T) []ec2types.Tag) ([]T, *apiError) {
	total := 0
	for _, flt := range filters {
		total += len(flt.Values)
		name := deref(flt.Name)
		if len(flt.Values) == 0 {
			return nil, errorf(awserr.InvalidParameterValue, "The filter '%s' has no values", name)
		}
		if !isTagFilter(name) || tags == nil {
			var zero T
			if _, known := f(zero, name); !known {
				return nil, errorf(awserr.InvalidParameterValue, "The filter '%s' is invalid", name)
			}
		}
	}
	if total > maxFilterValues {
		return nil, errorf(awserr.FilterLimitExceeded, "The maximum number of filter values specified on a single call is %d", maxFilterValues)
	}
	var out []T
	for _, item := range items {
		if matchesAll(item, filters, f, tags) {
			out = append(out, item)
		}
	}
	return out, nil
}

func isTagFilter(name string) bool {
	return strings.HasPrefix(name, "tag:") || name == "tag-key" || name == "tag-value"
}

func matchesAll[T any](item T, filters []ec2types.Filter, f fields[T], tags func(T) []ec2types.Tag) bool {
	for _, flt := range filters {
		name := deref(flt.Name)
		var have []string
		if isTagFilter(name) && tags != nil {
			have = tagValues(tags(item), name)
		} else {
			have, _ = f(item, name)
		}
		if !anyMatch(flt.Values, have) {
			return false
		}
	}
	return true
}

func tagValues(tags []ec2types.Tag, name string) []string {
	var out []string
	for _, t := range tags {
		switch {
		case name == "tag-key":
			out = append(out, deref(t.Key))
		case name == "tag-value":
			out = append(out, deref(t.Value))
		case deref(t.Key) == strings.TrimPrefix(name, "tag:"):
			out = append(out, deref(t.Value))
		}
	}
	return out
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if wildcardMatch(p, v) {
				return true
			}
		}
	}
	return false
}

// wildcardMatch matches EC2 filter values: * is any run of characters, ? one
// character, and a backslash escapes either.
func wildcardMatch(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := 0; i <= len(v); i++ {
				if wildcardMatch(string(p[1:]), string(v[i:])) {
					return true
				}
			}
			return false
		case '?':
			if len(v) == 0 {
				return false
			}
		case '\\':
			if len(p) > 1 {
				p = p[1:]
			}
			fallthrough
		default:
			if len(v) == 0 || v[0] != p[0] {
				return false
			}
		}
		p, v = p[1:], v[1:]
	}
	return len(v) == 0
}

// pageRange is an action's accepted MaxResults range, from its API reference.
type pageRange struct{ min, max int64 }

// paginate applies MaxResults and NextToken to items. Without MaxResults
// every item is returned, as EC2 does for these actions, unless pageSize
// (Options.PageSize) asks for pages of that many.
func paginate[T any](r request, items []T, pr pageRange, pageSize int) ([]T, *string, *apiError) {
	start := 0
	if tok := r.str("NextToken"); tok != "" {
		n, ok := decodeToken(r.action, tok)
		if !ok || n > len(items) {
			return nil, nil, errorf(awserr.InvalidPaginationToken, "Invalid pagination token: %s", tok)
		}
		start = n
	}
	size, given, aerr := r.integer("MaxResults")
	if aerr != nil {
		return nil, nil, aerr
	}
	switch {
	case given && (size < pr.min || size > pr.max):
		return nil, nil, errorf(awserr.InvalidParameterValue, "Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", size, pr.min, pr.max)
	case !given && pageSize <= 0:
		return items[start:], nil, nil
	case !given:
		size = int64(pageSize)
	}
	end := start + int(size)
	if end >= len(items) {
		return items[start:], nil, nil
	}
	tok := encodeToken(r.action, end)
	return items[start:end], &tok, nil
}

// Tokens are opaque to clients but tied to the action, as EC2's are.
func encodeToken(action string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s/%d", action, offset)))
}

func decodeToken(action, tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	a, n, ok := strings.Cut(string(raw), "/")
	if !ok || a != action {
		return 0, false
	}
	off, err := strconv.Atoi(n)
	return off, err == nil && off >= 0
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func strs(ps ...*string) []string {
	var out []string
	for _, p := range ps {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}

func num[T ~int32 | ~int64](p *T) []string {
	if p == nil {
		return nil
	}
	return []string{strconv.FormatInt(int64(*p), 10)}
}

func boolean(p *bool) []string {
	if p == nil {
		return nil
	}
	return []string{strconv.FormatBool(*p)}
}
