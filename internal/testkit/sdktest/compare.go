package sdktest

import (
	"reflect"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// IgnoreUnexported ignores the SDK's zero-size serde markers
// (noSmithyDocumentSerde) in every struct type reachable from the given
// values, so that cmp compares SDK types by their fields. time.Time is left
// to its Equal method, as cmp uses it.
func IgnoreUnexported(values ...any) cmp.Option {
	var structs []any
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t == reflect.TypeOf(time.Time{}) {
			return
		}
		seen[t] = true
		structs = append(structs, reflect.New(t).Elem().Interface())
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				walk(t.Field(i).Type)
			}
		}
	}
	for _, v := range values {
		walk(reflect.TypeOf(v))
	}
	return cmpopts.IgnoreUnexported(structs...)
}

// Clock is a settable time, for the simulators' token buckets: a test
// moves it on instead of sleeping.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock standing at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
