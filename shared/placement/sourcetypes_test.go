package placement

import (
	"strings"
	"testing"
)

func TestSourceSupported(t *testing.T) {
	tests := []struct {
		name   string
		types  []string
		want   bool
		reason string // a word the reason must hold
	}{
		{"T2 cannot be a source", []string{"t2.micro", "t2.2xlarge"}, false, "Nitro"},
		{"an instance type is read whatever its case", []string{"T2.Micro", " t2.nano "}, false, "t2"},
		{"bare metal cannot be a source, on any family", []string{"m5.metal", "c5n.metal", "m7i.metal-24xl", "i3.metal"}, false, "bare metal"},
		{"the listed non-Nitro types can be sources", []string{"c4.large", "d2.xlarge", "g3.4xlarge", "g3s.xlarge", "h1.2xlarge", "i3.large", "m4.large", "p2.xlarge", "p3.2xlarge", "r4.large", "x1.16xlarge", "x1e.xlarge"}, true, "non-Nitro"},
		{"a previous-generation non-Nitro type not listed cannot be a source", []string{"m3.medium", "c3.large", "r3.large", "i2.xlarge", "m1.small", "m2.xlarge", "c1.medium"}, false, "Nitro"},
		{"the virtualized Nitro families AWS excludes cannot be sources", []string{"m6i.large", "m6a.large", "c6gn.xlarge", "c7i.large", "r7iz.large", "x2iedn.xlarge", "i4i.large", "is4gen.large", "inf2.xlarge", "p5.48xlarge", "trn1n.32xlarge", "hpc7g.4xlarge"}, false, "not available"},
		{"the Graviton4 families added in 2025 cannot be sources", []string{"m8g.large", "c8g.large", "r8g.large", "x8g.large"}, false, "not available"},
		{"a flex family is its own family", []string{"m7i-flex.large"}, false, "m7i-flex"},
		{"a family is matched whole, not by prefix", []string{"c6g.large", "m6g.large", "i3en.large", "r6gd.large"}, true, "none of AWS's lists"},
		{"a type on no list is taken to be a source and EC2 decides", []string{"m5.large", "c5.xlarge", "t3.micro", "r5.large", "zz99.large"}, true, "EC2 decides"},
		{"no instance type cannot be judged a source", []string{"", "  "}, false, "no instance type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, it := range tc.types {
				ok, reason := SourceSupported(it)
				if ok != tc.want {
					t.Errorf("SourceSupported(%q) = %v (%s), want %v", it, ok, reason, tc.want)
				}
				if !strings.Contains(reason, tc.reason) {
					t.Errorf("SourceSupported(%q) reason %q, want it to mention %q", it, reason, tc.reason)
				}
			}
		})
	}
}

// TestSourceTypeListsDoNotOverlap keeps the three lists consistent: a
// family AWS lists as a source is on no list of exclusions.
func TestSourceTypeListsDoNotOverlap(t *testing.T) {
	for f := range nonNitroSources {
		if nitroNotSources[f] || nonNitroNotSources[f] {
			t.Errorf("%s is listed both as a source and as not one", f)
		}
	}
	for f := range nitroNotSources {
		if nonNitroNotSources[f] {
			t.Errorf("%s is both a Nitro and a non-Nitro exclusion", f)
		}
	}
}
