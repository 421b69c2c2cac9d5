package burstaccount

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/internal/snapshot"
	"github.com/mirrorflow/mirrorflow/shared/placement"
)

// Backfill is the account `make demo` backfills (testdata/snapshots/
// backfill.json): the day mirrorflow is deployed into an account that has
// been running for a while. 48 instances over three zones, 8 sensors (80
// source slots), and what an account accumulates:
//   - 2 instances already mirrored by mirrorflow (sessions tagged ManagedBy);
//   - sensor 7 being drained (tagged mirrorflow:draining=true) while it still
//     holds instance 2's session: stale, moved by instance 2's placement;
//   - instance 3 opted out (mirrorflow:exclude=true) after it was mirrored:
//     its session is stale and only the Reconcile deletes it;
//   - the other 44 instances never placed.
func Backfill() *snapshot.Snapshot {
	s := New(48, 8)
	s.Name = "backfill"
	session := func(n int32, instance, sensor int) ec2types.TrafficMirrorSession {
		return ec2types.TrafficMirrorSession{
			TrafficMirrorSessionId: aws.String(id("tms", 0xbf000+int(n))), TrafficMirrorFilterId: aws.String(FilterID),
			NetworkInterfaceId: aws.String(id("eni", 0xa0000+instance)), TrafficMirrorTargetId: aws.String(id("tmt", 0x5e000+sensor)),
			SessionNumber: aws.Int32(1), VirtualNetworkId: aws.Int32(0xbf000 + n), OwnerId: aws.String(OwnerID),
			Description: aws.String(fmt.Sprintf("mirrorflow: instance %d", instance)),
			Tags:        []ec2types.Tag{{Key: aws.String("ManagedBy"), Value: aws.String("mirrorflow")}},
		}
	}
	// Instance i is in zone i%3, as is sensor j in zone j%3.
	s.TrafficMirrorSessions = []ec2types.TrafficMirrorSession{session(0, 0, 0), session(1, 1, 1), session(2, 2, 5), session(3, 3, 6)}
	s.TrafficMirrorTargets[5].Tags = append(s.TrafficMirrorTargets[5].Tags,
		ec2types.Tag{Key: aws.String(placement.DrainingTagKey), Value: aws.String(placement.DrainingTagValue)})
	s.Reservations[3].Instances[0].Tags = append(s.Reservations[3].Instances[0].Tags,
		ec2types.Tag{Key: aws.String(s.Config.WithDefaults().ExcludeTag.Key), Value: aws.String(s.Config.WithDefaults().ExcludeTag.Value)})
	return s
}
