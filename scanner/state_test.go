package scanner

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/metrics"
	"github.com/kubeharden/kubeharden/report"
	kscan "github.com/kubeharden/kubeharden/scan"
)

func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	p := kscan.Plan{Only: []string{"privileged-container", "run-as-root"}}
	e, err := p.Engine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pod(ns, name string, privileged bool) *inventory.Object {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
	if privileged {
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
	}
	return &inventory.Object{
		Ref:    inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: name},
		Origin: inventory.Origin{Source: inventory.SourceCluster, Context: "test", UID: string(p.UID)},
		Meta:   &p.ObjectMeta, Typed: p,
	}
}

func samples(s *State) map[string]float64 {
	out := map[string]float64{}
	s.Collect(func(name string, v float64, lv ...string) { out[name+"{"+strings.Join(lv, ",")+"}"] = v })
	return out
}

func TestStateFollowsObjects(t *testing.T) {
	e := newEngine(t)
	s := NewState(e.Checks())
	at := time.Unix(1_700_000_000, 0)
	s.Put(e.Evaluate(pod("a", "p1", true)), at)
	s.Put(e.Evaluate(pod("a", "p2", false)), at)
	s.Put(e.Evaluate(pod("b", "p3", true)), at)
	m := samples(s)
	if got := m[metrics.Findings+"{privileged-container,critical,a,Pod}"]; got != 1 {
		t.Errorf("privileged findings in a = %v, want 1 (samples %v)", got, m)
	}
	if m[metrics.ObjectsScanned+"{}"] != 3 || m[metrics.LastEventTimestamp+"{}"] != 1_700_000_000 {
		t.Errorf("objects or last event wrong: %v", m)
	}
	if m[metrics.PSSLevelObjects+"{a,privileged}"] != 1 || m[metrics.PSSLevelObjects+"{b,privileged}"] != 1 {
		t.Errorf("PSS levels wrong: %v", m)
	}
	before := m[metrics.ComplianceRatio+"{PSS}"]

	// Fixing p1 keeps the finding of p3; deleting p3 clears the series.
	s.Put(e.Evaluate(pod("a", "p1", false)), at.Add(time.Second))
	s.Delete(inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "b", Name: "p3"}, at.Add(2*time.Second))
	m = samples(s)
	for k, v := range m {
		if strings.HasPrefix(k, metrics.Findings+"{privileged-container") {
			t.Errorf("series %s = %v left after the fix", k, v)
		}
	}
	if m[metrics.FindingsTotal+"{critical}"] != 0 || m[metrics.ObjectsScanned+"{}"] != 2 {
		t.Errorf("after the fix: %v", m)
	}
	if after := m[metrics.ComplianceRatio+"{PSS}"]; !(after > before) || after > 1 {
		t.Errorf("PSS compliance ratio %v before the fix, %v after: want it to grow", before, after)
	}
	select {
	case <-s.Changed():
	default:
		t.Error("no change signalled")
	}
}

func TestReports(t *testing.T) {
	e := newEngine(t)
	s := NewState(e.Checks())
	first := time.Unix(1_700_000_000, 0)
	s.Put(e.Evaluate(pod("a", "p1", true)), first)
	// Re-evaluating an unchanged object keeps the time its findings appeared.
	s.Put(e.Evaluate(pod("a", "p1", true)), first.Add(time.Hour))
	ns, cluster := s.Reports()
	if cluster.Kind != "ClusterPolicyReport" || len(cluster.Results) != 0 || cluster.Metadata.Name != ReportName {
		t.Errorf("cluster report %+v", cluster)
	}
	r := ns["a"]
	if r == nil || len(ns) != 1 {
		t.Fatalf("reports %v", ns)
	}
	if r.APIVersion != ReportAPIVersion || r.Kind != "PolicyReport" || r.Metadata.Namespace != "a" || r.Metadata.Labels[ManagedByLabel] != ReportSource {
		t.Errorf("report header %+v", r)
	}
	var priv *Result
	for i := range r.Results {
		if r.Results[i].Policy == "privileged-container" {
			priv = &r.Results[i]
		}
	}
	if priv == nil {
		t.Fatalf("no privileged-container result in %+v", r.Results)
	}
	if priv.Result != "fail" || priv.Severity != "critical" || priv.Timestamp.Seconds != first.Unix() ||
		len(priv.Resources) != 1 || priv.Resources[0].Name != "p1" || priv.Resources[0].UID != "uid-p1" || priv.Message == "" {
		t.Errorf("result %+v", priv)
	}
	if r.Summary.Fail != len(r.Results) {
		t.Errorf("summary %+v for %d results", r.Summary, len(r.Results))
	}
}

func TestReportsAreBounded(t *testing.T) {
	e := newEngine(t)
	s := NewState(e.Checks())
	chk := e.Checks()[0]
	var fs []*report.Finding
	for i := range MaxResults + 5 {
		o := &report.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "big", Name: "p" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)}}
		fs = append(fs, &report.Finding{Check: chk, Object: o, Message: "m"})
	}
	s.SetFindings("g", fs, time.Now(), time.Millisecond)
	ns, _ := s.Reports()
	r := ns["big"]
	if len(r.Results) != MaxResults || r.Summary.Fail != MaxResults+5 || r.Metadata.Annotations[TruncatedAnnotation] != "5" {
		t.Errorf("results %d, summary %+v, annotations %v", len(r.Results), r.Summary, r.Metadata.Annotations)
	}
}

func TestSetFindingsKeepTheirTime(t *testing.T) {
	e := newEngine(t)
	s := NewState(e.Checks())
	chk := e.Checks()[0]
	o := &report.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "n", Name: "p"}}
	t0 := time.Unix(100, 0)
	s.SetFindings("g", []*report.Finding{{Check: chk, Object: o, Message: "m"}}, t0, 0)
	s.SetFindings("g", []*report.Finding{{Check: chk, Object: o, Message: "m"}}, t0.Add(time.Minute), 0)
	s.SetFindings("other", []*report.Finding{{Check: chk, Object: o, Message: "n"}}, t0.Add(time.Minute), 0)
	if fs := s.Findings(); len(fs) != 2 || !fs[0].Since.Equal(t0) || !fs[1].Since.Equal(t0.Add(time.Minute)) {
		t.Fatalf("findings %v", fs)
	}
	s.SetFindings("g", nil, t0.Add(2*time.Minute), 0)
	s.SetFindings("other", nil, t0.Add(2*time.Minute), 0)
	if fs := s.Findings(); len(fs) != 0 {
		t.Errorf("findings left: %v", fs)
	}
}

// A Namespace's own findings (namespace-without-default-deny...) are
// labelled with the namespace they are about.
func TestNamespaceFindingsLabelledWithTheirNamespace(t *testing.T) {
	e := newEngine(t)
	s := NewState(e.Checks())
	chk := e.Checks()[0]
	o := &report.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Namespace", Name: "shop"}}
	s.SetFindings("g", []*report.Finding{{Check: chk, Object: o, Message: "m"}}, time.Now(), 0)
	key := metrics.Findings + "{" + chk.ID + "," + chk.Severity.String() + ",shop,Namespace}"
	if m := samples(s); m[key] != 1 {
		t.Errorf("no sample %s in %v", key, m)
	}
}

// Object names appear in labels only when asked for, and follow the
// objects: a fixed or deleted object's series goes away.
func TestObjectDetailIsOptIn(t *testing.T) {
	e := newEngine(t)
	at := time.Unix(1_700_000_000, 0)
	plain := NewState(e.Checks())
	plain.Put(e.Evaluate(pod("a", "p1", true)), at)
	for k := range samples(plain) {
		if strings.HasPrefix(k, metrics.ObjectFindings+"{") {
			t.Errorf("object series without EnableObjectDetail: %s", k)
		}
	}

	s := NewState(e.Checks())
	s.EnableObjectDetail()
	s.Put(e.Evaluate(pod("a", "p1", true)), at)
	s.Put(e.Evaluate(pod("a", "p2", true)), at)
	s.Put(e.Evaluate(pod("a", "ok", false)), at)
	m := samples(s)
	for _, name := range []string{"p1", "p2"} {
		if got := m[metrics.ObjectFindings+"{privileged-container,critical,a,Pod,"+name+"}"]; got != 1 {
			t.Errorf("object series of %s = %v, want 1 (samples %v)", name, got, m)
		}
	}
	if _, ok := m[metrics.ObjectFindings+"{privileged-container,critical,a,Pod,ok}"]; ok {
		t.Errorf("a series for a pod without the finding: %v", m)
	}
	if got := m[metrics.Findings+"{privileged-container,critical,a,Pod}"]; got != 2 {
		t.Errorf("aggregate = %v, want 2", got)
	}
	s.Put(e.Evaluate(pod("a", "p1", false)), at)
	s.Delete(inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "a", Name: "p2"}, at)
	for k := range samples(s) {
		if strings.HasPrefix(k, metrics.ObjectFindings+"{privileged-container") {
			t.Errorf("series left after the fix and the delete: %s", k)
		}
	}
}

// The state says which namespaces' reports changed, so that a writer
// rewrites those alone; ReportsFor builds only the reports asked for.
func TestReportChanges(t *testing.T) {
	e := newEngine(t)
	s := NewState(e.Checks())
	at := time.Unix(1_700_000_000, 0)
	take := func() string { return strings.Join(s.TakeReportChanges(), ",") }
	s.Put(e.Evaluate(pod("a", "p1", true)), at)
	s.Put(e.Evaluate(pod("b", "p2", true)), at)
	if got := take(); got != "a,b" {
		t.Errorf("changes after two new pods = %q, want a,b", got)
	}
	s.Put(e.Evaluate(pod("a", "p1", true)), at.Add(time.Minute))
	if got := take(); got != "" {
		t.Errorf("changes after an unchanged verdict = %q, want none", got)
	}
	s.Put(e.Evaluate(pod("a", "p1", false)), at.Add(time.Minute))
	if got := take(); got != "a" {
		t.Errorf("changes after a fix in a = %q, want a", got)
	}
	s.Delete(inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "b", Name: "p2"}, at)
	if got := take(); got != "b" {
		t.Errorf("changes after a delete in b = %q, want b", got)
	}
	chk := e.Checks()[0]
	node := &report.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Node", Name: "n1"}}
	inC := &report.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "c", Name: "p3"}}
	s.SetFindings("g", []*report.Finding{{Check: chk, Object: node, Message: "m"}, {Check: chk, Object: inC, Message: "m"}}, at, 0)
	if got := take(); got != ",c" {
		t.Errorf("changes after cross-object findings = %q, want the cluster report and c", got)
	}
	s.SetFindings("g", []*report.Finding{{Check: chk, Object: node, Message: "m"}, {Check: chk, Object: inC, Message: "m"}}, at.Add(time.Minute), 0)
	if got := take(); got != "" {
		t.Errorf("changes after the same cross-object findings = %q, want none", got)
	}
	s.SetFindings("g", []*report.Finding{{Check: chk, Object: node, Message: "m"}}, at, 0)
	if got := take(); got != "c" {
		t.Errorf("changes after c's cross-object finding went = %q, want c", got)
	}
	s.Put(e.Evaluate(pod("d", "p4", true)), at)
	ns, cluster := s.ReportsFor([]string{"d", "b"}) // b has no finding left
	if cluster != nil || len(ns) != 1 || ns["d"] == nil || ns["d"].Summary.Fail == 0 {
		t.Errorf("ReportsFor(d, b) = %v, cluster %v; want d's report alone", ns, cluster)
	}
	if _, cluster := s.ReportsFor([]string{""}); cluster == nil || cluster.Summary.Fail != 1 {
		t.Errorf("ReportsFor(\"\") cluster report = %+v, want the node's finding", cluster)
	}
	if got := strings.Join(s.ReportNamespaces(), ","); got != ",a,d" {
		t.Errorf("ReportNamespaces = %q, want the cluster report, a (run-as-root) and d", got)
	}
}

// Objects with the same findings share one list of them.
func TestIdenticalFindingsAreShared(t *testing.T) {
	e := newEngine(t)
	s := NewState(e.Checks())
	at := time.Unix(1_700_000_000, 0)
	s.Put(e.Evaluate(pod("a", "p1", true)), at)
	s.Put(e.Evaluate(pod("a", "p2", true)), at)
	s.Put(e.Evaluate(pod("a", "p3", false)), at)
	facts := func(name string) []fact {
		return s.objects[inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "a", Name: name}].facts
	}
	p1, p2, p3 := facts("p1"), facts("p2"), facts("p3")
	if len(p1) == 0 || &p1[0] != &p2[0] {
		t.Errorf("p1 and p2 have the same findings but do not share them")
	}
	if len(p3) == 0 || &p3[0] == &p1[0] {
		t.Errorf("p3's findings differ but are shared with p1's")
	}
	if fs, _ := s.Lookup(inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "a", Name: "p2"}); len(fs) != len(p2) || fs[0].Object.Ref.Name != "p2" {
		t.Errorf("Lookup(p2) = %v: the findings must name their own object", fs)
	}
}
