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
var clusterChecks = []*check.Check{NamespaceWithoutDefaultDeny, NamespaceWithoutLimitRange, NamespaceWithoutResourceQuota}

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
	for _, c := range clusterChecks {
		if !c.NeedsCluster {
			t.Errorf("%s is not marked NeedsCluster", c.ID)
		}
		files = append(files, checktest.Fixtures("testdata", c.ID, "fail")...)
	}
	for _, complete := range []bool{false, true} {
		rep := scanFiles(t, Checks(), complete, files)
		fired := map[*check.Check]int{}
		for _, f := range rep.Findings {
			fired[f.Check]++
		}
		for _, c := range clusterChecks {
			switch {
			case !complete && (fired[c] > 0 || slices.Contains(rep.Checks, c)):
				t.Errorf("Complete: false: %s ran (%d findings) on a manifest scan", c.ID, fired[c])
			case complete && fired[c] == 0:
				t.Errorf("Complete: true: %s found nothing in its fail fixtures", c.ID)
			}
		}
		// The per-object namespace checks run either way: the engine left
		// out only the cluster-wide ones.
		if fired[NamespaceWithoutPSSEnforce] == 0 {
			t.Errorf("Complete: %v: namespace-without-pss-enforce did not run", complete)
		}
		if !complete && slices.ContainsFunc(rep.Checks, func(c *check.Check) bool { return c.NeedsCluster }) {
			t.Errorf("Complete: false: the report lists a NeedsCluster check as run")
		}
	}
}
