package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	r.Register(func(emit Emit) {
		emit(FindingsTotal, 2, "high")
		emit(FindingsTotal, 1, "critical")
		emit(ObjectsScanned, 12)
		emit(Findings, 1, "privileged-container", "critical", "a\"b\\c\nd", "Pod")
	})
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	want := "# HELP kubeharden_findings " + Lookup(Findings).Help + `
# TYPE kubeharden_findings gauge
kubeharden_findings{check="privileged-container",severity="critical",namespace="a\"b\\c\nd",kind="Pod"} 1
# HELP kubeharden_findings_total Current findings (not suppressed) by severity.
# TYPE kubeharden_findings_total gauge
kubeharden_findings_total{severity="critical"} 1
kubeharden_findings_total{severity="high"} 2
`
	if !strings.HasPrefix(got, want) {
		t.Errorf("exposition:\n%s\nwant prefix:\n%s", got, want)
	}
	if !strings.Contains(got, "\nkubeharden_objects_scanned 12\n") {
		t.Errorf("unlabelled gauge missing:\n%s", got)
	}
}

func TestUnknownMetricRefused(t *testing.T) {
	r := NewRegistry()
	r.Register(func(emit Emit) {
		emit("kubeharden_nonsense", 1)
		emit(FindingsTotal, 1) // missing its label
		emit(ObjectsScanned, 3)
	})
	var b strings.Builder
	_, err := r.WriteTo(&b)
	if err == nil || !strings.Contains(err.Error(), "kubeharden_nonsense") || !strings.Contains(err.Error(), FindingsTotal) {
		t.Fatalf("error = %v, want one naming both bad metrics", err)
	}
	if !strings.Contains(b.String(), "kubeharden_objects_scanned 3") || strings.Contains(b.String(), "nonsense") {
		t.Errorf("output:\n%s", b.String())
	}
}

func TestTableIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Table {
		if seen[d.Name] || !strings.HasPrefix(d.Name, "kubeharden_") || d.Help == "" {
			t.Errorf("bad or duplicate entry %q", d.Name)
		}
		seen[d.Name] = true
		if d.Type == Counter && !strings.HasSuffix(d.Name, "_total") {
			t.Errorf("counter %s must end in _total", d.Name)
		}
		for _, l := range d.Labels {
			if (l == "name" || l == "pod") && !Detailed[d.Name] {
				t.Errorf("%s has an unbounded label %q", d.Name, l)
			}
		}
	}
}

func TestHandler(t *testing.T) {
	r := NewRegistry()
	r.Register(func(emit Emit) { emit(Leader, 1) })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	if !strings.Contains(rec.Body.String(), "kubeharden_leader 1\n") {
		t.Errorf("body:\n%s", rec.Body.String())
	}
}
