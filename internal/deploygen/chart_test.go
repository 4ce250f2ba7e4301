package deploygen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/helm"
	"github.com/kubeharden/kubeharden/source/manifest"
)

const repoRoot = "../.."

var chartDir = filepath.Join(repoRoot, filepath.FromSlash(ChartDir))

// allEnabled are the values (as --set) that turn every component of the
// chart on. The audit webhook needs a way to authenticate the API server:
// a Secret named here, which the chart only refers to.
var allEnabled = []string{
	"admission.enabled=true",
	"auditWebhook.enabled=true",
	"auditWebhook.clientCA.existingSecret=kube-apiserver-client-ca",
	"cronScan.enabled=true",
	"nodeChecks.enabled=true",
	"runtime.enabled=true",
	"monitoring.prometheusRule.enabled=true",
	"monitoring.grafanaDashboard.enabled=true",
	"monitoring.serviceMonitor.enabled=true",
}

// securedMetrics are values (as --set) that make the scanner ask for a
// token on /metrics; the plain manifests have no counterpart.
var securedMetrics = []string{
	"scanner.metricsAuth=kubernetes",
	"scanner.metricsObjectDetail=true",
	"monitoring.serviceMonitor.enabled=true",
}

// TestDeployCurrentChart fails when a generated block or file of the chart
// differs from what the kind registry, the checks and the plain manifests
// give. Its name matches make deploy's -run TestDeployCurrent, so
// make deploy (-update) rewrites them.
func TestDeployCurrentChart(t *testing.T) {
	write := func(path string, data, want []byte) {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s is stale: the kind registry, the checks or deploy/ changed; regenerate with: make deploy", path)
		}
	}
	for _, b := range ChartBlocks() {
		path := filepath.Join(chartDir, filepath.FromSlash(b.File))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ReplaceBlock(data, b.Marker, b.Block())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		write(path, data, want)
	}
	for _, f := range ChartFiles() {
		plain, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(f.From)))
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.Make(plain)
		if err != nil {
			t.Fatalf("%s from %s: %v", f.File, f.From, err)
		}
		path := filepath.Join(chartDir, filepath.FromSlash(f.File))
		data, err := os.ReadFile(path)
		if err != nil && !*update {
			t.Fatal(err)
		}
		write(path, data, want)
	}
}

// The Helm SDK's linter (helm lint) finds nothing to say beyond
// information, with the default values and with every component on.
func TestChartLint(t *testing.T) {
	for name, set := range map[string][]string{"defaults": nil, "all components": allEnabled, "secured metrics": securedMetrics} {
		res := lint.RunAll(chartDir, setValues(t, set), "kubeharden")
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: %v", name, m)
			} else {
				t.Logf("%s: %v", name, m)
			}
		}
	}
}

// The chart passes kubeharden's own checks, as "kubeharden scan
// deploy/chart/kubeharden [--set ...]" renders and scans it: no finding,
// no error, and only the suppressions the plain manifests carry, each
// with its reason (kubeharden.io/ignore annotations).
func TestChartScanClean(t *testing.T) {
	// What the node and runtime agents need (see node-checks.yaml and
	// runtime.yaml), and the scan's list on secrets.
	nodeAgent := []string{"host-pid", "host-path-volume", "run-as-root", "run-as-root-group",
		"missing-liveness-probe", "missing-readiness-probe", "namespace-without-pss-enforce"}
	runtimeAgent := []string{"host-pid", "host-network", "dangerous-capabilities-added", "run-as-root",
		"run-as-root-group", "missing-liveness-probe", "missing-readiness-probe", "namespace-without-pss-enforce"}
	allowed := map[string][]string{
		"scanner-clusterrole.yaml":  {"rbac-secrets-access"},
		"cronscan-clusterrole.yaml": {"rbac-secrets-access"},
		"node-checks.yaml":          nodeAgent,
		"runtime.yaml":              runtimeAgent,
	}
	for _, tc := range []struct {
		name       string
		set        []string
		suppressed int
	}{
		// The watcher's ClusterRole.
		{"defaults", nil, 1},
		// Both ClusterRoles, and as many as in node-daemonset.yaml (32: a
		// host-path-volume per volume) and runtime-daemonset.yaml (9: two
		// capabilities, six other pod checks, the namespace), as
		// TestDeployManifestsScanClean counts them.
		{"all components", allEnabled, 2 + 32 + 9},
		{"secured metrics", securedMetrics, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := scanChart(t, tc.set)
			if rep.Summary.Objects < 10 {
				t.Errorf("only %d objects scanned", rep.Summary.Objects)
			}
			for _, e := range rep.Errors {
				t.Errorf("error: %s:%d: %s", e.File, e.Line, e.Message)
			}
			for _, f := range rep.Findings {
				l := f.Loc()
				t.Errorf("%s:%d: %s: %s", l.File, l.Line, f.Check.ID, f.Message)
			}
			for _, n := range rep.Notices {
				if n.Kind != "uncovered-kinds" {
					t.Errorf("notice %s: %s", n.Kind, n.Message)
				}
			}
			for _, s := range rep.Suppressed {
				file := filepath.Base(s.Loc().File)
				if !slices.Contains(allowed[file], s.Check.ID) || s.Suppressed == nil || s.Suppressed.By != "annotation" || s.Suppressed.Reason == "" {
					t.Errorf("unexpected suppression of %s in %s (%+v)", s.Check.ID, file, s.Suppressed)
				}
			}
			if len(rep.Suppressed) != tc.suppressed {
				t.Errorf("%d suppressed findings, want %d", len(rep.Suppressed), tc.suppressed)
			}
		})
	}
}

// With scanner.metricsAuth=kubernetes the scanner asks for tokens, may
// review them, probes and scrapes speak HTTPS, and a ClusterRole to bind
// scrapers to is there.
func TestChartSecuredMetrics(t *testing.T) {
	objs := renderChart(t, securedMetrics)
	byKey := map[string]map[string]any{}
	for _, o := range objs {
		byKey[key(o)] = o
	}
	text := func(k string) string {
		o, ok := byKey[k]
		if !ok {
			t.Fatalf("no %s among %d objects", k, len(objs))
		}
		b, _ := yaml.Marshal(o)
		return string(b)
	}
	dep := text("Deployment/kubeharden/kubeharden-watcher")
	for _, want := range []string{"--metrics-auth=kubernetes", "--metrics-object-detail", "scheme: HTTPS"} {
		if !strings.Contains(dep, want) {
			t.Errorf("the scanner's Deployment lacks %q:\n%s", want, dep)
		}
	}
	if role := text("ClusterRole//kubeharden-watcher-metrics-auth"); !strings.Contains(role, "tokenreviews") || !strings.Contains(role, "subjectaccessreviews") {
		t.Errorf("the review ClusterRole:\n%s", role)
	}
	if role := text("ClusterRole//kubeharden-metrics-reader"); !strings.Contains(role, "/metrics") {
		t.Errorf("the reader ClusterRole:\n%s", role)
	}
	if sm := text("ServiceMonitor/kubeharden/kubeharden-watcher"); !strings.Contains(sm, "scheme: https") || !strings.Contains(sm, "bearerTokenFile") {
		t.Errorf("the ServiceMonitor scrapes without a token:\n%s", sm)
	}
	// By default, none of it.
	for _, o := range renderChart(t, nil) {
		if k := key(o); strings.Contains(k, "metrics-auth") || strings.Contains(k, "metrics-reader") {
			t.Errorf("default values render %s", k)
		}
	}
}

// A tag-only image, values that would leave a webhook without a
// certificate or the audit webhook open to anyone, and values the chart
// does not know are refused when the chart renders, with a message that
// says what to set.
func TestChartRefusesUnsafeValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"image.digest=", "image.tag=v0.2.0"}, "image.digest is required: kubeharden's own checks (image-not-pinned) demand images pinned by digest, and ghcr.io/kubeharden/kubeharden:v0.2.0 is a tag-only image"},
		{[]string{"image.digest=v0.2.0"}, `image.digest "v0.2.0" is not a digest`},
		{[]string{"image.repository=ghcr.io/kubeharden/kubeharden@sha256:9c1f1e6d2b8a4c3e7f5d0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d"}, "holds a digest"},
		{[]string{"admission.enabled=true", "certManager.enabled=false"}, "admission needs a serving certificate"},
		{[]string{"admission.enabled=true", "admission.tls.existingSecret=tls"}, "needs admission.tls.caBundle"},
		// values.schema.json: enumerations, and no unknown key (a typo
		// would silently leave a component at its default).
		{[]string{"admission.enabled=true", "admission.failurePolicy=Maybe"}, "at '/admission/failurePolicy': value must be one of 'Fail', 'Ignore'"},
		{[]string{"scaner.enabled=false"}, "additional properties 'scaner' not allowed"},
		{[]string{"auditWebhook.enabled=true"}, "auditWebhook needs auditWebhook.clientCA.existingSecret or auditWebhook.tokens.existingSecret"},
		{[]string{"scanner.leaderElect=false"}, "scanner.replicas > 1 needs scanner.leaderElect=true"},
	} {
		rep := scanChart(t, tc.set)
		if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, tc.want) || rep.Summary.Objects != 0 {
			t.Errorf("--set %v: %d objects, errors %+v; want one error saying %q", tc.set, rep.Summary.Objects, rep.Errors, tc.want)
		}
	}
	// An image pinned by digest, with or without a tag, is accepted.
	for _, set := range [][]string{{"image.tag="}, {"image.repository=registry.example/kubeharden"}} {
		if rep := scanChart(t, set); len(rep.Errors) != 0 || len(rep.Findings) != 0 {
			t.Errorf("--set %v: errors %+v, %d findings", set, rep.Errors, len(rep.Findings))
		}
	}
}

// ignoredLabels are the labels of Helm's conventions the chart adds to
// every object's metadata (never to pod templates or selectors), which the
// plain manifests do not carry; ignoredAnnotations the pod template
// annotations that roll a workload when its configuration changes.
var (
	ignoredLabels      = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version"}
	ignoredAnnotations = []string{"checksum/config"}
)

// plainFiles are the plain manifests of deploy/ that the chart renders.
// Not compared here: audit-policy.yaml and audit-webhook-kubeconfig.yaml
// (configuration files of the API server, not cluster objects) and
// policyreport-crds.yaml (copied byte for byte into the chart's crds/,
// which TestDeployCurrentChart holds).
var plainFiles = []string{"kubeharden.yaml", "scanner.yaml", "webhook.yaml", "webhook-cert-manager.yaml",
	"node-daemonset.yaml", "runtime-daemonset.yaml", "scanner-monitoring.yaml"}

// The chart renders the objects of the plain manifests: with its default
// values, the namespace of deploy/kubeharden.yaml (with its quota, limit
// range and default-deny policy) and everything of deploy/scanner.yaml;
// with every component on, every object of plainFiles, and the audit
// webhook's objects and the ServiceMonitor, which no plain manifest has.
// Objects are compared decoded, by kind, namespace and name, after
// dropping ignoredLabels and ignoredAnnotations.
func TestChartMatchesPlainManifests(t *testing.T) {
	plain := map[string]map[string]any{} // by key
	byFile := map[string][]string{}
	for _, f := range plainFiles {
		data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range decodeAll(t, f, data) {
			k := key(obj)
			if _, dup := plain[k]; dup {
				t.Fatalf("%s: %s twice in deploy/", f, k)
			}
			plain[k] = obj
			byFile[f] = append(byFile[f], k)
		}
	}
	defaults := append(slices.Clone(byFile["scanner.yaml"]),
		"Namespace//kubeharden", "ResourceQuota/kubeharden/kubeharden", "LimitRange/kubeharden/kubeharden", "NetworkPolicy/kubeharden/default-deny")
	chartOnly := []string{
		"ServiceAccount/kubeharden/kubeharden-audit", "ConfigMap/kubeharden/kubeharden-audit", "Service/kubeharden/kubeharden-audit",
		"Deployment/kubeharden/kubeharden-audit", "NetworkPolicy/kubeharden/kubeharden-audit-ingress",
		"Certificate/kubeharden/kubeharden-audit-tls", "ServiceMonitor/kubeharden/kubeharden-watcher",
	}
	var all []string
	for _, f := range plainFiles {
		all = append(all, byFile[f]...)
	}
	for _, tc := range []struct {
		name      string
		set       []string
		want      []string // keys of plain objects
		chartOnly []string
	}{
		{"defaults", nil, defaults, nil},
		{"all components", allEnabled, all, chartOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rendered := map[string]map[string]any{}
			for _, obj := range renderChart(t, tc.set) {
				rendered[key(obj)] = obj
			}
			for _, k := range tc.want {
				got, ok := rendered[k]
				if !ok {
					t.Errorf("%s is in deploy/ but the chart does not render it", k)
					continue
				}
				delete(rendered, k)
				want := plain[k]
				normalize(got)
				normalize(want)
				var diffs []string
				diff("", got, want, &diffs)
				if len(diffs) > 0 {
					t.Errorf("%s differs from deploy/:\n%s", k, strings.Join(diffs, "\n"))
				}
			}
			for _, k := range tc.chartOnly {
				if _, ok := rendered[k]; !ok {
					t.Errorf("the chart does not render %s", k)
				}
				delete(rendered, k)
			}
			for k := range rendered {
				t.Errorf("the chart renders %s, which is not in deploy/", k)
			}
			t.Logf("%d objects equal to deploy/'s, %d of the chart only", len(tc.want), len(tc.chartOnly))
		})
	}
}

// The chart's RBAC is its generated blocks: the watcher's ClusterRole
// grants list and watch on exactly the kinds of the plain scan's list-only
// ClusterRole, and the webhook is registered for the same resources as
// deploy/webhook-cert-manager.yaml (TestChartMatchesPlainManifests
// compares the whole objects).
func TestChartRBACIsGenerated(t *testing.T) {
	for _, b := range ChartBlocks() {
		data, err := os.ReadFile(filepath.Join(chartDir, filepath.FromSlash(b.File)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(b.Block())) {
			t.Errorf("%s lacks its generated block", b.File)
		}
	}
	if w, r := WatchRules(), Rules(); strings.ReplaceAll(w, "verbs: [list, watch]", "verbs: [list]") != r {
		t.Errorf("the watcher's rules and the scan's differ beyond watch:\n%s\n%s", w, r)
	}
}

// scanChart scans the chart as "kubeharden scan DIR --set ..." does.
func scanChart(t *testing.T, set []string) *report.Report {
	t.Helper()
	l := &manifest.Loader{Renderers: []manifest.DirRenderer{helm.New(helm.Options{Set: set})}}
	rep, err := scan.Run(context.Background(), scan.Plan{Sources: []source.Source{manifest.Source{Loader: l, Paths: []string{chartDir}}}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// setValues parses --set style values.
func setValues(t *testing.T, set []string) map[string]any {
	t.Helper()
	vals := map[string]any{}
	for _, s := range set {
		if err := strvals.ParseInto(s, vals); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	return vals
}

// renderChart renders the chart as "helm template" does (release
// "kubeharden" in namespace "default") and returns its objects decoded.
// source/helm renders into inventory objects, which keep no raw form of
// the kinds kubeharden does not read (PodDisruptionBudgets, cert-manager's
// kinds), hence the SDK here.
func renderChart(t *testing.T, set []string) []map[string]any {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, setValues(t, set), common.ReleaseOptions{
		Name: "kubeharden", Namespace: "default", Revision: 1, IsInstall: true,
	}, common.DefaultCapabilities, false)
	if err != nil {
		t.Fatal(err)
	}
	var e engine.Engine
	files, err := e.RenderWithContext(context.Background(), ch, top)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []map[string]any
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(filepath.Base(name), "_") {
			continue
		}
		out = append(out, decodeAll(t, name, []byte(files[name]))...)
	}
	return out
}

func decodeAll(t *testing.T, name string, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, doc := range SplitDocuments(data) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, doc)
		}
		if obj != nil {
			out = append(out, obj)
		}
	}
	return out
}

func key(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	return fmt.Sprintf("%v/%s/%v", obj["kind"], ns, meta["name"])
}

// normalize drops ignoredLabels from an object's metadata and
// ignoredAnnotations from its pod template, and the maps left empty.
func normalize(obj map[string]any) {
	dropKeys(obj, "metadata", "labels", ignoredLabels)
	if spec, ok := obj["spec"].(map[string]any); ok {
		if tmpl, ok := spec["template"].(map[string]any); ok {
			dropKeys(tmpl, "metadata", "annotations", ignoredAnnotations)
		}
	}
}

func dropKeys(obj map[string]any, metaKey, mapKey string, keys []string) {
	meta, ok := obj[metaKey].(map[string]any)
	if !ok {
		return
	}
	m, ok := meta[mapKey].(map[string]any)
	if !ok {
		return
	}
	for _, k := range keys {
		delete(m, k)
	}
	if len(m) == 0 {
		delete(meta, mapKey)
	}
}

// diff appends the paths where the decoded objects a (the chart's) and b
// (deploy/'s) differ to out.
func diff(path string, a, b any, out *[]string) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			keys := map[string]bool{}
			for k := range av {
				keys[k] = true
			}
			for k := range bv {
				keys[k] = true
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				diff(path+"."+k, av[k], bv[k], out)
			}
			return
		}
	case []any:
		if bv, ok := b.([]any); ok && len(av) == len(bv) {
			for i := range av {
				diff(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i], out)
			}
			return
		}
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, fmt.Sprintf("  %s: chart %v, deploy/ %v", path, a, b))
	}
}
