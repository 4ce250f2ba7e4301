package engine

import (
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/inventory/defaults"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
)

// evaluation is what evaluating one object produced.
type evaluation struct {
	typ      *kinds.Type
	object   *report.Object
	found    []*report.Finding
	silenced []*report.Finding
	ign      *ignoreRecord
}

// evaluate runs the object checks that apply to o and builds its report
// entry and findings. in interns strings (nil: no interning); run, when
// not nil, is the run the object belongs to: it decides whether
// cluster-only checks run and counts exception hits.
//
// The object is first given the defaults the API server would give it
// (in place, so set checks observe the defaulted object too): verdicts are
// computed on the object the API server would store.
func (e *Engine) evaluate(o *inventory.Object, in *interner, now time.Time, run *Run) evaluation {
	defaults.Apply(o)
	ref := o.Ref
	ref.APIVersion, ref.Kind, ref.Namespace = in.intern(ref.APIVersion), in.intern(ref.Kind), in.intern(ref.Namespace)
	ev := evaluation{typ: typeOf(o), object: &report.Object{Ref: ref, Origin: o.Origin}}
	var pod *inventory.PodTemplate
	if pod = o.Pod(); pod != nil {
		ev.object.PSS = in.result(e.pss.Evaluate(pod.Meta, pod.Spec))
	}
	ev.ign = ignoresOf(o, pod)
	type hit struct {
		c *check.Check
		r check.Result
	}
	var hits []hit
	complete, live, env := false, o.Origin.Live(), e.env
	if run != nil {
		complete, env = run.opts.Complete, run.env
	}
	for _, c := range e.objects[ev.typ] {
		if (c.NeedsCluster && !complete) || (c.ManifestOnly && live) {
			continue
		}
		for _, r := range c.Object(env, o) {
			hits = append(hits, hit{c, r})
		}
	}
	if len(hits) == 0 {
		return ev
	}
	// One allocation holds all of the object's findings: a large scan keeps
	// hundreds of thousands of them, and per-finding allocations would cost
	// a pointer and a size-class rounding each.
	slab := make([]report.Finding, len(hits))
	// Messages repeat across objects ("container \"app\" runs privileged"),
	// so findings kept in memory share one copy; spilled findings are
	// written at once and need none.
	msgs := in
	if run != nil && run.spill != nil {
		msgs = nil
	}
	for i, h := range hits {
		f := &slab[i]
		*f = report.Finding{Check: h.c, Object: ev.object, Location: report.PosOf(o.Locate(in.intern(h.r.Path)), o.Origin.File), Message: msgs.intern(h.r.Message), Details: h.r.Details}
		if f.Suppressed = e.suppress(h.c, o.Ref, ev.ign, now, run); f.Suppressed != nil {
			ev.silenced = append(ev.silenced, f)
		} else {
			ev.found = append(ev.found, f)
		}
	}
	return ev
}
