package placement

import (
	"fmt"
	"slices"
	"strings"
)

// FilterByZone sets SameZone on each sensor. Mirrored traffic that crosses
// zones is billed and adds a zone to the failure path, so with localZoneOnly
// a sensor in another zone is rejected; otherwise it is kept with
// SameZone=false and PickLeastLoaded uses it only when no same-zone sensor is
// left. A sensor in several zones (Zones: a Network Load Balancer receives in
// every zone it is enabled in) is same-zone when the source's zone is one of
// them. A load-balancer target whose zones are not known (resolved by
// ResolveSensors, which gives it only its ids) counts as same-zone and is
// never rejected here; a note on the sensor says so.
func FilterByZone(src Source, sensors []Sensor, localZoneOnly bool) (kept []Sensor, rejected []Rejection) {
	for _, s := range sensors {
		switch {
		case s.isLoadBalancer() && s.AvailabilityZone == "" && len(s.Zones) == 0:
			s.SameZone = true
			s = s.withNote(fmt.Sprintf("zone not checked: a %s target has no zone of its own", s.Type))
		case s.inZone(src.AvailabilityZone):
			s.SameZone = true
		case localZoneOnly:
			rejected = append(rejected, Rejection{TargetID: s.TargetID, Reason: fmt.Sprintf(
				"%s in %s, source %s is in %s (LocalZoneOnly); add a sensor in %s or turn LocalZoneOnly off",
				s.resourceName(), s.zoneNames(), src.NetworkInterfaceID, zoneName(src.AvailabilityZone), zoneName(src.AvailabilityZone))})
			continue
		default:
			s.SameZone = false
		}
		kept = append(kept, s)
	}
	sortRejections(rejected)
	return kept, rejected
}

// inZone reports whether the sensor receives in zone: its AvailabilityZone,
// or one of its Zones. An empty zone is in no sensor's.
func (s Sensor) inZone(zone string) bool {
	return zone != "" && (s.AvailabilityZone == zone || slices.Contains(s.Zones, zone))
}

// zoneNames is how a reason names the sensor's zones: its one zone, its
// Zones in their (sorted) order as "a, b and c", or "an unknown zone".
func (s Sensor) zoneNames() string {
	switch n := len(s.Zones); n {
	case 0:
		return zoneName(s.AvailabilityZone)
	case 1:
		return s.Zones[0]
	default:
		return strings.Join(s.Zones[:n-1], ", ") + " and " + s.Zones[n-1]
	}
}

func zoneName(z string) string {
	if z == "" {
		return "an unknown zone"
	}
	return z
}

// resourceName is how a reason names the sensor: its interface when it has
// one, since that is what a person fixes, else its target id.
func (s Sensor) resourceName() string {
	if s.NetworkInterfaceID != "" {
		return s.NetworkInterfaceID
	}
	return s.TargetID
}
