package placement

import (
	"fmt"
	"strings"
)

// Which instance types can be a traffic mirror source, as AWS's Traffic
// Mirroring guide lists them: "Traffic Mirroring limitations", General
// limitations, Instance types ("The following limitations only apply to
// only the traffic mirroring source instance type"), repeated under
// "Traffic mirror sources" in "Understand traffic mirror session concepts":
//
//	https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-network-limitations.html
//	https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-sessions.html
//
// read on 2026-11-30. The page lists exceptions, not every supported type:
// virtualized Nitro types are sources except the families it names; bare
// metal never is; of the types not built on Nitro only the twelve it names
// are ("Note that this does not include T2 instances"). The version encoded
// here is the newest that could be read: it adds the Graviton4 families
// M8g, C8g, R8g and X8g to the Nitro exceptions of the earlier one (which
// ended at M7i-flex, C7i, R7iz...), the change of 2025.
//
// Gap: the copies of the page readable on that date differ. The newest with
// this list was served in English under the ko_kr, pt_br and id_id paths;
// the copy of the English page itself no longer shows an Instance types item
// under General limitations, and no later list was found. A family AWS has
// added to or removed from the exceptions since is therefore judged by the
// rule for unlisted types below, and this file is the one place to update.
const sourceTypesRead = "AWS Traffic Mirroring guide, Traffic Mirroring limitations, read 2026-11-30"

// nitroNotSources are the virtualized Nitro families the page says Traffic
// Mirroring is not available on, by its categories.
var nitroNotSources = families(
	// General purpose
	"m8g", "m6a", "m6i", "m6id", "m6idn", "m6in", "m7a", "m7g", "m7gd", "m7i", "m7i-flex",
	// Compute optimized
	"c8g", "c6a", "c6gd", "c6gn", "c6i", "c6id", "c6in", "c7a", "c7g", "c7gd", "c7gn", "c7i",
	// Memory optimized
	"r8g", "r6a", "r6i", "r6id", "r6idn", "r6in", "r7a", "r7g", "r7gd", "r7i", "r7iz", "x8g", "x2idn", "x2iedn", "x2iezn",
	// Storage optimized
	"i4g", "i4i", "im4gn", "is4gen",
	// Accelerated computing
	"inf2", "p5", "trn1", "trn1n",
	// High-performance computing
	"hpc6a", "hpc6id", "hpc7a", "hpc7g",
)

// nonNitroSources are the only types not built on Nitro that the page says
// Traffic Mirroring is available on.
var nonNitroSources = families("c4", "d2", "g3", "g3s", "h1", "i3", "m4", "p2", "p3", "r4", "x1", "x1e")

// nonNitroNotSources are families known not to be built on Nitro and absent
// from nonNitroSources, so excluded by "available only on the following
// non-Nitro instance types": T2, which the page names, and the previous
// generation types the EC2 User Guide gives as the only ones with instance
// store root volumes ("C1, C3, D2, I2, M1, M2, M3, R3, and X1"; "Nitro-based
// instances support only EBS root volumes"), less D2 and X1, which are
// listed sources.
var nonNitroNotSources = families("t2", "c1", "c3", "i2", "m1", "m2", "m3", "r3")

func families(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// SourceSupported reports whether an instance of instanceType (as EC2 spells
// it: family.size, m5.large) can be a traffic mirror source, and why, in
// words for the placement's skipped reason. It answers false only for what
// AWS's lists exclude (see above): a type on none of them, such as most
// Nitro families (M5, C5, T3...) and any launched after the list was read,
// is taken to be a source, with a reason that says so. That is the
// conservative side for a mirroring tool: a type wrongly taken to be a
// source fails visibly at CreateTrafficMirrorSession with EC2's own error,
// while one wrongly skipped would leave an interface unmirrored as if there
// were nothing to do.
func SourceSupported(instanceType string) (ok bool, reason string) {
	t := strings.ToLower(strings.TrimSpace(instanceType))
	if t == "" {
		return false, "the instance has no instance type to judge"
	}
	family, size, _ := strings.Cut(t, ".")
	switch {
	case strings.HasPrefix(size, "metal"):
		return false, fmt.Sprintf("%s is a bare metal instance type, and Traffic Mirroring is not available on bare metal instances (%s)", t, sourceTypesRead)
	case nitroNotSources[family]:
		return false, fmt.Sprintf("Traffic Mirroring is not available on the %s instance family, so %s cannot be a mirror source (%s)", family, t, sourceTypesRead)
	case nonNitroNotSources[family]:
		return false, fmt.Sprintf("%s is not built on the Nitro System and Traffic Mirroring is available only on the non-Nitro types C4, D2, G3, G3s, H1, I3, M4, P2, P3, R4, X1 and X1e, so %s cannot be a mirror source (%s)", family, t, sourceTypesRead)
	case nonNitroSources[family]:
		return true, fmt.Sprintf("%s is one of the non-Nitro types AWS lists as traffic mirror sources (%s)", family, sourceTypesRead)
	}
	return true, fmt.Sprintf("%s is on none of AWS's lists of instance types that cannot be a mirror source (%s); it is taken to be one, and EC2 decides when the session is created", t, sourceTypesRead)
}
