package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/identity"
	"github.com/kubeharden/kubeharden/checks/namespace"
	"github.com/kubeharden/kubeharden/checks/network"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// Cross-object checks keep their per-pod records in a check.Log; a spilled
// run writes them to its store in blocks. With blocks of a few bytes, the
// findings must be those of the same run held in memory.
func TestCrossObjectRecordsSpill(t *testing.T) {
	defer engine.SetLogBlock(64)()
	var files []string
	for _, c := range []*check.Check{identity.ServiceAccountTokenAutomounted, network.PodNotIsolated, namespace.NamespaceWithoutDefaultDeny} {
		for _, kind := range []string{"pass", "fail"} {
			dir := filepath.Join("..", "checks", map[*check.Check]string{identity.ServiceAccountTokenAutomounted: "identity",
				network.PodNotIsolated: "network", namespace.NamespaceWithoutDefaultDeny: "namespace"}[c], "testdata", c.ID, kind)
			files = append(files, dir)
		}
	}
	e, err := engine.New(engine.Options{Checks: []*check.Check{identity.ServiceAccountTokenAutomounted, network.PodNotIsolated, namespace.NamespaceWithoutDefaultDeny}})
	if err != nil {
		t.Fatal(err)
	}
	describe := func(rep *report.Report) []string {
		var out []string
		for _, each := range []func(func(*report.Finding) error) error{rep.EachFinding, rep.EachSuppressed} {
			if err := each(func(f *report.Finding) error {
				l := f.Loc()
				out = append(out, fmt.Sprintf("%s %s %s:%d:%d %s", f.Check.ID, f.Object.Ref, l.File, l.Line, l.Column, f.Message))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	run := func(spill report.Store) []string {
		r := e.NewRun(engine.RunOptions{Complete: true, Spill: spill})
		l := manifest.Loader{Workers: 1}
		l.Load(context.Background(), files, r)
		rep := r.Report()
		if len(rep.Errors) > 0 {
			t.Fatalf("errors: %v", rep.Errors)
		}
		return describe(rep)
	}
	mem := run(nil)
	f, err := os.CreateTemp(t.TempDir(), "spill")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spilled := run(f)
	if len(mem) < 10 {
		t.Fatalf("too few findings to prove anything: %d", len(mem))
	}
	if !slices.Equal(mem, spilled) {
		t.Errorf("spilled records change the findings:\n%q\n%q", mem, spilled)
	}
}
