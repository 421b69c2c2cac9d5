package workflow

// Reconcile step names: the Task states of the Reconcile state machine.
const (
	StepListReconcileWork   = "ListReconcileWork"
	StepDeleteStaleSessions = "DeleteStaleSessions"
	StepTallyReconcile      = "TallyReconcile"
)

// ReconcileSteps are the Reconcile state machine's Lambda steps, in the
// order a page goes through them. Like Steps, each is a folder under
// tasks/ and a function of its own whose role grants only its actions.
var ReconcileSteps = []Step{
	{StepListReconcileWork, "listreconcilework",
		"Lists one page of running instances and judges their coverage: the instances to place again and the stale sessions to delete. On the first page, writes the sensors' load by zone.",
		[]string{"DescribeInstances", "DescribeSubnets", "DescribeTrafficMirrorSessions", "DescribeTrafficMirrorTargets", "DescribeNetworkInterfaces", "DescribeVpcEndpoints"},
		[]string{"DescribeLoadBalancers", "DescribeListeners"}},
	{StepDeleteStaleSessions, "deletestalesessions",
		"Deletes the stale mirrorflow sessions of interfaces no placement will touch (skipped, mirrored elsewhere, or not a source).",
		[]string{"DescribeTrafficMirrorSessions", "DeleteTrafficMirrorSession"}, nil},
	{StepTallyReconcile, "tallyreconcile",
		"Adds one page's placements to the Reconcile's running totals; after the last page, writes the coverage and what the Reconcile did.",
		nil, nil},
}

// Functions lists every Lambda step of the stack: the placement's, then
// the Reconcile's.
func Functions() []Step {
	return append(append([]Step{}, Steps...), ReconcileSteps...)
}

// IsReconcileStep reports whether name is one of the Reconcile's Lambda
// steps: a dead letter from one is a failure of the Reconcile as a whole,
// which is run again, not a placement.
func IsReconcileStep(name string) bool {
	for _, s := range ReconcileSteps {
		if s.Name == name {
			return true
		}
	}
	return false
}

// TriggerReconcile marks a placement the Reconcile workflow started.
const TriggerReconcile = "reconcile"

// ReconcileState is the Reconcile's state between pages: what started it,
// where listing goes on, and the totals so far. The execution input is {}
// or {"trigger": "..."} (the schedule, a deploy, mirrorctl): the first page's
// state; TallyReconcile returns the next page's, and the last one is the
// Reconcile's summary.
type ReconcileState struct {
	// Trigger says what started the Reconcile: schedule, deploy, mirrorctl.
	Trigger string `json:"trigger,omitempty"`
	// NextToken is DescribeInstances' token for the next page; empty for
	// the first page and after the last.
	NextToken string `json:"nextToken"`
	// Totals are the pages done so far.
	Totals ReconcileTotals `json:"totals"`
}

// ReconcileInput is what ListReconcileWork receives: the state, and the
// execution's start ($$.Execution.StartTime), which names every placement
// it starts so that a Task retry starts the same execution, not a second.
type ReconcileInput struct {
	State     ReconcileState `json:"state"`
	StartTime string         `json:"startTime"`
}

// ReconcilePage is ListReconcileWork's answer for one page.
type ReconcilePage struct {
	// Place are the instances with an unmirrored source interface, each
	// placed by an execution of the placement state machine of its own.
	Place []ReconcilePlacement `json:"place"`
	// Delete are the stale sessions no placement deletes: those of
	// interfaces that are skipped, mirrored, or not sources.
	Delete []StaleSession `json:"delete"`
	// Judged counts this page's source interfaces by coverage status, and
	// its stale sessions.
	Judged ReconcileCounts `json:"judged"`
	// State is the state the page was listed in, with NextToken now the
	// token of the next page (empty on the last).
	State ReconcileState `json:"state"`
}

// ReconcilePlacement is one placement the Reconcile starts.
type ReconcilePlacement struct {
	InstanceID string `json:"instanceId"`
	// Name is the execution's name: reconcile-<instance>-<start time>.
	Name string `json:"name"`
	// Input is the placement's execution input, a ManualInput with trigger reconcile.
	Input ManualInput `json:"input"`
}

// ReconcileCounts counts source interfaces by coverage status, and stale sessions.
type ReconcileCounts struct {
	Mirrored   int `json:"mirrored"`
	Unmirrored int `json:"unmirrored"`
	Skipped    int `json:"skipped"`
	Stale      int `json:"stale"`
}

// ReconcileTotals are what the Reconcile did, summed over its pages: the
// summary it ends with.
type ReconcileTotals struct {
	Pages  int             `json:"pages"`
	Judged ReconcileCounts `json:"judged"`
	// Placed, Failed and Skipped count the placement executions by how
	// they ended: Placed (some interface mirrored, none failed), failed
	// (PlacementFailed, in the dead-letter queue with its reason; or not
	// started), or NothingToMirror.
	Placed  int `json:"placed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// Deleted counts the stale sessions the Reconcile deleted itself.
	Deleted int `json:"deleted"`
}

// Outcomes of a placement the Reconcile started, as its Map records them.
const (
	ReconcilePlaced  = "placed"
	ReconcileFailed  = "failed"
	ReconcileSkipped = "skipped"
)

// ReconcileResult is what became of one placement the Reconcile started.
type ReconcileResult struct {
	InstanceID string `json:"instanceId"`
	// Outcome is ReconcilePlaced, ReconcileFailed or ReconcileSkipped.
	Outcome string `json:"outcome"`
	// Error is the failed execution's error, or why it could not start.
	Error string `json:"error,omitempty"`
}

// DeletedSessions is DeleteStaleSessions' answer.
type DeletedSessions struct {
	// Deleted are the sessions it deleted; Gone those already gone.
	Deleted []string `json:"deleted"`
	Gone    []string `json:"gone"`
	// Kept are sessions it left because they no longer carry the ManagedBy
	// tag: mirrorflow deletes only its own.
	Kept []string `json:"kept"`
}

// DeleteInput is DeleteStaleSessions' input.
type DeleteInput struct {
	Sessions []StaleSession `json:"sessions"`
}

// TallyInput is TallyReconcile's input: the page as listed, what the
// Map's placements did, and what was deleted.
type TallyInput struct {
	Page    ReconcilePage     `json:"page"`
	Results []ReconcileResult `json:"results"`
	Deleted DeletedSessions   `json:"deleted"`
}
