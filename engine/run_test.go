package engine_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// One engine, two runs over the same configuration: exception hits are
// counted per run, so the second report is the first one again.
func TestEngineIsReusable(t *testing.T) {
	expired := &engine.Exception{Checks: []string{"test-no-labels"}, Name: "noreason", Reason: "r2",
		Expires: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), Source: inventory.Location{File: ".kubeharden.yaml", Line: 8}}
	active := &engine.Exception{Checks: []string{"test-no-labels"}, Kind: "ConfigMap", Name: "shared", Reason: "r1"}
	e, err := engine.New(engine.Options{Checks: []*check.Check{noLabels, sameName}, Exceptions: []*engine.Exception{expired, active},
		Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	var msgs [2][]string
	for i := range msgs {
		r := runOn(t, e, engine.RunOptions{})
		for _, n := range r.Notices {
			msgs[i] = append(msgs[i], n.Kind+": "+n.Message)
		}
		if got := len(r.Suppressed); got != 3 {
			t.Errorf("run %d: %d suppressed findings, want 3", i, got)
		}
	}
	if strings.Join(msgs[0], "\n") != strings.Join(msgs[1], "\n") {
		t.Errorf("the second run over the same engine differs:\n%s\n---\n%s", strings.Join(msgs[0], "\n"), strings.Join(msgs[1], "\n"))
	}
	if !strings.Contains(strings.Join(msgs[1], "\n"), "(1 finding(s) it would have suppressed are reported)") {
		t.Errorf("expired exception counts are wrong on the second run: %q", msgs[1])
	}
}

// The one-object path (admission) keeps nothing between calls and is safe
// for concurrent use; it applies annotations and exceptions.
func TestEvaluateOneObject(t *testing.T) {
	x := &engine.Exception{Checks: []string{"test-no-labels"}, Name: "excused", Reason: "r"}
	e, err := engine.New(engine.Options{Checks: []*check.Check{noLabels, sameName}, Exceptions: []*engine.Exception{x}})
	if err != nil {
		t.Fatal(err)
	}
	cm := func(name string) *inventory.Object {
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
		return &inventory.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "ConfigMap", Namespace: "ns", Name: name},
			Origin: inventory.Origin{Source: inventory.SourceAdmission}, Meta: &c.ObjectMeta, Typed: c}
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "plain"
			if i%2 == 1 {
				name = "excused"
			}
			v := e.Evaluate(cm(name))
			switch {
			case name == "plain" && (len(v.Findings) != 1 || len(v.Suppressed) != 0):
				t.Errorf("plain: %d findings, %d suppressed; want 1, 0", len(v.Findings), len(v.Suppressed))
			case name == "excused" && (len(v.Findings) != 0 || len(v.Suppressed) != 1 || v.Suppressed[0].Suppressed.By != "config"):
				t.Errorf("excused: %d findings, %d suppressed; want 0, 1", len(v.Findings), len(v.Suppressed))
			}
		}()
	}
	wg.Wait()
}

// DropClean keeps objects without findings out of the list, not out of the counts.
func TestDropClean(t *testing.T) {
	e, err := engine.New(engine.Options{Checks: []*check.Check{noLabels, sameName}, Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	all := runOn(t, e, engine.RunOptions{})
	dropped := runOn(t, e, engine.RunOptions{DropClean: true})
	if len(dropped.Objects) >= len(all.Objects) {
		t.Errorf("DropClean kept %d of %d objects; the one without findings should go", len(dropped.Objects), len(all.Objects))
	}
	if dropped.Summary.Objects != all.Summary.Objects || dropped.Summary.Findings != all.Summary.Findings {
		t.Errorf("summaries differ: %+v vs %+v", dropped.Summary, all.Summary)
	}
	for _, f := range dropped.Findings {
		if f.Object == nil {
			t.Error("finding without object")
		}
	}
}

// Dispatch is by group and kind: a ConfigMap of another group is not a
// ConfigMap, and objects of kinds no check covers are counted in a notice.
func TestGroupKindDispatchAndUncovered(t *testing.T) {
	e, err := engine.New(engine.Options{Checks: []*check.Check{noLabels}})
	if err != nil {
		t.Fatal(err)
	}
	const docs = `apiVersion: v1
kind: ConfigMap
metadata: {name: core}
---
apiVersion: example.com/v1
kind: ConfigMap
metadata: {name: imposter}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: b}
`
	run := e.NewRun(engine.RunOptions{})
	d := manifest.Decoder{}
	if err := d.Decode(strings.NewReader(docs), "x.yaml", "file", run); err != nil {
		t.Fatal(err)
	}
	r := run.Report()
	if got := ids(r.Findings); len(got) != 1 || !strings.Contains(got[0], "@core:") {
		t.Errorf("findings %v, want only the core ConfigMap", got)
	}
	var msg string
	for _, n := range r.Notices {
		if n.Kind == report.NoticeUncoveredKinds {
			msg = n.Message
		}
	}
	if !strings.Contains(msg, "3 object(s)") || !strings.Contains(msg, "CiliumNetworkPolicy.cilium.io (2)") || !strings.Contains(msg, "ConfigMap.example.com (1)") {
		t.Errorf("uncovered-kinds notice = %q", msg)
	}
}

// A ManifestOnly check does not run on objects read from a cluster.
func TestManifestOnly(t *testing.T) {
	c := *noLabels
	c.ManifestOnly = true
	e, err := engine.New(engine.Options{Checks: []*check.Check{&c}})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{inventory.SourceFile, inventory.SourceCluster, inventory.SourceAdmission} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
		v := e.Evaluate(&inventory.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "ConfigMap", Name: "x"},
			Origin: inventory.Origin{Source: src}, Meta: &cm.ObjectMeta, Typed: cm})
		if want := src == inventory.SourceFile; (len(v.Findings) == 1) != want {
			t.Errorf("source %s: %d findings", src, len(v.Findings))
		}
	}
}

// check.Validate refuses kinds outside the registry.
func TestUnknownKindRejected(t *testing.T) {
	c := *noLabels
	c.Kinds = []*kinds.Type{{Kind: "Gadget", Group: "example.com"}}
	if _, err := engine.New(engine.Options{Checks: []*check.Check{&c}}); err == nil || !strings.Contains(err.Error(), "kind registry") {
		t.Errorf("err = %v", err)
	}
}
