package steps

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mirrorflow/mirrorflow/shared/awserr"
	"github.com/mirrorflow/mirrorflow/shared/ec2api"
	"github.com/mirrorflow/mirrorflow/shared/steperr"
	"github.com/mirrorflow/mirrorflow/shared/workflow"
)

// ReconcilePageSize is the MaxResults of each DescribeInstances page the
// Reconcile lists: a page's placements and stale sessions, and the Map's
// results, stay far inside Step Functions' 256 KiB payload (a placement to
// start is about 150 bytes, a result about 100), and one page's Coverage
// makes one DescribeSubnets and one DescribeTrafficMirrorSessions call per
// 200 ids.
const ReconcilePageSize = 100

// reconcileNameTime formats the Reconcile's start in the names of the
// placements it starts: execution names allow letters, digits, - and _
// only (Step Functions API Reference, StartExecution, name).
const reconcileNameTime = "20060102T150405.000Z"

// ListReconcileWork lists one page of running instances (DescribeInstances
// with MaxResults ReconcilePageSize, from the state's NextToken) and judges
// their coverage with Coverage: every instance with an unmirrored source
// interface is to be placed again by an execution of its own, named
// reconcile-<instance>-<the Reconcile's start>; the stale sessions no
// placement will delete (the interface is skipped, mirrored, or not a
// source) are for DeleteStaleSessions. The fleet is never held in one
// payload: the next page's token goes back through the state.
func (h *Handlers) ListReconcileWork(ctx context.Context, in workflow.ReconcileInput) (workflow.ReconcilePage, error) {
	out := workflow.ReconcilePage{Place: []workflow.ReconcilePlacement{}, Delete: []workflow.StaleSession{}, State: in.State}
	if err := h.ready(); err != nil {
		return out, err
	}
	started, err := time.Parse(time.RFC3339Nano, in.StartTime)
	if err != nil {
		return out, &steperr.InvalidInput{Reason: fmt.Sprintf("startTime %q is not the execution's start time (RFC 3339)", in.StartTime), Err: err}
	}
	page, err := h.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters:    []ec2types.Filter{ec2api.Filter("instance-state-name", "running")},
		MaxResults: aws.Int32(ReconcilePageSize),
		NextToken:  nonEmpty(in.State.NextToken),
	})
	if err != nil {
		return out, steperr.FromEC2("listing a page of running instances", err)
	}
	var instances []ec2types.Instance
	for _, r := range page.Reservations {
		instances = append(instances, r.Instances...)
	}
	targets, err := ec2api.TrafficMirrorTargetsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorTargetsInput{})
	if err != nil {
		return out, steperr.FromEC2("describing traffic mirror targets", err)
	}
	if in.State.NextToken == "" && in.State.Totals.Pages == 0 && h.publishing() {
		if err := h.recordSensorLoad(ctx, targets); err != nil {
			return out, err
		}
	}
	c, _, err := h.Coverage(ctx, instances, targets)
	if err != nil {
		return out, err
	}
	stamp := started.UTC().Format(reconcileNameTime)
	for _, i := range c.Interfaces {
		switch i.Status {
		case workflow.CoverageMirrored:
			out.Judged.Mirrored++
		case workflow.CoverageSkipped:
			out.Judged.Skipped++
		case workflow.CoverageUnmirrored:
			out.Judged.Unmirrored++
			if !slices.ContainsFunc(out.Place, func(p workflow.ReconcilePlacement) bool { return p.InstanceID == i.InstanceID }) {
				out.Place = append(out.Place, workflow.ReconcilePlacement{
					InstanceID: i.InstanceID,
					Name:       ReconcileExecutionName(i.InstanceID, stamp),
					Input:      workflow.ManualInput{InstanceID: i.InstanceID, Trigger: workflow.TriggerReconcile},
				})
			}
		}
	}
	out.Judged.Stale = len(c.Stale)
	for _, s := range c.Stale {
		if !s.Placed {
			out.Delete = append(out.Delete, s)
		}
	}
	out.State.NextToken = aws.ToString(page.NextToken)
	return out, nil
}

// ReconcileExecutionName names the placement of instanceID that a
// Reconcile started at stamp (reconcileNameTime's layout, with the dot
// replaced) starts: at most 48 characters of the 80 Step Functions allows.
func ReconcileExecutionName(instanceID, stamp string) string {
	clean := make([]rune, 0, len(stamp))
	for _, r := range stamp {
		if r == '.' {
			r = '-'
		}
		clean = append(clean, r)
	}
	return "reconcile-" + instanceID + "-" + string(clean)
}

// DeleteStaleSessions deletes the stale sessions ListReconcileWork found
// that no placement will delete. It reads them again first (one
// DescribeTrafficMirrorSessions per 200 ids) and deletes only those still
// tagged ManagedBy=mirrorflow, as its IAM policy allows; a session gone
// meanwhile (InvalidTrafficMirrorSessionId.NotFound) is already what the
// Reconcile wanted. A retry after a partial failure finds the deleted ones
// gone, so the step is safe to retry.
func (h *Handlers) DeleteStaleSessions(ctx context.Context, in workflow.DeleteInput) (workflow.DeletedSessions, error) {
	out := workflow.DeletedSessions{Deleted: []string{}, Gone: []string{}, Kept: []string{}}
	if err := h.ready(); err != nil {
		return out, err
	}
	var ids []string
	for _, s := range in.Sessions {
		ids = append(ids, s.SessionID)
	}
	if ids = sortedUnique(ids); len(ids) == 0 {
		return out, nil
	}
	sessions, err := ec2api.InChunks(ids, ec2api.MaxFilterValues, func(chunk []string) ([]ec2types.TrafficMirrorSession, error) {
		return ec2api.TrafficMirrorSessionsAsList(ctx, h.EC2, &ec2.DescribeTrafficMirrorSessionsInput{
			Filters: []ec2types.Filter{ec2api.Filter("traffic-mirror-session-id", chunk...)},
		})
	})
	if err != nil {
		return out, steperr.FromEC2("describing the stale traffic mirror sessions", err)
	}
	for _, id := range ids {
		i := slices.IndexFunc(sessions, func(s ec2types.TrafficMirrorSession) bool { return aws.ToString(s.TrafficMirrorSessionId) == id })
		switch {
		case i < 0:
			out.Gone = append(out.Gone, id)
			continue
		case !managedByMirrorflow(sessions[i]):
			out.Kept = append(out.Kept, id)
			continue
		}
		_, err := h.EC2.DeleteTrafficMirrorSession(ctx, &ec2.DeleteTrafficMirrorSessionInput{TrafficMirrorSessionId: aws.String(id)})
		switch {
		case awserr.Code(err) == awserr.InvalidTrafficMirrorSessionID:
			out.Gone = append(out.Gone, id)
		case err != nil:
			return out, steperr.FromEC2("deleting stale traffic mirror session "+id, err)
		default:
			out.Deleted = append(out.Deleted, id)
		}
	}
	return out, nil
}

// TallyReconcile adds one page to the Reconcile's totals and returns the
// state the next page is listed in; after the last page, the Reconcile's
// summary.
func (h *Handlers) TallyReconcile(_ context.Context, in workflow.TallyInput) (workflow.ReconcileState, error) {
	st := in.Page.State
	t := &st.Totals
	t.Pages++
	t.Judged.Mirrored += in.Page.Judged.Mirrored
	t.Judged.Unmirrored += in.Page.Judged.Unmirrored
	t.Judged.Skipped += in.Page.Judged.Skipped
	t.Judged.Stale += in.Page.Judged.Stale
	t.Deleted += len(in.Deleted.Deleted)
	for _, r := range in.Results {
		switch r.Outcome {
		case workflow.ReconcilePlaced:
			t.Placed++
		case workflow.ReconcileSkipped:
			t.Skipped++
		case workflow.ReconcileFailed:
			t.Failed++
		default:
			return st, &steperr.InvalidInput{Reason: fmt.Sprintf("the placement of %s ended with outcome %q, which is none of placed, failed, skipped", r.InstanceID, r.Outcome)}
		}
	}
	if st.NextToken == "" {
		h.recordReconcile(*t)
	}
	return st, nil
}

// nonEmpty is s as an SDK string, or nil when empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
