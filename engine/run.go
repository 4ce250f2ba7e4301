package engine

import (
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
)

// RunOptions configure one run.
type RunOptions struct {
	// Complete says the objects are a whole cluster (a live scan), so
	// checks marked NeedsCluster run; otherwise they are left out.
	Complete bool
	// DropClean does not keep objects that have no finding (suppressed or
	// not) in the report: they are counted, with their Pod Security
	// Standards level, but not listed. For streams of millions of objects.
	DropClean bool
	// Spill, when set, receives every evaluated object and its findings
	// as it is evaluated (see report.Spill): the report reads them back in
	// order when it is rendered, and memory no longer grows with the
	// number of findings.
	Spill report.Store
}

// objectKey identifies an object across contexts.
type objectKey struct {
	context string
	ref     inventory.Ref
}

// Run is one scan: the sink sources feed and the state of that scan
// alone (findings, exception hits, cross-object evaluations). Object,
// Error, Notice and Unlisted are safe for concurrent use; Report must be
// called once, after the last object.
type Run struct {
	e    *Engine
	opts RunOptions
	now  time.Time
	env  *check.Env // the engine's, with Complete set for this run

	checks    []*check.Check // the checks that run
	setEvals  []check.SetEval
	setChecks []*check.Check
	sets      map[*kinds.Type][]int // kind -> indexes into setEvals
	hits      map[*Exception]*exceptionHits

	mu         sync.Mutex
	findings   []*report.Finding
	suppressed []*report.Finding
	objects    []*report.Object
	dropped    int
	droppedPSS map[string]int
	errors     []inventory.Error
	notices    []report.Notice
	ignores    []*ignoreRecord
	ignoreByID map[objectKey]*ignoreRecord
	// unlisted records, per context, the kinds a source could not read.
	unlisted map[string]map[*kinds.Type]bool
	// uncovered counts the objects of kinds no check looks at.
	uncovered map[string]int
	strings   interner
	// Objects that cross-object checks observe get a handle, which the
	// stubs they pin carry: an index into handleObjs for a report in
	// memory, the spill's handle for a spilled one. unlistedHandles are
	// the spill handles of objects only cross-object findings name.
	handleObjs      []*report.Object
	spill           *report.Spill
	unlistedHandles map[objectKey]int
	logs            []*spillLog
}

// NewRun starts a run.
func (e *Engine) NewRun(opts RunOptions) *Run {
	r := &Run{
		e:               e,
		opts:            opts,
		now:             e.now(),
		sets:            map[*kinds.Type][]int{},
		hits:            map[*Exception]*exceptionHits{},
		droppedPSS:      map[string]int{},
		ignoreByID:      map[objectKey]*ignoreRecord{},
		unlisted:        map[string]map[*kinds.Type]bool{},
		uncovered:       map[string]int{},
		unlistedHandles: map[objectKey]int{},
	}
	env := *e.env
	env.Complete = opts.Complete
	r.env = &env
	if opts.Spill != nil {
		r.spill = report.NewSpill(opts.Spill, nil)
		r.env.NewLog = func() check.Log {
			l := &spillLog{sp: r.spill}
			r.logs = append(r.logs, l)
			return l
		}
	}
	for _, x := range e.exceptions {
		r.hits[x] = &exceptionHits{}
	}
	for _, c := range e.checks {
		if c.NeedsCluster && !opts.Complete {
			continue
		}
		r.checks = append(r.checks, c)
		if c.Set == nil {
			continue
		}
		idx := len(r.setEvals)
		r.setEvals = append(r.setEvals, c.Set(r.env))
		r.setChecks = append(r.setChecks, c)
		for _, k := range c.Kinds {
			r.sets[k] = append(r.sets[k], idx)
		}
	}
	if r.spill != nil {
		r.spill.SetChecks(r.checks)
	}
	return r
}

// ran returns the IDs of the checks that run.
func (r *Run) ran() map[string]bool {
	out := make(map[string]bool, len(r.checks))
	for _, c := range r.checks {
		out[c.ID] = true
	}
	return out
}

// Error records an input error.
func (r *Run) Error(err inventory.Error) {
	r.mu.Lock()
	r.errors = append(r.errors, err)
	r.mu.Unlock()
}

// Notice records something the user must know about the scan itself,
// such as a kind the source was not allowed to list.
func (r *Run) Notice(n report.Notice) {
	r.mu.Lock()
	r.notices = append(r.notices, n)
	r.mu.Unlock()
}

// Unlisted records that a source could not read any object of kind t in
// the given context (for example, RBAC forbids listing it). Cluster-wide
// checks that need that kind then report nothing for that context, rather
// than reporting what they cannot see as missing.
func (r *Run) Unlisted(context string, t *kinds.Type) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unlisted[context] == nil {
		r.unlisted[context] = map[*kinds.Type]bool{}
	}
	r.unlisted[context][t] = true
}

// blind returns the kind check c needs but could not see in context, or nil.
func (r *Run) blind(c *check.Check, context string) *kinds.Type {
	for _, k := range c.Kinds {
		if r.unlisted[context][k] {
			return k
		}
	}
	return nil
}

// Object evaluates one object and records it, its Pod Security Standards
// level and its findings.
func (r *Run) Object(o *inventory.Object) {
	ev := r.e.evaluate(o, &r.strings, r.now, r)
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.typ == nil {
		r.uncovered[uncoveredName(o.Ref)]++
	}
	handle := -1
	switch {
	case r.opts.DropClean && len(ev.found) == 0 && len(ev.silenced) == 0:
		r.dropped++
		if ev.object.PSS != nil {
			r.droppedPSS[ev.object.PSS.Level]++
		}
	case r.spill != nil:
		handle = r.spill.Add(ev.object, ev.found, ev.silenced)
	default:
		r.objects = append(r.objects, ev.object)
	}
	if r.spill == nil {
		r.findings = append(r.findings, ev.found...)
		r.suppressed = append(r.suppressed, ev.silenced...)
	}
	if ev.ign != nil {
		r.ignores = append(r.ignores, ev.ign)
		r.ignoreByID[objectKey{o.Origin.Context, o.Ref}] = ev.ign
	}
	if sets := r.sets[ev.typ]; len(sets) > 0 {
		if r.spill == nil {
			handle = len(r.handleObjs)
			r.handleObjs = append(r.handleObjs, ev.object)
		}
		o.SetHandle(handle)
		for _, i := range sets {
			r.setEvals[i].Observe(o)
		}
	}
}

// uncoveredName names the kind of an object no check covers, with its group.
func uncoveredName(ref inventory.Ref) string {
	if g := ref.Group(); g != "" {
		return ref.Kind + "." + g
	}
	if ref.Kind == "" {
		return "(no kind)"
	}
	return ref.Kind
}
