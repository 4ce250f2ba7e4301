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
	"encoding/binary"
	"hash/fnv"
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
	// namespace labels the object's metrics: its namespace, or a
	// Namespace's own name.
	namespace, kind string
	// origin is the object's origin: source, context and uid.
	origin inventory.Origin
	// level is the object's Pod Security Standards level ("" when it is
	// not pod-bearing).
	level string
	// facts are the object's findings that are not suppressed.
	facts []fact
	// since is when the object's current findings were computed.
	since time.Time
}

// fact is one finding of a watched object as the state keeps it: a
// fifth of a report.Finding's size with the object's reference shared
// (20,000 pods have a few hundred thousand findings). Live objects have
// field paths, no file positions.
type fact struct {
	check   *check.Check
	message string
	path    string
	details *check.Details
}

// finding rebuilds the report's finding of a fact of the object o.
func (f *fact) finding(o *report.Object) *report.Finding {
	return &report.Finding{Check: f.check, Object: o, Location: report.Pos{Path: f.path}, Message: f.message, Details: f.details}
}

// object rebuilds the report's object of an entry.
func (e *entry) object(ref inventory.Ref) *report.Object {
	return &report.Object{Ref: ref, Origin: e.origin}
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
	// detail adds kubeharden_object_findings (object names in labels).
	detail bool
	// factLists shares identical lists of facts between objects (a
	// workload's pods, objects made from one template), by hash.
	factLists map[uint64][]fact
	// reportsDirty are the namespaces ("" for cluster-scoped objects)
	// whose PolicyReport content changed since TakeReportChanges.
	reportsDirty map[string]bool
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

		reportsDirty: map[string]bool{},
		factLists:    map[uint64][]fact{},
	}
}

// EnableObjectDetail makes Collect also report
// kubeharden_object_findings, one series per failing object and check,
// labelled with the object's name. Call it before the state is shared.
func (s *State) EnableObjectDetail() { s.detail = true }

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
// The state keeps a slim copy: the object's reference and origin, not
// its Pod Security Standards details; findings as facts in one
// allocation, their messages and paths shared with other objects'
// ("container \"app\" has no liveness probe" repeats across thousands
// of pods).
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
	o := v.Object.Origin
	e.origin = inventory.Origin{Source: o.Source, Context: s.intern(o.Context), UID: o.UID}
	n := 0
	for _, f := range v.Findings {
		if f.Suppressed == nil {
			n++
		}
	}
	if n > 0 {
		e.facts = make([]fact, 0, n)
		for _, f := range v.Findings {
			if f.Suppressed != nil {
				continue
			}
			e.facts = append(e.facts, fact{check: f.Check, message: s.intern(f.Message), path: s.intern(f.Location.Path), details: f.Details})
		}
		e.facts = s.shareFacts(e.facts)
	}
	old := s.objects[ref]
	switch {
	case old != nil && sameFacts(old.facts, e.facts):
		e.since = old.since
	case old != nil || len(e.facts) > 0:
		s.reportsDirty[ref.Namespace] = true
	}
	s.objects[ref] = e
	if at.After(s.lastEvent) {
		s.lastEvent = at
	}
	s.mu.Unlock()
	s.notify()
}

// shareFacts returns a list of facts equal to fs that other objects
// already use, or fs, which others may then share. Lists are immutable
// once stored. Like the string table, the table of lists is dropped when
// it outgrows the state (lists in use stay shared).
func (s *State) shareFacts(fs []fact) []fact {
	h := fnv.New64a()
	var b [8]byte
	for i := range fs {
		if fs[i].details != nil {
			return fs // facts with details (CVE lists) are the object's own
		}
		h.Write([]byte(fs[i].check.ID))
		binary.LittleEndian.PutUint64(b[:], uint64(len(fs[i].message)))
		h.Write(b[:])
		h.Write([]byte(fs[i].message))
		h.Write([]byte{0})
		h.Write([]byte(fs[i].path))
		h.Write([]byte{0})
	}
	key := h.Sum64()
	if shared, ok := s.factLists[key]; ok {
		if sameFacts(shared, fs) {
			return shared
		}
		return fs // a collision: keep the first list shared
	}
	if len(s.factLists) > 2*len(s.objects)+1000 {
		s.factLists = map[uint64][]fact{}
	}
	s.factLists[key] = fs
	return fs
}

// sameFacts reports whether two lists of findings say the same.
func sameFacts(a, b []fact) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].check != b[i].check || a[i].message != b[i].message || a[i].path != b[i].path {
			return false
		}
	}
	return true
}

// Delete forgets an object and its findings.
func (s *State) Delete(ref inventory.Ref, at time.Time) {
	s.mu.Lock()
	if old := s.objects[ref]; old != nil && len(old.facts) > 0 {
		s.reportsDirty[ref.Namespace] = true
	}
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
	// The reports of the namespaces whose findings of this part changed
	// (a finding's content or its first-seen time) are to be written again.
	if old != nil {
		for _, f := range old.findings {
			k := setKey{f.Check.ID, f.Object.Ref, f.Message}
			if t, ok := since[k]; !ok || !t.Equal(old.since[k]) {
				s.reportsDirty[f.Object.Ref.Namespace] = true
			}
		}
	}
	for _, f := range kept {
		k := setKey{f.Check.ID, f.Object.Ref, f.Message}
		if old == nil {
			s.reportsDirty[f.Object.Ref.Namespace] = true
		} else if t, ok := old.since[k]; !ok || !t.Equal(since[k]) {
			s.reportsDirty[f.Object.Ref.Namespace] = true
		}
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
func (s *State) Findings() []Finding { return s.findings(nil) }

// findings returns the current findings of the objects whose namespace
// ("" for cluster-scoped objects) is in only (every object when only is
// nil), sorted by namespace, kind, name and check.
func (s *State) findings(only map[string]bool) []Finding {
	s.mu.RLock()
	var out []Finding
	for ref, e := range s.objects {
		if len(e.facts) == 0 || (only != nil && !only[ref.Namespace]) {
			continue
		}
		o := e.object(ref)
		for i := range e.facts {
			out = append(out, Finding{e.facts[i].finding(o), e.since})
		}
	}
	for _, se := range s.sets {
		for _, f := range se.findings {
			if only != nil && !only[f.Object.Ref.Namespace] {
				continue
			}
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
	type objectSeries struct {
		series
		name string
	}
	var byObject map[objectSeries]int
	if s.detail {
		byObject = map[objectSeries]int{}
	}
	bySeverity := map[string]int{}
	type pssKey struct{ namespace, level string }
	levels := map[pssKey]int{}
	failing := map[check.Ref]bool{}
	count := func(c *check.Check, name, ns, kind string) {
		sev := c.Severity.String()
		k := series{c.ID, sev, ns, kind}
		byCheck[k]++
		if byObject != nil {
			byObject[objectSeries{k, name}]++
		}
		bySeverity[sev]++
		for _, r := range c.Refs {
			failing[check.Ref{Framework: r.Framework, ID: r.ID}] = true
		}
	}
	s.mu.RLock()
	for ref, e := range s.objects {
		if e.level != "" {
			levels[pssKey{e.namespace, e.level}]++
		}
		for i := range e.facts {
			count(e.facts[i].check, ref.Name, e.namespace, e.kind)
		}
	}
	for _, se := range s.sets {
		for _, f := range se.findings {
			ref := f.Object.Ref
			ns := ref.Namespace
			if ref.Kind == "Namespace" && ns == "" {
				ns = ref.Name
			}
			count(f.Check, ref.Name, ns, ref.Kind)
		}
	}
	objects, last, took := len(s.objects), s.lastEvent, s.setTook
	s.mu.RUnlock()

	for k, n := range byCheck {
		emit(metrics.Findings, float64(n), k.check, k.severity, k.namespace, k.kind)
	}
	for k, n := range byObject {
		emit(metrics.ObjectFindings, float64(n), k.check, k.severity, k.namespace, k.kind, k.name)
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

// ReportNamespaces returns the namespaces with findings ("" when a
// cluster-scoped object has some), sorted.
func (s *State) ReportNamespaces() []string {
	set := map[string]bool{}
	s.mu.RLock()
	for ref, e := range s.objects {
		if len(e.facts) > 0 {
			set[ref.Namespace] = true
		}
	}
	for _, se := range s.sets {
		for _, f := range se.findings {
			set[f.Object.Ref.Namespace] = true
		}
	}
	s.mu.RUnlock()
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// TakeReportChanges returns the namespaces ("" for the cluster report)
// whose PolicyReport content changed since the last call, and forgets
// them.
func (s *State) TakeReportChanges() []string {
	s.mu.Lock()
	out := make([]string, 0, len(s.reportsDirty))
	for ns := range s.reportsDirty {
		out = append(out, ns)
	}
	clear(s.reportsDirty)
	s.mu.Unlock()
	sort.Strings(out)
	return out
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
	var fs []*report.Finding
	o := e.object(ref)
	for i := range e.facts {
		fs = append(fs, e.facts[i].finding(o))
	}
	return fs, true
}
