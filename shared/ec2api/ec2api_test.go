package ec2api_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
)

// ids returns n distinct ids, id-0001 onwards.
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("id-%04d", i+1)
	}
	return out
}

// echo is a describe that answers each value with itself and records the
// size of every chunk it was asked.
func echo(sizes *[]int) func([]string) ([]string, error) {
	return func(chunk []string) ([]string, error) {
		*sizes = append(*sizes, len(chunk))
		return chunk, nil
	}
}

func TestInChunks(t *testing.T) {
	tests := []struct {
		name       string
		values     []string
		size       int
		wantChunks []int
		want       []string
	}{
		{name: "no values make no call", values: nil, size: ec2api.MaxFilterValues, wantChunks: nil, want: nil},
		{name: "one value is one call", values: ids(1), size: ec2api.MaxFilterValues, wantChunks: []int{1}, want: ids(1)},
		{name: "200 values fit in one call", values: ids(200), size: ec2api.MaxFilterValues, wantChunks: []int{200}, want: ids(200)},
		{name: "201 values take a second call", values: ids(201), size: ec2api.MaxFilterValues, wantChunks: []int{200, 1}, want: ids(201)},
		{name: "401 values take three calls", values: ids(401), size: ec2api.MaxFilterValues, wantChunks: []int{200, 200, 1}, want: ids(401)},
		{name: "a value is asked once however often it is given", values: []string{"b", "a", "b", "c", "a"}, size: 2,
			wantChunks: []int{2, 1}, want: []string{"b", "a", "c"}},
		{name: "duplicates do not count against the limit", values: append(ids(200), ids(200)...), size: ec2api.MaxFilterValues,
			wantChunks: []int{200}, want: ids(200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sizes []int
			got, err := ec2api.InChunks(tt.values, tt.size, echo(&sizes))
			if err != nil {
				t.Fatalf("InChunks: %v", err)
			}
			if diff := cmp.Diff(tt.wantChunks, sizes); diff != "" {
				t.Errorf("chunk sizes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInChunksErrors(t *testing.T) {
	refused := errors.New("FilterLimitExceeded")
	failOn := func(call int) func([]string) ([]string, error) {
		n := 0
		return func(chunk []string) ([]string, error) {
			if n++; n == call {
				return nil, refused
			}
			return chunk, nil
		}
	}
	tests := []struct {
		name     string
		values   []string
		size     int
		describe func([]string) ([]string, error)
		wantIs   error
		wantText string // the whole message
	}{
		{name: "an error from the second chunk names its values and wraps the cause", values: ids(250), size: ec2api.MaxFilterValues,
			describe: failOn(2), wantIs: refused, wantText: "describing values 201-250 of 250: FilterLimitExceeded"},
		{name: "an error from the only chunk is returned as it is", values: ids(3), size: ec2api.MaxFilterValues,
			describe: failOn(1), wantIs: refused, wantText: "FilterLimitExceeded"},
		{name: "a chunk size below 1 is refused before any call", values: ids(3), size: 0,
			describe: func([]string) ([]string, error) { t.Fatal("describe called"); return nil, nil }, wantText: "describing in chunks of 0 values: the size must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ec2api.InChunks(tt.values, tt.size, tt.describe)
			if err == nil {
				t.Fatalf("InChunks = %d items, want an error", len(got))
			}
			if got != nil {
				t.Errorf("InChunks returned %d items with its error; a partial answer would drop candidates", len(got))
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if err.Error() != tt.wantText {
				t.Errorf("error = %q, want %q", err, tt.wantText)
			}
		})
	}
}
