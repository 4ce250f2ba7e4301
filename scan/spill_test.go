package scan_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/checks/namespace"
	"github.com/kubeharden/kubeharden/checks/network"
	"github.com/kubeharden/kubeharden/checks/workload"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/render/junit"
	"github.com/kubeharden/kubeharden/render/sarif"
	"github.com/kubeharden/kubeharden/render/table"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// A report spilled to a file renders byte for byte as the same report
// held in memory, in every format, over the examples and every check
// fixture (findings, suppressions by annotation and by exception,
// cross-object findings, errors and notices).
func TestSpilledReportRendersTheSame(t *testing.T) {
	roots := []string{"../examples"}
	dirs, _ := filepath.Glob("../checks/*/testdata")
	roots = append(roots, dirs...)
	x := &engine.Exception{Checks: []string{workload.MissingReadinessProbe.ID, network.PodNotIsolated.ID, namespace.NamespaceWithoutResourceQuota.ID}, Reason: "test", Source: inventory.Location{File: "cfg", Line: 1}}
	for _, complete := range []bool{false, true} {
		plan := func(spill report.Store) scan.Plan {
			// One worker: the corpus repeats namespace names across
			// files, and which duplicate a cross-object check keeps
			// depends on the order objects arrive in.
			var src source.Source = manifest.Source{Loader: &manifest.Loader{Workers: 1}, Paths: roots}
			if complete {
				src = completeSource{src}
			}
			return scan.Plan{Sources: []source.Source{src}, Spill: spill, Exceptions: []*engine.Exception{x},
				Now: func() time.Time { return time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC) }}
		}
		for name, format := range map[string]render.Func{"json": jsonout.Render, "sarif": sarif.Render, "table": table.Render, "junit": junit.Render} {
			mem, err := scan.Run(context.Background(), plan(nil))
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.CreateTemp(t.TempDir(), "spill")
			if err != nil {
				t.Fatal(err)
			}
			spilled, err := scan.Run(context.Background(), plan(f))
			if err != nil {
				t.Fatal(err)
			}
			if !spilled.Spilled() || len(spilled.Findings) != 0 {
				t.Fatal("the report was not spilled")
			}
			if mem.Summary.Findings < 100 || mem.Summary.Suppressed == 0 {
				t.Fatalf("the corpus proves little: %+v", mem.Summary)
			}
			for _, opts := range []render.Options{{}, {ShowSuppressed: true}} {
				var a, b bytes.Buffer
				if err := format(&a, mem, opts); err != nil {
					t.Fatal(err)
				}
				if err := format(&b, spilled, opts); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Errorf("%s (complete %v, %+v): spilled output differs (%d vs %d bytes)", name, complete, opts, a.Len(), b.Len())
					if os.Getenv("SPILL_DIFF") != "" {
						os.WriteFile("/tmp/a."+name, a.Bytes(), 0o644)
						os.WriteFile("/tmp/b."+name, b.Bytes(), 0o644)
					}
				}
			}
			f.Close()
		}
	}
}

// completeSource marks a source as a whole cluster, so that cluster-wide
// checks run and report on objects they only saw through stubs.
type completeSource struct{ source.Source }

func (completeSource) Complete() bool { return true }
