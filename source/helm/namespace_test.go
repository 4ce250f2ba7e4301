package helm

import (
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/identity"
	"github.com/kubeharden/kubeharden/checks/namespace"
	"github.com/kubeharden/kubeharden/checks/network"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/manifest"
)

func TestReleaseNamespace(t *testing.T) {
	for _, tc := range []struct {
		ns, want string
	}{
		{"", "default"}, // the default release namespace
		{"default", "default"},
		{"shop", "shop"},
	} {
		c := render(t, "testdata/releasens", Options{Namespace: tc.ns, ReleaseName: "r"})
		if len(c.errors) > 0 {
			t.Fatalf("%q: errors %v", tc.ns, c.errors)
		}
		got := strings.Join(refs(c), " ")
		want := strings.NewReplacer("NS", tc.want).Replace(
			"ClusterRole/r-reader ClusterRoleBinding/r-reader ConfigMap/monitoring/dashboards Deployment/NS/web Deployment/NS/worker " +
				"Namespace/monitoring NetworkPolicy/NS/api ServiceAccount/NS/web ServiceMonitor/web")
		if got != want {
			t.Errorf("%q: objects = %s\nwant %s", tc.ns, got, want)
		}
		for _, o := range c.objects {
			if o.Meta.Namespace != o.Namespace {
				t.Errorf("%s: metadata.namespace %q", o.Ref, o.Meta.Namespace)
			}
		}
		// Locations are the template's: the template writes no namespace,
		// so metadata.namespace resolves to its metadata line.
		tpl := filepath.Join("testdata", "releasens", "templates", "deployment.yaml")
		d := find(t, c, "Deployment", "web")
		if loc := d.Locate("metadata.namespace"); loc.File != tpl || loc.Line != lineOf(t, tpl, "metadata:", 0) {
			t.Errorf("%q: metadata.namespace at %s:%d", tc.ns, loc.File, loc.Line)
		}
		if d.Origin.File != tpl || d.Origin.Line != 1 {
			t.Errorf("%q: origin %s:%d", tc.ns, d.Origin.File, d.Origin.Line)
		}
	}
}

// scanChart runs the cross-object and namespace checks on the releasens
// chart and returns its findings as "check Kind/ns/name file:line" (the
// line only for workload-in-default-namespace, whose field path is known
// here: the other checks' paths are theirs to choose).
func scanChart(t *testing.T, opts Options) []string {
	t.Helper()
	rep, err := scan.Run(context.Background(), scan.Plan{
		Catalogue: []*check.Check{namespace.WorkloadInDefaultNamespace, identity.ServiceAccountTokenAutomounted, network.PodNotIsolated},
		Sources: []source.Source{manifest.Source{
			Loader: &manifest.Loader{Renderers: []manifest.DirRenderer{New(opts)}},
			Paths:  []string{"testdata/releasens"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	var out []string
	_ = rep.EachFinding(func(f *report.Finding) error {
		loc := f.Loc()
		s := f.Check.ID + " " + f.Object.Ref.String() + " " + filepath.Base(loc.File)
		if f.Check == namespace.WorkloadInDefaultNamespace {
			s += ":" + strconv.Itoa(loc.Line)
		}
		out = append(out, s)
		return nil
	})
	sort.Strings(out)
	return out
}

func TestReleaseNamespaceFindings(t *testing.T) {
	tpl := filepath.Join("testdata", "releasens", "templates", "deployment.yaml")
	// The template writes no namespace: metadata.namespace is at its
	// metadata line.
	meta := strconv.Itoa(lineOf(t, tpl, "metadata:", 0))
	worker := filepath.Join("testdata", "releasens", "templates", "worker.yaml")
	ns := strconv.Itoa(lineOf(t, worker, "namespace:", 0))
	for _, tc := range []struct {
		ns   string
		want []string
	}{
		// The ServiceAccount is in the namespace of the worker that runs
		// as it (no false service-account-token-automounted), the web
		// Deployment is in the NetworkPolicy's (its pods, which the
		// policy does not select, are reported), and the workloads are in
		// the default namespace when the release is.
		{"shop", []string{
			"pod-not-isolated Deployment/shop/web deployment.yaml",
			"pod-not-isolated Deployment/shop/worker worker.yaml",
		}},
		{"default", []string{
			"pod-not-isolated Deployment/default/web deployment.yaml",
			"pod-not-isolated Deployment/default/worker worker.yaml",
			"workload-in-default-namespace Deployment/default/web deployment.yaml:" + meta,
			"workload-in-default-namespace Deployment/default/worker worker.yaml:" + ns,
		}},
	} {
		got := scanChart(t, Options{Namespace: tc.ns})
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("release namespace %q: findings\n%s\nwant\n%s", tc.ns, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}
