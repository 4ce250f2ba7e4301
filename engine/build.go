package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
)

// Report finishes the cross-object checks and returns the report, sorted
// by file, line and check.
func (r *Run) Report() *report.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, se := range r.setEvals {
		r.finishSet(r.setChecks[i], se)
	}
	for _, l := range r.logs {
		if l.err != nil {
			r.errors = append(r.errors, inventory.Error{File: "kubeharden", Message: fmt.Sprintf("cross-object checks could not read back what they recorded: %v; their findings are incomplete", l.err)})
			break
		}
	}
	rep := &report.Report{
		Checks:     r.checks,
		Findings:   r.findings,
		Suppressed: r.suppressed,
		Objects:    r.objects,
		Dropped:    r.dropped,
		DroppedPSS: r.droppedPSS,
		Errors:     r.errors,
	}
	if r.spill != nil {
		rep.SetSpill(r.spill)
	}
	rep.Notices = append(r.notices, r.exceptionNotices()...)
	rep.Notices = append(rep.Notices, r.annotationNotices()...)
	if n := r.uncoveredNotice(); n != nil {
		rep.Notices = append(rep.Notices, *n)
	}
	rep.Sort()
	rep.Summarize()
	return rep
}

// finishSet collects the findings of one cross-object check.
func (r *Run) finishSet(c *check.Check, se check.SetEval) {
	blinded := map[string]*kinds.Type{} // context -> kind not seen
	se.Finish(func(t *check.Target, res check.Result) {
		if k := r.blind(c, t.Origin.Context); k != nil {
			blinded[t.Origin.Context] = k
			return
		}
		key := objectKey{t.Origin.Context, t.Ref}
		var ro *report.Object
		if r.spill == nil && t.Handle >= 0 && t.Handle < len(r.handleObjs) {
			ro = r.handleObjs[t.Handle]
		} else {
			// Spilled, or not in the report: the finding names the object
			// by its stub; a spilled report puts it back on its object.
			ro = &report.Object{Ref: t.Ref, Origin: t.Origin}
		}
		ign := r.ignoreByID[key]
		if ign == nil {
			if ign = ignoresOfTarget(t); ign != nil {
				r.ignores = append(r.ignores, ign)
				r.ignoreByID[key] = ign
			}
		}
		f := &report.Finding{Check: c, Object: ro, Location: report.PosOf(t.Locate(res.Path), ro.Origin.File), Message: res.Message, Details: res.Details}
		f.Suppressed = r.e.suppress(c, t.Ref, ign, r.now, r)
		switch {
		case r.spill != nil:
			h := t.Handle
			if h < 0 {
				var ok bool
				if h, ok = r.unlistedHandles[key]; !ok {
					h = r.spill.AddUnlisted(ro)
					r.unlistedHandles[key] = h
				}
			}
			r.spill.AddFinding(h, f)
		case f.Suppressed != nil:
			r.suppressed = append(r.suppressed, f)
		default:
			r.findings = append(r.findings, f)
		}
	})
	for ctx, k := range blinded {
		r.notices = append(r.notices, report.Notice{Kind: report.NoticeIncomplete, File: "cluster " + ctx,
			Message: fmt.Sprintf("%s was not evaluated: it needs %s objects, which could not be listed", c.ID, k.Kind)})
	}
}

// uncoveredNotice says how many objects of which kinds no check looks at,
// so that a CRD-heavy input is never silently half-checked.
func (r *Run) uncoveredNotice() *report.Notice {
	if len(r.uncovered) == 0 {
		return nil
	}
	names := make([]string, 0, len(r.uncovered))
	total := 0
	for k, n := range r.uncovered {
		names = append(names, k)
		total += n
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s (%d)", k, r.uncovered[k])
	}
	return &report.Notice{Kind: report.NoticeUncoveredKinds,
		Message: fmt.Sprintf("%d object(s) of kinds no kubeharden check covers were not checked: %s", total, strings.Join(parts, ", "))}
}
