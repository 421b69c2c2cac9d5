package steps

import (
	"cmp"
	"context"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/metrics"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// The metrics the steps write (workflow.Metrics), in the embedded metric
// format, to Handlers.Metrics:
//
//   - Placements by Outcome, once per source interface, by the step that
//     decides its outcome: CheckExistingSession (exists, skipped, failed for
//     NoRoomOnSource, and an instance skipped or failed as a whole, which
//     counts once since its interfaces are not known), CreateSession
//     (created, exists, skipped when the instance went away), and any step
//     that fails the placement (failed). A failure also counts
//     PlacementFailures by Step. An error the state machine retries
//     (EC2Throttled, EC2Unavailable) or routes back to the pick (SensorFull)
//     does not end the placement and is not counted.
//   - RePicks, once per pass back to PickLeastLoaded after a full sensor.
//   - Coverage and ReconcilePlaced, ReconcileFailed, ReconcileDeleted, by
//     TallyReconcile after the Reconcile's last page. Coverage is the
//     account as ListReconcileWork judged it, page by page, before the
//     placements the Reconcile started: how well the event-driven
//     placements kept up, which is why the first Reconcile after a deploy
//     (the backfill) reports the gaps it then fills.
//   - SensorSources, SensorCapacity and SensorHeadroom by Zone, by
//     ListReconcileWork on the Reconcile's first page.
//
// A step that Step Functions runs again after it succeeded (its result lost
// to a Lambda service error) writes its metrics again: the placement's
// counts can then be one too high, as EMF's own at-least-once delivery can
// make them. Telling a retry apart would need state the steps do not keep
// (or an API call on the hot path), so each placement document carries the
// execution, instance and interface ids as properties instead: a Logs
// Insights query can count distinct placements exactly when it matters.
// The Reconcile's figures are gauges, which a repeat does not distort when
// charted as an average, minimum or maximum.

// Property names of a placement's documents: members of the log line that
// identify the placement without being CloudWatch dimensions.
const (
	propExecutionID        = "executionId"
	propInstanceID         = "instanceId"
	propNetworkInterfaceID = "networkInterfaceId"
)

// publishing reports whether the handlers write metrics: a Lambda does
// (NewFromEnv writes to stdout); mirrorctl and the tests' handlers from New
// do not, unless a test sets Metrics.
func (h *Handlers) publishing() bool {
	return h.Metrics != nil && h.Metrics != io.Discard
}

// record writes one document of ms with dims. Metrics never fail a step:
// a document the writer refuses is a bug the tests catch (they read every
// line back), and stdout failing to take a line leaves nothing to tell.
func (h *Handlers) record(dims []metrics.Dimension, props map[string]string, ms ...metrics.Metric) {
	if !h.publishing() {
		return
	}
	_ = metrics.Write(h.Metrics, metrics.Document{
		Namespace: workflow.MetricNamespace, Timestamp: time.Now(), Dimensions: dims, Metrics: ms, Properties: props,
	})
}

// placementProps identifies a placement in its documents.
func placementProps(executionID, instanceID, eni string) map[string]string {
	props := map[string]string{}
	for k, v := range map[string]string{propExecutionID: executionID, propInstanceID: instanceID, propNetworkInterfaceID: eni} {
		if v != "" {
			props[k] = v
		}
	}
	return props
}

// propsOf identifies p in its documents.
func propsOf(p workflow.Placement) map[string]string {
	eni := ""
	if p.Source != nil {
		eni = p.Source.NetworkInterfaceID
	}
	return placementProps(p.ExecutionID, p.InstanceID, eni)
}

// countOutcome counts one placement decided with outcome; a failed one is
// counted against step too.
func (h *Handlers) countOutcome(step string, outcome workflow.Outcome, props map[string]string) {
	h.record([]metrics.Dimension{{Name: workflow.DimOutcome, Value: string(outcome)}}, props,
		metrics.Metric{Name: workflow.MetricPlacements, Unit: metrics.Count, Value: 1})
	if outcome == workflow.OutcomeFailed {
		h.record([]metrics.Dimension{{Name: workflow.DimStep, Value: step}}, props,
			metrics.Metric{Name: workflow.MetricPlacementFailures, Unit: metrics.Count, Value: 1})
	}
}

// countFailure counts the placement failed at step when err ends it: any
// error but those the state machine retries or routes back to the pick.
func (h *Handlers) countFailure(step string, p workflow.Placement, err error) {
	if endsPlacement(err) {
		h.countOutcome(step, workflow.OutcomeFailed, propsOf(p))
	}
}

// endsPlacement reports whether the state machine ends the placement on
// err rather than retrying the step (steperr.Transient) or going back to
// PickLeastLoaded (steperr.RePick).
func endsPlacement(err error) bool {
	name := steperr.TypeName(err)
	return !slices.Contains(steperr.Transient(), name) && !slices.Contains(steperr.RePick(), name)
}

// countRePick counts one pass back to PickLeastLoaded after a full sensor.
func (h *Handlers) countRePick(p workflow.Placement) {
	h.record(nil, propsOf(p), metrics.Metric{Name: workflow.MetricRePicks, Unit: metrics.Count, Value: 1})
}

// recordReconcile writes what a whole Reconcile found and did, from its totals.
func (h *Handlers) recordReconcile(t workflow.ReconcileTotals) {
	h.record(nil, nil,
		metrics.Metric{Name: workflow.MetricCoverage, Unit: metrics.None, Value: CoverageRatio(t.Judged)},
		metrics.Metric{Name: workflow.MetricReconcilePlaced, Unit: metrics.Count, Value: float64(t.Placed)},
		metrics.Metric{Name: workflow.MetricReconcileFailed, Unit: metrics.Count, Value: float64(t.Failed)},
		metrics.Metric{Name: workflow.MetricReconcileDeleted, Unit: metrics.Count, Value: float64(t.Deleted)})
}

// CoverageRatio is mirrored / (mirrored + unmirrored) of the judged source
// interfaces, 1 when there are none to mirror, as workflow.Coverage.Ratio
// computes it for one report.
func CoverageRatio(c workflow.ReconcileCounts) float64 {
	if c.Mirrored+c.Unmirrored == 0 {
		return 1
	}
	return float64(c.Mirrored) / float64(c.Mirrored+c.Unmirrored)
}

// ZoneLoad is the load of one zone's sensors that have a limit.
type ZoneLoad struct {
	Zone string
	// Sources counts the distinct source interfaces of the zone's sensors
	// (each sensor's own count, summed); Capacity sums their limits;
	// Headroom sums each sensor's free slots, so a sensor over its limit
	// takes nothing from another's.
	Sources, Capacity, Headroom int
}

// ZoneLoads sums the sensors' load by zone, for the sensor metrics. Only a
// sensor with a limit counts: an interface target, which is in one zone. A
// Network Load Balancer or Gateway Load Balancer endpoint has no limit on
// sources (workflow.SensorLoad.Limit 0), so it neither adds capacity nor
// runs out of it, and a zone served by load balancers alone writes no
// sensor metrics rather than a headroom of 0 that would look full. A
// draining sensor takes no new source, so its slots are no headroom and its
// sources are left out too, keeping Sources comparable with Capacity. The
// zones are sorted.
func ZoneLoads(sensors []workflow.SensorLoad) []ZoneLoad {
	byZone := map[string]*ZoneLoad{}
	for _, s := range sensors {
		if s.Limit <= 0 || s.Draining || s.Zone == "" {
			continue
		}
		z := byZone[s.Zone]
		if z == nil {
			z = &ZoneLoad{Zone: s.Zone}
			byZone[s.Zone] = z
		}
		z.Sources += s.Sources
		z.Capacity += s.Limit
		z.Headroom += max(0, s.Limit-s.Sources)
	}
	out := make([]ZoneLoad, 0, len(byZone))
	for _, z := range byZone {
		out = append(out, *z)
	}
	slices.SortFunc(out, func(a, b ZoneLoad) int { return cmp.Compare(a.Zone, b.Zone) })
	return out
}

// recordSensorLoad writes each zone's sensor load: every session of the
// account (one DescribeTrafficMirrorSessions, paginated) against the
// candidate sensors as Sensors resolves them from targets.
func (h *Handlers) recordSensorLoad(ctx context.Context, targets []ec2types.TrafficMirrorTarget) error {
	sessions, err := ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{})
	if err != nil {
		return steperr.FromEC2("describing every traffic mirror session for the sensors' load", err)
	}
	sensors, err := h.Sensors(ctx, targets, sessions)
	if err != nil {
		return err
	}
	for _, z := range ZoneLoads(sensors) {
		h.record([]metrics.Dimension{{Name: workflow.DimZone, Value: z.Zone}}, nil,
			metrics.Metric{Name: workflow.MetricSensorSources, Unit: metrics.Count, Value: float64(z.Sources)},
			metrics.Metric{Name: workflow.MetricSensorCapacity, Unit: metrics.Count, Value: float64(z.Capacity)},
			metrics.Metric{Name: workflow.MetricSensorHeadroom, Unit: metrics.Count, Value: float64(z.Headroom)})
	}
	return nil
}
