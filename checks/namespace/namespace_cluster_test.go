package namespace

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/checktest"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// clusterChecks are this package's cluster-wide checks.
var clusterChecks = []string{
	"namespace-without-default-deny",
	"namespace-without-limit-range",
	"namespace-without-resource-quota",
}

// scanFiles runs checks over manifest files the way a scan does, with the
// inventory marked complete (a live cluster) or not (a manifest set).
func scanFiles(t *testing.T, checks []*check.Check, complete bool, files []string) *report.Report {
	t.Helper()
	e, err := engine.New(engine.Options{Checks: checks, Now: func() time.Time { return checktest.Now }})
	if err != nil {
		t.Fatal(err)
	}
	run := e.NewRun(engine.RunOptions{Complete: complete})
	l := manifest.Loader{}
	l.Load(context.Background(), files, run)
	rep := run.Report()
	for _, err := range rep.Errors {
		t.Errorf("fixture does not load: %s", err)
	}
	return rep
}

// The namespace coverage checks say something about what a cluster lacks,
// which a set of manifests cannot show: they must stay silent (and not be
// listed as run) unless the inventory is complete.
func TestCoverageChecksNeedCluster(t *testing.T) {
	var files []string
	for _, id := range clusterChecks {
		if c := byID(t, id); !c.NeedsCluster {
			t.Errorf("%s is not marked NeedsCluster", id)
		}
		files = append(files, checktest.Fixtures("testdata", id, "fail")...)
	}
	for _, complete := range []bool{false, true} {
		rep := scanFiles(t, Checks(), complete, files)
		fired := map[string]int{}
		for _, f := range rep.Findings {
			fired[f.Check.ID]++
		}
		ran := map[string]bool{}
		for _, c := range rep.Checks {
			ran[c.ID] = true
		}
		for _, id := range clusterChecks {
			switch {
			case !complete && (fired[id] > 0 || ran[id]):
				t.Errorf("Complete: false: %s ran (%d findings) on a manifest scan", id, fired[id])
			case complete && fired[id] == 0:
				t.Errorf("Complete: true: %s found nothing in its fail fixtures", id)
			}
		}
		// The per-object namespace checks run either way: the engine left
		// out only the cluster-wide ones.
		if fired["namespace-without-pss-enforce"] == 0 {
			t.Errorf("Complete: %v: namespace-without-pss-enforce did not run", complete)
		}
		if !complete && slices.ContainsFunc(rep.Checks, func(c *check.Check) bool { return c.NeedsCluster }) {
			t.Errorf("Complete: false: the report lists a NeedsCluster check as run")
		}
	}
}
