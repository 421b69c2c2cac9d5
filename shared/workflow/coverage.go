package workflow

// Coverage statuses of a source interface, as the snapshot format's
// "Coverage" section names them.
const (
	// CoverageMirrored: the interface has a session to a candidate of its rule.
	CoverageMirrored = "mirrored"
	// CoverageUnmirrored: in scope and eligible, and it has none.
	CoverageUnmirrored = "unmirrored"
	// CoverageSkipped: a sensor, opted out, out of scope, or not an eligible source.
	CoverageSkipped = "skipped"
)

// InterfaceCoverage is one source interface's coverage: an element of
// mirrorctl coverage's "interfaces". Every key is always present.
type InterfaceCoverage struct {
	InstanceID         string `json:"instanceId"`
	NetworkInterfaceID string `json:"networkInterfaceId"`
	Status             string `json:"status"`
	// Rule is the configuration rule that decides the interface; empty
	// without Rules, or when none matches.
	Rule string `json:"rule"`
	// TargetID and SessionID are the session that mirrors the interface.
	TargetID  string `json:"targetId"`
	SessionID string `json:"sessionId"`
	// Reason says why the interface is not mirrored, or how it is.
	Reason string `json:"reason"`
}

// StaleSession is a session mirrorflow made that should not be there: its
// target is no longer a candidate of its source's rule, or its source is
// skipped or not a source interface at all.
type StaleSession struct {
	SessionID          string `json:"sessionId"`
	NetworkInterfaceID string `json:"networkInterfaceId"`
	TargetID           string `json:"targetId"`
	Reason             string `json:"reason"`
	// InstanceID is the running instance the source interface is attached
	// to. Not part of mirrorctl coverage's JSON contract, which the snapshot
	// format fixes; the Reconcile workflow reads it.
	InstanceID string `json:"-"`
	// Placed says whether the interface's placement deletes the session
	// (the interface is unmirrored, and CreateSession deletes its stale
	// sessions before it creates), rather than the Reconcile workflow.
	Placed bool `json:"-"`
}

// SensorLoad is one sensor's load: an element of mirrorctl coverage's
// "sensors".
type SensorLoad struct {
	TargetID string `json:"targetId"`
	// Zone is an interface target's zone, a load balancer's zones sorted and
	// joined with commas, or empty when what the target points at is gone.
	Zone string `json:"zone"`
	// Sources counts the distinct source interfaces of its sessions.
	Sources int `json:"sources"`
	// Limit is how many it accepts; 0 when it has none.
	Limit    int  `json:"limit"`
	Draining bool `json:"draining"`
}

// Coverage is what coverage says of the running instances it judged.
type Coverage struct {
	Interfaces []InterfaceCoverage `json:"interfaces"`
	Stale      []StaleSession      `json:"stale"`
}

// Ratio is mirrored / (mirrored + unmirrored), 1 when both are 0.
func (c Coverage) Ratio() float64 {
	var mirrored, unmirrored int
	for _, i := range c.Interfaces {
		switch i.Status {
		case CoverageMirrored:
			mirrored++
		case CoverageUnmirrored:
			unmirrored++
		}
	}
	if mirrored+unmirrored == 0 {
		return 1
	}
	return float64(mirrored) / float64(mirrored+unmirrored)
}
