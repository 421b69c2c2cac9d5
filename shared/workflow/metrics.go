package workflow

// MetricNamespace is the CloudWatch namespace of the metrics the steps
// write in the CloudWatch embedded metric format (EMF): one JSON document
// per log line, which CloudWatch Logs turns into metrics with no API call.
const MetricNamespace = "Mirrorflow"

// Metric names. The dashboard and the alarms name them; the steps write
// them. Metrics lists every one, and a test checks each is written by some
// step, so a widget can never chart a metric nobody writes.
const (
	// MetricPlacements counts source interfaces placed, by DimOutcome
	// (created, exists, skipped, failed). Written once per interface, by the
	// step that decides its outcome.
	MetricPlacements = "Placements"
	// MetricPlacementFailures counts interfaces that failed, by DimStep (the
	// step that rejected the last candidate or failed).
	MetricPlacementFailures = "PlacementFailures"
	// MetricRePicks counts passes back to PickLeastLoaded after a full sensor.
	MetricRePicks = "RePicks"
	// MetricCoverage is the account's coverage, 0 to 1, written by each
	// Reconcile when it has judged every page.
	MetricCoverage = "Coverage"
	// MetricSensorSources is the source interfaces of the zone's sensors
	// with a limit, by DimZone; MetricSensorCapacity their limit summed;
	// MetricSensorHeadroom the free source slots (capacity minus sources,
	// never below 0). Written by each Reconcile.
	MetricSensorSources  = "SensorSources"
	MetricSensorCapacity = "SensorCapacity"
	MetricSensorHeadroom = "SensorHeadroom"
	// MetricReconcilePlaced, MetricReconcileFailed and
	// MetricReconcileDeleted are what one Reconcile did, written at its end.
	MetricReconcilePlaced  = "ReconcilePlaced"
	MetricReconcileFailed  = "ReconcileFailed"
	MetricReconcileDeleted = "ReconcileDeleted"
)

// Metric dimensions.
const (
	DimOutcome = "Outcome"
	DimStep    = "Step"
	DimZone    = "Zone"
)

// Metrics lists every metric the steps write.
var Metrics = []string{
	MetricPlacements, MetricPlacementFailures, MetricRePicks, MetricCoverage,
	MetricSensorSources, MetricSensorCapacity, MetricSensorHeadroom,
	MetricReconcilePlaced, MetricReconcileFailed, MetricReconcileDeleted,
}
