// Package scanner keeps kubeharden's always-current picture of a cluster's
// findings for "kubeharden serve --scanner": the findings of every watched
// object (each re-evaluated alone with engine.Engine.Evaluate when it
// changes), the findings of the cross-object checks (replaced whole when
// they are recomputed), and what is derived from them — the Prometheus
// samples (State.Collect) and the wgpolicyk8s.io/v1alpha2 PolicyReports
// (State.Reports).
//
// The package is pure: it never talks to a cluster. The informers that
// feed it, the PolicyReport writer and leader election are in
// scanner/watch.
package scanner

import (
	"sort"
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/metrics"
	"github.com/kubeharden/kubeharden/report"
)

// entry is what the state keeps of one evaluated object.
type entry struct {
	namespace, kind string
	// level is the object's Pod Security Standards level ("" when it is
	// not pod-bearing).
	level string
	// findings are the object's findings that are not suppressed.
	findings []*report.Finding
	// since is when the object's current findings were computed.
	since time.Time
}

// setKey identifies a cross-object finding across recomputations, so that
// its timestamp stays that of its first appearance.
type setKey struct {
	check   string
	ref     inventory.Ref
	message string
}

// setEntry is the findings of one part of the cross-object checks (a
// group of checks, for one namespace or for the whole cluster).
type setEntry struct {
	findings []*report.Finding
	since    map[setKey]time.Time
}

// State is the current findings of a cluster. It is safe for concurrent
// use.
type State struct {
	checks []*check.Check

	mu        sync.RWMutex
	objects   map[inventory.Ref]*entry
	sets      map[string]*setEntry
	lastEvent time.Time
	setTook   time.Duration
	strings   map[string]string
	changed   chan struct{}
}

// NewState returns an empty state for the given checks (the checks that
// run: the compliance ratios count their framework controls).
func NewState(checks []*check.Check) *State {
	return &State{
		checks:  checks,
		objects: map[inventory.Ref]*entry{},
		sets:    map[string]*setEntry{},
		strings: map[string]string{},
		changed: make(chan struct{}, 1),
	}
}

// Changed is signalled (at most one pending signal) after every change of
// the findings.
func (s *State) Changed() <-chan struct{} { return s.changed }

func (s *State) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// intern returns a shared copy of a namespace, kind, message or field
// path: 20,000 objects have a few thousand distinct ones.
//
// The table is dropped when it outgrows the state (messages that name
// objects would otherwise pile up under churn): strings already shared stay
// shared, new ones start a new table.
func (s *State) intern(v string) string {
	if x, ok := s.strings[v]; ok {
		return x
	}
	if len(s.strings) > 4*len(s.objects)+10000 {
		s.strings = map[string]string{}
	}
	s.strings[v] = v
	return v
}

// Put records the verdict of one object, replacing what the state held
// for it. at is the time of the watch event.
//
// The state keeps a slim copy: the object's reference and uid, not its
// Pod Security Standards details; findings in one allocation, their
// messages shared with other objects' ("container \"app\" has no
// liveness probe" repeats across thousands of pods).
func (s *State) Put(v engine.Verdict, at time.Time) {
	ref := v.Object.Ref
	e := &entry{since: at}
	s.mu.Lock()
	ref.APIVersion, ref.Kind, ref.Namespace = s.intern(ref.APIVersion), s.intern(ref.Kind), s.intern(ref.Namespace)
	e.namespace, e.kind = ref.Namespace, ref.Kind
	if ref.Kind == "Namespace" && ref.Namespace == "" {
		// A namespace's own findings are labelled with its name.
		e.namespace = s.intern(ref.Name)
	}
	if v.Object.PSS != nil {
		e.level = s.intern(v.Object.PSS.Level)
	}
	if len(v.Findings) > 0 {
		o := v.Object.Origin
		slim := &report.Object{Ref: ref, Origin: inventory.Origin{Source: o.Source, Context: s.intern(o.Context), UID: o.UID}}
		slab := make([]report.Finding, len(v.Findings))
		e.findings = make([]*report.Finding, len(v.Findings))
		for i, f := range v.Findings {
			slab[i] = *f
			slab[i].Object, slab[i].Message = slim, s.intern(f.Message)
			slab[i].Location.Path = s.intern(f.Location.Path)
			e.findings[i] = &slab[i]
		}
	}
	if old := s.objects[ref]; old != nil && sameFindings(old.findings, e.findings) {
		e.since = old.since
	}
	s.objects[ref] = e
	if at.After(s.lastEvent) {
		s.lastEvent = at
	}
	s.mu.Unlock()
	s.notify()
}

// sameFindings reports whether two lists of findings say the same.
func sameFindings(a, b []*report.Finding) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Check != b[i].Check || a[i].Message != b[i].Message || a[i].Location.Path != b[i].Location.Path {
			return false
		}
	}
	return true
}

// Delete forgets an object and its findings.
func (s *State) Delete(ref inventory.Ref, at time.Time) {
	s.mu.Lock()
	delete(s.objects, ref)
	if at.After(s.lastEvent) {
		s.lastEvent = at
	}
	s.mu.Unlock()
	s.notify()
}

// Touch records a watch event that changed no evaluated object (an object
// only cross-object checks read).
func (s *State) Touch(at time.Time) {
	s.mu.Lock()
	if at.After(s.lastEvent) {
		s.lastEvent = at
	}
	s.mu.Unlock()
}

// SetFindings replaces the findings of one part of the cross-object (and
// whole-cluster) checks, named by key (a group of checks and a namespace,
// say), with those of a new evaluation, which took took. Findings that
// were already there keep the time they first appeared.
func (s *State) SetFindings(key string, fs []*report.Finding, at time.Time, took time.Duration) {
	var kept []*report.Finding
	since := make(map[setKey]time.Time, len(fs))
	s.mu.Lock()
	old := s.sets[key]
	for _, f := range fs {
		if f.Suppressed != nil {
			continue
		}
		kept = append(kept, f)
		k := setKey{f.Check.ID, f.Object.Ref, f.Message}
		t, ok := time.Time{}, false
		if old != nil {
			t, ok = old.since[k]
		}
		if !ok {
			t = at
		}
		since[k] = t
	}
	if len(kept) == 0 {
		delete(s.sets, key)
	} else {
		s.sets[key] = &setEntry{findings: kept, since: since}
	}
	s.setTook = took
	s.mu.Unlock()
	s.notify()
}

// Len returns the number of objects the state holds.
func (s *State) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects)
}

// Finding is one current finding with the time it first appeared.
type Finding struct {
	*report.Finding
	Since time.Time
}

// Findings returns every current finding (object and cross-object),
// sorted by namespace, kind, name and check.
func (s *State) Findings() []Finding {
	s.mu.RLock()
	var out []Finding
	for _, e := range s.objects {
		for _, f := range e.findings {
			out = append(out, Finding{f, e.since})
		}
	}
	for _, se := range s.sets {
		for _, f := range se.findings {
			out = append(out, Finding{f, se.since[setKey{f.Check.ID, f.Object.Ref, f.Message}]})
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Object.Ref, out[j].Object.Ref
		switch {
		case a.Namespace != b.Namespace:
			return a.Namespace < b.Namespace
		case a.Kind != b.Kind:
			return a.Kind < b.Kind
		case a.Name != b.Name:
			return a.Name < b.Name
		case out[i].Check.ID != out[j].Check.ID:
			return out[i].Check.ID < out[j].Check.ID
		}
		return out[i].Message < out[j].Message
	})
	return out
}

// Collect reports the state's Prometheus samples (a metrics.Collector).
func (s *State) Collect(emit metrics.Emit) {
	type series struct{ check, severity, namespace, kind string }
	byCheck := map[series]int{}
	bySeverity := map[string]int{}
	type pssKey struct{ namespace, level string }
	levels := map[pssKey]int{}
	failing := map[check.Ref]bool{}
	count := func(f *report.Finding, ns, kind string) {
		sev := f.Check.Severity.String()
		byCheck[series{f.Check.ID, sev, ns, kind}]++
		bySeverity[sev]++
		for _, r := range f.Check.Refs {
			failing[check.Ref{Framework: r.Framework, ID: r.ID}] = true
		}
	}
	s.mu.RLock()
	for _, e := range s.objects {
		if e.level != "" {
			levels[pssKey{e.namespace, e.level}]++
		}
		for _, f := range e.findings {
			count(f, e.namespace, e.kind)
		}
	}
	for _, se := range s.sets {
		for _, f := range se.findings {
			ref := f.Object.Ref
			ns := ref.Namespace
			if ref.Kind == "Namespace" && ns == "" {
				ns = ref.Name
			}
			count(f, ns, ref.Kind)
		}
	}
	objects, last, took := len(s.objects), s.lastEvent, s.setTook
	s.mu.RUnlock()

	for k, n := range byCheck {
		emit(metrics.Findings, float64(n), k.check, k.severity, k.namespace, k.kind)
	}
	for _, sev := range check.Severities() {
		emit(metrics.FindingsTotal, float64(bySeverity[sev.String()]), sev.String())
	}
	emit(metrics.ObjectsScanned, float64(objects))
	for k, n := range levels {
		emit(metrics.PSSLevelObjects, float64(n), k.namespace, k.level)
	}
	evaluated := map[check.Framework]map[string]bool{}
	for _, c := range s.checks {
		for _, r := range c.Refs {
			if evaluated[r.Framework] == nil {
				evaluated[r.Framework] = map[string]bool{}
			}
			evaluated[r.Framework][r.ID] = true
		}
	}
	for fw, ids := range evaluated {
		passed := 0
		for id := range ids {
			if !failing[check.Ref{Framework: fw, ID: id}] {
				passed++
			}
		}
		emit(metrics.ComplianceRatio, float64(passed)/float64(len(ids)), string(fw))
	}
	if !last.IsZero() {
		emit(metrics.LastEventTimestamp, float64(last.UnixNano())/1e9)
	}
	emit(metrics.SetEvaluationSeconds, took.Seconds())
}

// Poke signals Changed without a change: a writer that failed asks to be
// run again.
func (s *State) Poke() { s.notify() }

// Lookup returns the current findings of one object (not those of
// cross-object checks) and whether the state holds the object.
func (s *State) Lookup(ref inventory.Ref) ([]*report.Finding, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.objects[ref]
	if !ok {
		return nil, false
	}
	return e.findings, true
}
