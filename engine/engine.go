// Package engine evaluates checks over inventory objects and builds the
// report: it dispatches objects to the checks that apply to their kind,
// runs cross-object checks, computes Pod Security Standards levels and
// applies exceptions. It does no I/O and reads the clock only through
// Options.Now, so the same input always gives the same report.
package engine

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/report"
)

// Annotations users put on objects to suppress findings.
const (
	// IgnoreAnnotation lists check IDs, comma-separated, to suppress on the object.
	IgnoreAnnotation = "kubeharden.io/ignore"
	// IgnoreReasonAnnotation says why; without it IgnoreAnnotation does not suppress.
	IgnoreReasonAnnotation = "kubeharden.io/ignore-reason"
)

// Options configure an engine.
type Options struct {
	// Checks to run. The engine validates them.
	Checks []*check.Check
	// Catalogue is every check kubeharden knows, used to tell an unknown
	// check ID in an annotation from a check that merely did not run.
	// Defaults to Checks.
	Catalogue []*check.Check
	// Exceptions from the config file.
	Exceptions []*Exception
	// Now returns the current time; it decides whether exceptions expired.
	Now func() time.Time
	// Complete says the objects are a whole cluster (a live scan), so
	// checks marked NeedsCluster run; otherwise they are left out.
	Complete bool
}

// objectKey identifies an object across contexts.
type objectKey struct {
	context string
	ref     inventory.Ref
}

// Engine evaluates objects. Evaluate, Object and Error are safe for
// concurrent use; Report must be called once, after the last object.
type Engine struct {
	byKind     map[string][]*check.Check
	sets       map[string][]int // kind -> indexes into setEvals
	setEvals   []check.SetEval
	setChecks  []*check.Check
	checks     []*check.Check
	known      map[string]bool
	exceptions []*Exception
	now        time.Time
	pss        *pss.Evaluator

	mu         sync.Mutex
	findings   []*report.Finding
	suppressed []*report.Finding
	objects    []*report.Object
	errors     []inventory.Error
	notices    []report.Notice
	ignores    []*ignoreRecord
	ignoreByID map[objectKey]*ignoreRecord
	// unlisted records, per context, the kinds a source could not read.
	unlisted map[string]map[string]bool
	strings  interner
	// stubs maps the objects set checks pinned to their report entries.
	stubs map[*inventory.Stub]*report.Object
}

// New validates the checks and builds an engine.
func New(opts Options) (*Engine, error) {
	if err := check.Validate(opts.Checks); err != nil {
		return nil, fmt.Errorf("invalid checks: %w", err)
	}
	ev, err := pss.New()
	if err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	e := &Engine{
		byKind:     map[string][]*check.Check{},
		sets:       map[string][]int{},
		known:      map[string]bool{},
		exceptions: opts.Exceptions,
		now:        now(),
		pss:        ev,
		ignoreByID: map[objectKey]*ignoreRecord{},
		unlisted:   map[string]map[string]bool{},
		stubs:      map[*inventory.Stub]*report.Object{},
	}
	cat := opts.Catalogue
	if cat == nil {
		cat = opts.Checks
	}
	for _, c := range cat {
		e.known[c.ID] = true
	}
	for _, c := range opts.Checks {
		if c.NeedsCluster && !opts.Complete {
			continue
		}
		e.checks = append(e.checks, c)
		if c.Set != nil {
			idx := len(e.setEvals)
			e.setEvals = append(e.setEvals, c.Set())
			e.setChecks = append(e.setChecks, c)
			for _, k := range c.Kinds {
				e.sets[k] = append(e.sets[k], idx)
			}
			continue
		}
		for _, k := range c.Kinds {
			e.byKind[k] = append(e.byKind[k], c)
		}
	}
	return e, nil
}

// Error records an input error (the engine is a source's sink).
func (e *Engine) Error(err inventory.Error) {
	e.mu.Lock()
	e.errors = append(e.errors, err)
	e.mu.Unlock()
}

// Notice records something the user must know about the scan itself,
// such as a kind the source was not allowed to list.
func (e *Engine) Notice(n report.Notice) {
	e.mu.Lock()
	e.notices = append(e.notices, n)
	e.mu.Unlock()
}

// Unlisted records that a source could not read any object of kind in
// the given context (for example, RBAC forbids listing it). Cluster-wide
// checks that need that kind then report nothing for that context, rather
// than reporting what they cannot see as missing.
func (e *Engine) Unlisted(context, kind string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.unlisted[context] == nil {
		e.unlisted[context] = map[string]bool{}
	}
	e.unlisted[context][kind] = true
}

// blind returns the kind check c needs but could not see in context, or "".
func (e *Engine) blind(c *check.Check, context string) string {
	for _, k := range c.Kinds {
		if e.unlisted[context][k] {
			return k
		}
	}
	return ""
}

// Object evaluates one object (the engine is a source's sink).
func (e *Engine) Object(o *inventory.Object) { e.Evaluate(o) }

// Evaluate runs every applicable check on the object and records the
// object, its Pod Security Standards level and its findings.
func (e *Engine) Evaluate(o *inventory.Object) {
	in := &e.strings
	ref := o.Ref
	ref.APIVersion, ref.Kind, ref.Namespace = in.intern(ref.APIVersion), in.intern(ref.Kind), in.intern(ref.Namespace)
	ro := &report.Object{Ref: ref, Origin: o.Origin}
	var pod *inventory.PodTemplate
	if pod = o.Pod(); pod != nil {
		ro.PSS = in.result(e.pss.Evaluate(pod.Meta, pod.Spec))
	}
	ign := e.ignoresOf(o, pod)
	type hit struct {
		c *check.Check
		r check.Result
	}
	var hits []hit
	for _, c := range e.byKind[o.Kind] {
		for _, r := range c.Object(o) {
			hits = append(hits, hit{c, r})
		}
	}
	// One allocation holds all of the object's findings: a large scan keeps
	// hundreds of thousands of them, and per-finding allocations would cost
	// a pointer and a size-class rounding each.
	slab := make([]report.Finding, len(hits))
	var found, silenced []*report.Finding
	for i, h := range hits {
		f := &slab[i]
		*f = report.Finding{Check: h.c, Object: ro, Location: report.PosOf(o.Locate(in.intern(h.r.Path)), o.Origin.File), Message: in.intern(h.r.Message)}
		f.Suppressed = e.suppress(h.c, o.Ref, ign)
		if f.Suppressed != nil {
			silenced = append(silenced, f)
		} else {
			found = append(found, f)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.objects = append(e.objects, ro)
	e.findings = append(e.findings, found...)
	e.suppressed = append(e.suppressed, silenced...)
	if ign != nil {
		e.ignores = append(e.ignores, ign)
		e.ignoreByID[objectKey{o.Origin.Context, o.Ref}] = ign
	}
	for _, i := range e.sets[o.Kind] {
		e.setEvals[i].Observe(o)
	}
	if st := o.Pinned(); st != nil {
		e.stubs[st] = ro
	}
}

// Report finishes the cross-object checks and returns the report, sorted
// by file, line and check.
func (e *Engine) Report() *report.Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, se := range e.setEvals {
		c := e.setChecks[i]
		blinded := map[string]string{} // context -> kind not seen
		se.Finish(func(t *check.Target, r check.Result) {
			if k := e.blind(c, t.Origin.Context); k != "" {
				blinded[t.Origin.Context] = k
				return
			}
			key := objectKey{t.Origin.Context, t.Ref}
			ro := e.stubs[t]
			if ro == nil {
				ro = &report.Object{Ref: t.Ref, Origin: t.Origin}
			}
			f := &report.Finding{Check: c, Object: ro, Location: report.PosOf(t.Locate(r.Path), ro.Origin.File), Message: r.Message}
			ign := e.ignoreByID[key]
			if ign == nil {
				if ign = e.ignoresOfTarget(t); ign != nil {
					e.ignores = append(e.ignores, ign)
					e.ignoreByID[key] = ign
				}
			}
			f.Suppressed = e.suppress(c, t.Ref, ign)
			if f.Suppressed != nil {
				e.suppressed = append(e.suppressed, f)
			} else {
				e.findings = append(e.findings, f)
			}
		})
		for ctx, k := range blinded {
			e.notices = append(e.notices, report.Notice{Kind: report.NoticeIncomplete, File: "cluster " + ctx,
				Message: fmt.Sprintf("%s was not evaluated: it needs %s objects, which could not be listed", c.ID, k)})
		}
	}
	rep := &report.Report{
		Checks:     e.checks,
		Findings:   e.findings,
		Suppressed: e.suppressed,
		Objects:    e.objects,
		Errors:     e.errors,
	}
	rep.Notices = append(e.notices, e.exceptionNotices()...)
	rep.Notices = append(rep.Notices, e.annotationNotices()...)
	sortFindings(rep.Findings)
	sortFindings(rep.Suppressed)
	sort.SliceStable(rep.Objects, func(i, j int) bool { return objectLess(rep.Objects[i], rep.Objects[j]) })
	sort.SliceStable(rep.Errors, func(i, j int) bool {
		a, b := rep.Errors[i], rep.Errors[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	sort.SliceStable(rep.Notices, func(i, j int) bool {
		a, b := rep.Notices[i], rep.Notices[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Message < b.Message
	})
	rep.Summarize()
	return rep
}

func objectLess(a, b *report.Object) bool {
	if a.Origin.Context != b.Origin.Context {
		return a.Origin.Context < b.Origin.Context
	}
	if a.Origin.File != b.Origin.File {
		return a.Origin.File < b.Origin.File
	}
	if a.Origin.Line != b.Origin.Line {
		return a.Origin.Line < b.Origin.Line
	}
	return a.Ref.String() < b.Ref.String()
}

func sortFindings(fs []*report.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Object != b.Object {
			if objectLess(a.Object, b.Object) {
				return true
			}
			if objectLess(b.Object, a.Object) {
				return false
			}
		}
		if a.Location.Line != b.Location.Line {
			return a.Location.Line < b.Location.Line
		}
		if a.Location.Column != b.Location.Column {
			return a.Location.Column < b.Location.Column
		}
		if a.Check.ID != b.Check.ID {
			return a.Check.ID < b.Check.ID
		}
		return a.Message < b.Message
	})
}

// ignoreRecord is an object's kubeharden.io/ignore annotation and which of
// its check IDs suppressed something.
type ignoreRecord struct {
	ref    inventory.Ref
	loc    inventory.Location
	reason string
	ids    []string
	used   map[string]bool
	mu     sync.Mutex
}

func parseIgnore(value string) []string {
	var ids []string
	for _, p := range strings.Split(value, ",") {
		if p = strings.TrimSpace(p); p != "" {
			ids = append(ids, p)
		}
	}
	return ids
}

// ignoresOf reads the ignore annotations of an object and of its pod template.
func (e *Engine) ignoresOf(o *inventory.Object, pod *inventory.PodTemplate) *ignoreRecord {
	value, reason, path := o.Annotation(IgnoreAnnotation), o.Annotation(IgnoreReasonAnnotation), inventory.Join("metadata", inventory.Key("annotations", IgnoreAnnotation))
	if value == "" && pod != nil && pod.Meta != nil && pod.Controller {
		value, reason = pod.Meta.Annotations[IgnoreAnnotation], pod.Meta.Annotations[IgnoreReasonAnnotation]
		path = inventory.Join(pod.MetaPath, inventory.Key("annotations", IgnoreAnnotation))
	}
	if value == "" {
		return nil
	}
	return &ignoreRecord{ref: o.Ref, loc: o.Locate(path), reason: strings.TrimSpace(reason), ids: parseIgnore(value), used: map[string]bool{}}
}

func (e *Engine) ignoresOfTarget(t *check.Target) *ignoreRecord {
	value := t.Annotations[IgnoreAnnotation]
	if value == "" {
		return nil
	}
	path := inventory.Join("metadata", inventory.Key("annotations", IgnoreAnnotation))
	return &ignoreRecord{ref: t.Ref, loc: t.Locate(path), reason: strings.TrimSpace(t.Annotations[IgnoreReasonAnnotation]), ids: parseIgnore(value), used: map[string]bool{}}
}

// suppress returns how a finding of check c on ref is suppressed, or nil.
// An annotation without a reason never suppresses (a notice says so).
func (e *Engine) suppress(c *check.Check, ref inventory.Ref, ign *ignoreRecord) *report.Suppression {
	if ign != nil && ign.reason != "" {
		for _, id := range ign.ids {
			if id == c.ID || id == "*" {
				ign.mu.Lock()
				ign.used[id] = true
				ign.mu.Unlock()
				return &report.Suppression{By: "annotation", Reason: ign.reason, Source: ign.loc}
			}
		}
	}
	for _, x := range e.exceptions {
		if !x.Matches(c.ID, ref) {
			continue
		}
		if x.Expired(e.now) {
			x.expiredHits.Add(1)
			continue
		}
		x.hits.Add(1)
		s := &report.Suppression{By: "config", Reason: x.Reason, Source: x.Source}
		if !x.Expires.IsZero() {
			s.Expires = x.Expires.Format(time.DateOnly)
		}
		return s
	}
	return nil
}

func (e *Engine) annotationNotices() []report.Notice {
	var out []report.Notice
	ran := map[string]bool{}
	for _, c := range e.checks {
		ran[c.ID] = true
	}
	for _, ign := range e.ignores {
		if ign.reason == "" {
			out = append(out, report.Notice{Kind: report.NoticeInvalidAnnotation, File: ign.loc.File, Line: ign.loc.Line,
				Message: fmt.Sprintf("%s: %s has no %s annotation, so it suppresses nothing", ign.ref, IgnoreAnnotation, IgnoreReasonAnnotation)})
			continue
		}
		for _, id := range ign.ids {
			switch {
			case id != "*" && !e.known[id]:
				out = append(out, report.Notice{Kind: report.NoticeInvalidAnnotation, File: ign.loc.File, Line: ign.loc.Line,
					Message: fmt.Sprintf("%s: %s names unknown check %q", ign.ref, IgnoreAnnotation, id)})
			case !ign.used[id] && (id == "*" || ran[id]):
				out = append(out, report.Notice{Kind: report.NoticeUnusedAnnotation, File: ign.loc.File, Line: ign.loc.Line,
					Message: fmt.Sprintf("%s: %s lists %q but that check found nothing here", ign.ref, IgnoreAnnotation, id)})
			}
		}
	}
	return out
}
