package placement

import "fmt"

// FilterByZone sets SameZone on each sensor. Mirrored traffic that crosses
// zones is billed and adds a zone to the failure path, so with localZoneOnly
// a sensor in another zone is rejected; otherwise it is kept with
// SameZone=false and PickLeastLoaded uses it only when no same-zone sensor is
// left. A load-balancer target has no zone of its own (it spreads over the
// zones it is enabled in), so it counts as same-zone and is never rejected
// here; a note on the sensor says so.
func FilterByZone(src Source, sensors []Sensor, localZoneOnly bool) (kept []Sensor, rejected []Rejection) {
	for _, s := range sensors {
		switch {
		case s.isLoadBalancer() && s.AvailabilityZone == "":
			s.SameZone = true
			s = s.withNote(fmt.Sprintf("zone not checked: a %s target has no zone of its own", s.Type))
		case s.AvailabilityZone != "" && s.AvailabilityZone == src.AvailabilityZone:
			s.SameZone = true
		case localZoneOnly:
			rejected = append(rejected, Rejection{TargetID: s.TargetID, Reason: fmt.Sprintf(
				"%s in %s, source %s is in %s (LocalZoneOnly); add a sensor in %s or turn LocalZoneOnly off",
				s.resourceName(), zoneName(s.AvailabilityZone), src.NetworkInterfaceID, zoneName(src.AvailabilityZone), zoneName(src.AvailabilityZone))})
			continue
		default:
			s.SameZone = false
		}
		kept = append(kept, s)
	}
	sortRejections(rejected)
	return kept, rejected
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
