package rbac

import (
	"context"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/checktest"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// rbac-dangling-subject says an account is missing from the cluster, which
// a set of manifests cannot show: it must stay silent unless the inventory
// is complete, while the per-object RBAC checks run either way.
func TestDanglingSubjectNeedsCluster(t *testing.T) {
	dangling := RBACDanglingSubject
	files := checktest.Fixtures("testdata", dangling.ID, "fail")
	for _, complete := range []bool{false, true} {
		e, err := engine.New(engine.Options{Checks: Checks(), Now: func() time.Time { return checktest.Now }})
		if err != nil {
			t.Fatal(err)
		}
		run := e.NewRun(engine.RunOptions{Complete: complete})
		l := manifest.Loader{}
		l.Load(context.Background(), files, run)
		rep := run.Report()
		fired := map[*check.Check]int{}
		for _, f := range rep.Findings {
			fired[f.Check]++
		}
		if !complete && fired[dangling] > 0 {
			t.Errorf("Complete: false: %s fired %d times on a manifest scan", dangling.ID, fired[dangling])
		}
		if complete && fired[dangling] == 0 {
			t.Errorf("Complete: true: %s found nothing in its fail fixtures", dangling.ID)
		}
		if fired[ClusterAdminBinding] == 0 {
			t.Errorf("Complete: %v: cluster-admin-binding did not run", complete)
		}
	}
}
