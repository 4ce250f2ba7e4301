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
