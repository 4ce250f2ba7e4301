package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// Two test checks: one per object, one across objects.
var (
	noLabels = &check.Check{
		ID: "test-no-labels", Title: "Object has no labels", Severity: check.Low,
		Refs:        []check.Ref{{Framework: check.NSA, ID: "test"}},
		Description: "Objects without labels cannot be selected by policies; this is a test check.",
		Remediation: "Add labels to the object metadata.",
		Kinds:       kinds.List(kinds.ConfigMap, kinds.Deployment),
		Object: func(_ *check.Env, o *inventory.Object) []check.Result {
			if len(o.Labels()) == 0 {
				return []check.Result{{Path: "metadata", Message: "no labels"}}
			}
			return nil
		},
	}
	sameName = &check.Check{
		ID: "test-same-name", Title: "Two objects share a name", Severity: check.High,
		Refs:        []check.Ref{{Framework: check.CIS, ID: "0.0"}},
		Description: "Reports every object whose name another object of the scan also uses; a test set check.",
		Remediation: "Rename one of the objects.",
		Kinds:       kinds.List(kinds.ConfigMap, kinds.Deployment),
		Set:         func(*check.Env) check.SetEval { return &sameNames{seen: map[string][]*check.Target{}} },
	}
)

type sameNames struct{ seen map[string][]*check.Target }

func (s *sameNames) Observe(o *inventory.Object) {
	s.seen[o.Name] = append(s.seen[o.Name], check.Pin(o, "metadata.name"))
}

func (s *sameNames) Finish(report func(*check.Target, check.Result)) {
	for _, ts := range s.seen {
		if len(ts) > 1 {
			for _, t := range ts {
				report(t, check.Result{Path: "metadata.name", Message: "name shared"})
			}
		}
	}
}

const objects = `apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
  namespace: team-a
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shared
  namespace: team-b
  annotations:
    kubeharden.io/ignore: test-same-name, test-no-labels
    kubeharden.io/ignore-reason: legacy app, tracked in TICKET-1
spec:
  template:
    metadata: {labels: {app: x}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: noreason
  namespace: team-a
  annotations:
    kubeharden.io/ignore: test-no-labels
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: typo
  namespace: team-c
  labels: {a: b}
  annotations:
    kubeharden.io/ignore: test-no-lables
    kubeharden.io/ignore-reason: typo in the id
`

func run(t *testing.T, now time.Time, xs ...*engine.Exception) *report.Report {
	t.Helper()
	e, err := engine.New(engine.Options{Checks: []*check.Check{noLabels, sameName}, Exceptions: xs, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return runOn(t, e, engine.RunOptions{})
}

func runOn(t *testing.T, e *engine.Engine, opts engine.RunOptions) *report.Report {
	t.Helper()
	r := e.NewRun(opts)
	d := manifest.Decoder{}
	if err := d.Decode(strings.NewReader(objects), "objects.yaml", "file", r); err != nil {
		t.Fatal(err)
	}
	return r.Report()
}

func ids(fs []*report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Check.ID+"@"+f.Object.Ref.Name+":"+itoa(int(f.Location.Line)))
	}
	return out
}

func itoa(i int) string { return fmt.Sprintf("%02d", i) }

func notices(r *report.Report) map[string]int {
	m := map[string]int{}
	for _, n := range r.Notices {
		m[n.Kind]++
	}
	return m
}

var day = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func TestAnnotations(t *testing.T) {
	r := run(t, day)
	got := strings.Join(ids(r.Findings), " ")
	want := "test-no-labels@shared:03 test-same-name@shared:04 test-no-labels@noreason:21"
	if got != want {
		t.Errorf("findings\n got %s\nwant %s", got, want)
	}
	// The Deployment's set-check finding and its per-object finding are both suppressed by its annotation.
	if s := strings.Join(ids(r.Suppressed), " "); s != "test-no-labels@shared:09 test-same-name@shared:10" {
		t.Errorf("suppressed: %s", s)
	}
	for _, f := range r.Suppressed {
		if f.Suppressed.By != "annotation" || f.Suppressed.Source.Line != 13 {
			t.Errorf("suppression %+v", f.Suppressed)
		}
	}
	n := notices(r)
	if n[report.NoticeInvalidAnnotation] != 2 { // no reason; unknown id
		t.Errorf("notices: %+v", r.Notices)
	}
	if n[report.NoticeUnusedAnnotation] != 0 {
		t.Errorf("unexpected unused-annotation notice: %+v", r.Notices)
	}
}

func TestExceptions(t *testing.T) {
	active := &engine.Exception{Checks: []string{"test-no-labels"}, Kind: "ConfigMap", Namespace: "team-*", Name: "share?", Reason: "r1",
		Expires: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Source: inventory.Location{File: ".kubeharden.yaml", Line: 3}}
	expired := &engine.Exception{Checks: []string{"test-no-labels"}, Name: "noreason", Reason: "r2",
		Expires: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), Source: inventory.Location{File: ".kubeharden.yaml", Line: 8}}
	unused := &engine.Exception{Checks: []string{"*"}, Namespace: "nowhere", Reason: "r3", Source: inventory.Location{File: ".kubeharden.yaml", Line: 12}}
	r := run(t, day, active, expired, unused)

	if got := strings.Join(ids(r.Findings), " "); got != "test-same-name@shared:04 test-no-labels@noreason:21" {
		t.Errorf("findings: %s", got)
	}
	var byConfig []*report.Finding
	for _, f := range r.Suppressed {
		if f.Suppressed.By == "config" {
			byConfig = append(byConfig, f)
		}
	}
	if len(byConfig) != 1 || byConfig[0].Object.Ref.Name != "shared" || byConfig[0].Suppressed.Expires != "2026-03-01" || byConfig[0].Suppressed.Source.Line != 3 {
		t.Errorf("config suppression: %v", ids(byConfig))
	}
	n := notices(r)
	if n[report.NoticeExpiredException] != 1 || n[report.NoticeUnusedException] != 1 {
		t.Errorf("notices: %+v", r.Notices)
	}
	for _, no := range r.Notices {
		if no.Kind == report.NoticeExpiredException && !strings.Contains(no.Message, "1 finding") {
			t.Errorf("expired notice should count what it no longer suppresses: %s", no.Message)
		}
	}

	// The day after its expiry date the first exception stops too.
	r = run(t, day.Add(24*time.Hour), active)
	if n := notices(r); n[report.NoticeExpiredException] != 1 {
		t.Errorf("exception should expire after its last day: %+v", r.Notices)
	}
}

func TestSummaryAndOrder(t *testing.T) {
	r := run(t, day)
	if r.Summary.Objects != 4 || r.Summary.Findings != 3 || r.Summary.Suppressed != 2 || r.Summary.BySeverity["high"] != 1 {
		t.Errorf("summary %+v", r.Summary)
	}
	for i := 1; i < len(r.Objects); i++ {
		if r.Objects[i-1].Origin.Line > r.Objects[i].Origin.Line {
			t.Errorf("objects out of order")
		}
	}
}

func TestInvalidChecksRejected(t *testing.T) {
	bad := *noLabels
	bad.ID = "Not Kebab"
	bad.Remediation = ""
	if _, err := engine.New(engine.Options{Checks: []*check.Check{&bad, noLabels, noLabels}}); err == nil {
		t.Fatal("engine accepted invalid checks")
	} else if !strings.Contains(err.Error(), "kebab") || !strings.Contains(err.Error(), "duplicate") || !strings.Contains(err.Error(), "remediation") {
		t.Errorf("error does not explain every problem: %v", err)
	}
}

// A cluster-wide check must not report what a source could not see.
func TestUnlistedKindsSilenceSetChecks(t *testing.T) {
	cw := *sameName
	cw.NeedsCluster = true
	for _, blind := range []bool{false, true} {
		e, err := engine.New(engine.Options{Checks: []*check.Check{&cw}, Now: func() time.Time { return day }})
		if err != nil {
			t.Fatal(err)
		}
		run := e.NewRun(engine.RunOptions{Complete: true})
		d := manifest.Decoder{}
		if err := d.Decode(strings.NewReader(objects), "objects.yaml", "file", run); err != nil {
			t.Fatal(err)
		}
		if blind {
			run.Unlisted("", kinds.Deployment)
		}
		r := run.Report()
		n := notices(r)
		switch {
		case !blind && (len(r.Findings)+len(r.Suppressed) != 2 || n[report.NoticeIncomplete] != 0):
			t.Errorf("seeing everything: findings %v suppressed %v notices %+v", ids(r.Findings), ids(r.Suppressed), r.Notices)
		case blind && (len(r.Findings)+len(r.Suppressed) != 0 || n[report.NoticeIncomplete] != 1):
			t.Errorf("blind to Deployments: findings %v notices %+v", ids(r.Findings), r.Notices)
		}
	}
	// And NeedsCluster checks do not run at all on manifest sets.
	e, _ := engine.New(engine.Options{Checks: []*check.Check{&cw}})
	if r := runOn(t, e, engine.RunOptions{}); len(r.Findings)+len(r.Suppressed) != 0 || len(r.Checks) != 0 {
		t.Errorf("cluster-wide check ran on manifests: %v", ids(r.Findings))
	}
}
