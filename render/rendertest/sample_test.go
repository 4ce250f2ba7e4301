package rendertest

import (
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/report"
)

// The sample's checks must be as complete as real ones.
func TestChecksValid(t *testing.T) {
	if err := check.Validate(Checks()); err != nil {
		t.Fatal(err)
	}
}

// The sample covers what the renderers must handle.
func TestSampleCoverage(t *testing.T) {
	rep := Sample()
	s := rep.Summary
	if s.Objects != len(rep.Objects) || s.Findings != len(rep.Findings) || s.Suppressed != 2 || s.Errors != 1 || s.Notices != 3 {
		t.Errorf("summary %+v", s)
	}
	for _, level := range []string{"privileged", "baseline", "restricted"} {
		if s.PSSLevels[level] == 0 {
			t.Errorf("no object at PSS level %s", level)
		}
	}
	sevs := 0
	for _, n := range s.BySeverity {
		if n > 0 {
			sevs++
		}
	}
	if sevs < 3 {
		t.Errorf("findings of only %d severities", sevs)
	}
	objects := map[*report.Object]bool{}
	for _, o := range rep.Objects {
		objects[o] = true
	}
	var cluster, withFile bool
	for _, f := range slices.Concat(rep.Findings, rep.Suppressed) {
		if !objects[f.Object] {
			t.Errorf("finding on %s: object not in rep.Objects", f.Object.Ref)
		}
		if f.Object.Origin.Source == "cluster" && f.Loc().File == "" {
			cluster = true
		}
		if f.Loc().File != "" && f.Location.Line > 0 && f.Location.Column > 0 && f.Location.Path != "" {
			withFile = true
		}
	}
	if !cluster || !withFile {
		t.Errorf("want findings both on a cluster object and in a file (cluster %v, file %v)", cluster, withFile)
	}
	by := map[string]bool{}
	for _, f := range rep.Suppressed {
		by[f.Suppressed.By] = true
	}
	if !by["config"] || !by["annotation"] {
		t.Errorf("suppressions by %v, want config and annotation", by)
	}
}
