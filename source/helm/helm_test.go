package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/source/manifest"
)

func render(t *testing.T, dir string, opts Options) *collector {
	t.Helper()
	var c collector
	if err := New(opts).Render(context.Background(), dir, &manifest.Decoder{}, &c); err != nil {
		t.Fatalf("Render(%s): %v", dir, err)
	}
	return &c
}

func find(t *testing.T, c *collector, kind, name string) *inventory.Object {
	t.Helper()
	for _, o := range c.objects {
		if o.Kind == kind && o.Name == name {
			return o
		}
	}
	var have []string
	for _, o := range c.objects {
		have = append(have, o.Ref.String())
	}
	t.Fatalf("no %s %q among %v (errors: %v)", kind, name, have, c.errors)
	return nil
}

// lineOf returns the 1-based line of the n-th (0-based) line of file
// containing s.
func lineOf(t *testing.T, file, s string, n int) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			if n == 0 {
				return i + 1
			}
			n--
		}
	}
	t.Fatalf("%s has no %q", file, s)
	return 0
}

func lineCount(t *testing.T, file string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return len(strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"))
}

func refs(c *collector) []string {
	var out []string
	for _, o := range c.objects {
		out = append(out, o.Ref.String())
	}
	sort.Strings(out)
	return out
}

func TestDetect(t *testing.T) {
	r := New(Options{})
	if !r.Detect("testdata/chart") {
		t.Error("testdata/chart not detected")
	}
	if r.Detect("testdata/chart/templates") || r.Detect("testdata/nope") {
		t.Error("a directory without Chart.yaml detected")
	}
	if r.Name() != "helm" {
		t.Errorf("Name() = %q", r.Name())
	}
}

func TestRenderDefaults(t *testing.T) {
	c := render(t, "testdata/chart", Options{})
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	got := strings.Join(refs(c), " ")
	if want := "Deployment/default/release-name-web Service/default/release-name-web"; got != want {
		t.Fatalf("objects = %s, want %s (NOTES.txt, partials and empty output are skipped)", got, want)
	}
	tpl := filepath.Join("testdata", "chart", "templates", "deployment.yaml")
	d := find(t, c, "Deployment", "release-name-web")
	if d.Origin.Source != "helm" || d.Origin.File != tpl || d.Origin.Line != 1 || d.Origin.Column != 1 {
		t.Errorf("origin = %+v, want helm %s:1:1", d.Origin, tpl)
	}
	dep, ok := d.Typed.(*appsv1.Deployment)
	if !ok {
		t.Fatalf("Typed = %T", d.Typed)
	}
	if *dep.Spec.Replicas != 1 || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Errorf("replicas %d, containers %d: chart defaults not used", *dep.Spec.Replicas, len(dep.Spec.Template.Spec.Containers))
	}
	if sc := dep.Spec.Template.Spec.Containers[0].SecurityContext; sc == nil || sc.Privileged == nil || *sc.Privileged {
		t.Errorf("container securityContext = %+v, want privileged false", sc)
	}

	cases := []struct {
		path, text string
		nth        int
	}{
		{"spec.template.spec.containers[0].securityContext.privileged", "privileged:", 0},
		{"spec.template.spec.containers[0].securityContext.runAsNonRoot", "runAsNonRoot:", 0},
		{"spec.template.spec.containers[0].securityContext", "securityContext:", 1},
		{"spec.template.spec.securityContext.runAsUser", "runAsUser:", 0},
		{"spec.template.spec.securityContext", "securityContext:", 0},
		{"spec.template.spec.containers[0].image", "image:", 0},
		{"spec.template.spec.containers[0].ports[0].containerPort", "containerPort:", 0},
		{"spec.template.spec.containers[0]", "- name: web", 0},
		{"spec.replicas", "replicas:", 0},
		{"metadata.name", "name: {{ include", 0},
		// Not in the rendered object, nor in the template: the deepest
		// literal ancestor.
		{"spec.template.spec.hostPID", "    spec:", 0},
		// Only written when a value is set: the template line is still
		// the one that writes it.
		{"spec.template.spec.hostNetwork", "hostNetwork: true", 0},
		{"spec.template.spec.containers[0].securityContext.capabilities", "securityContext:", 1},
		// Written by an include: the line of the include's key.
		{`metadata.labels["app.kubernetes.io/name"]`, "  labels:", 0},
		// No such container in the template.
		{"spec.template.spec.containers[3].image", "containers:", 0},
		{"", "apiVersion:", 0},
	}
	for _, tc := range cases {
		loc := d.Locate(tc.path)
		if want := lineOf(t, tpl, tc.text, tc.nth); loc.File != tpl || loc.Line != want {
			t.Errorf("Locate(%q) = %s:%d, want %s:%d", tc.path, loc.File, loc.Line, tpl, want)
		}
	}
	if loc := d.Locate("spec.template.spec.containers[0].securityContext.privileged"); loc.Column != 13 {
		t.Errorf("privileged column = %d, want 13", loc.Column)
	}

	svcTpl := filepath.Join("testdata", "chart", "templates", "service.yaml")
	s := find(t, c, "Service", "release-name-web")
	if s.Origin.File != svcTpl || s.Origin.Line != 2 {
		t.Errorf("service origin = %s:%d, want %s:2 (the apiVersion under the if)", s.Origin.File, s.Origin.Line, svcTpl)
	}
	if loc := s.Locate("spec.ports[0].targetPort"); loc.Line != lineOf(t, svcTpl, "targetPort:", 0) {
		t.Errorf("targetPort at line %d", loc.Line)
	}
}

func TestValuesFilesAndSet(t *testing.T) {
	c := render(t, "testdata/chart", Options{
		ValuesFiles: []string{"testdata/chart/values-prod.yaml"},
		Set:         []string{"replicaCount=5", "securityContext.runAsNonRoot=false"},
		SetString:   []string{"image.tag=2"},
		ReleaseName: "prod",
		Namespace:   "shop",
	})
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	got := strings.Join(refs(c), " ")
	if want := "ConfigMap/shop/one ConfigMap/shop/two Deployment/shop/prod-web Service/shop/prod-web"; got != want {
		t.Fatalf("objects = %s, want %s", got, want)
	}
	tpl := filepath.Join("testdata", "chart", "templates", "deployment.yaml")
	d := find(t, c, "Deployment", "prod-web")
	dep := d.Typed.(*appsv1.Deployment)
	if *dep.Spec.Replicas != 5 {
		t.Errorf("replicas = %d, want 5 (--set wins over the values file)", *dep.Spec.Replicas)
	}
	cs := dep.Spec.Template.Spec.Containers
	if len(cs) != 2 {
		t.Fatalf("%d containers, want the sidecar the values file enables", len(cs))
	}
	if cs[0].Image != "nginx:2" {
		t.Errorf("image = %q, want nginx:2 (--set-string)", cs[0].Image)
	}
	if sc := cs[0].SecurityContext; sc.Privileged == nil || !*sc.Privileged || sc.RunAsNonRoot == nil || *sc.RunAsNonRoot {
		t.Errorf("securityContext = %+v, want privileged from the values file and runAsNonRoot=false from --set", sc)
	}
	if sc := cs[1].SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || !*sc.AllowPrivilegeEscalation {
		t.Errorf("sidecar securityContext = %+v", sc)
	}
	if loc := d.Locate("spec.template.spec.containers[0].securityContext.privileged"); loc.Line != lineOf(t, tpl, "privileged:", 0) {
		t.Errorf("privileged at line %d", loc.Line)
	}
	// The sidecar's securityContext comes from toYaml: its key is the
	// deepest line the template shows.
	if loc := d.Locate("spec.template.spec.containers[1].securityContext.capabilities.add[0]"); loc.Line != lineOf(t, tpl, "securityContext:", 2) {
		t.Errorf("sidecar capabilities at line %d, want the sidecar's securityContext line", loc.Line)
	}
	if loc := d.Locate("spec.template.spec.containers[1].image"); loc.Line != lineOf(t, tpl, "image: {{ .Values.sidecar", 0) {
		t.Errorf("sidecar image at line %d", loc.Line)
	}

	cfgTpl := filepath.Join("testdata", "chart", "templates", "config.yaml")
	for _, name := range []string{"one", "two"} {
		cm := find(t, c, "ConfigMap", name)
		if cm.Origin.File != cfgTpl || cm.Origin.Line != 3 {
			t.Errorf("%s origin = %s:%d, want %s:3", name, cm.Origin.File, cm.Origin.Line, cfgTpl)
		}
		if _, ok := cm.Typed.(*corev1.ConfigMap); !ok {
			t.Errorf("%s Typed = %T", name, cm.Typed)
		}
		// The block scalar's content is not YAML structure.
		if loc := cm.Locate("data.privileged"); loc.Line != lineOf(t, cfgTpl, "config.yaml: |", 0)-1 {
			t.Errorf("data.privileged at line %d, want the data line", loc.Line)
		}
	}
}

func TestLinesStayInTemplate(t *testing.T) {
	c := render(t, "testdata/chart", Options{ValuesFiles: []string{"testdata/chart/values-prod.yaml"}})
	paths := []string{
		"", "kind", "metadata", "metadata.labels", "spec", "spec.template.spec.containers[0]",
		"spec.template.spec.containers[1].securityContext.capabilities.add[0]",
		"spec.template.spec.containers[9].env[0].name", "data", `data["config.yaml"]`,
		"spec.template.spec.volumes[0].hostPath.path", "status", "x.y.z[3].w",
	}
	for _, o := range c.objects {
		n := lineCount(t, o.Origin.File)
		if o.Origin.Line < 1 || o.Origin.Line > n {
			t.Errorf("%s origin line %d outside 1..%d", o.Ref, o.Origin.Line, n)
		}
		for _, p := range paths {
			if loc := o.Locate(p); loc.Line < 1 || loc.Line > n || loc.File != o.Origin.File {
				t.Errorf("%s Locate(%q) = %s:%d outside %s 1..%d", o.Ref, p, loc.File, loc.Line, o.Origin.File, n)
			}
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	cases := []struct {
		dir, file, text, msg string
		opts                 Options
	}{
		{"testdata/broken", "testdata/broken/templates/pod.yaml", "nope", `function "nope" not defined`, Options{}},
		{"testdata/failing", "testdata/failing/templates/pod.yaml", "required", "image is required", Options{}},
	}
	for _, tc := range cases {
		c := render(t, tc.dir, tc.opts)
		if len(c.objects) != 0 {
			t.Errorf("%s: %d objects rendered despite the error", tc.dir, len(c.objects))
		}
		if len(c.errors) != 1 {
			t.Fatalf("%s: errors = %v, want one", tc.dir, c.errors)
		}
		e := c.errors[0]
		want := lineOf(t, tc.file, tc.text, 0)
		if e.File != filepath.FromSlash(tc.file) || e.Line != want || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: error = %s:%d %q, want %s:%d containing %q", tc.dir, e.File, e.Line, e.Message, tc.file, want, tc.msg)
		}
	}
	// The required value, once given, renders.
	c := render(t, "testdata/failing", Options{Set: []string{"image=busybox"}})
	if len(c.errors) != 0 || len(c.objects) != 1 {
		t.Errorf("with the value set: objects %v, errors %v", refs(c), c.errors)
	}
}

func TestHelperErrorPointsAtHelper(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Chart.yaml", "apiVersion: v2\nname: h\nversion: 0.1.0\n")
	write(t, dir, "templates/_helpers.tpl", "{{- define \"h.img\" -}}\n\n{{ .Values.a.b.c }}\n{{- end -}}\n")
	write(t, dir, "templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ include \"h.img\" . }}\n")
	c := render(t, dir, Options{})
	if len(c.errors) != 1 {
		t.Fatalf("errors = %v", c.errors)
	}
	if e := c.errors[0]; e.File != filepath.Join(dir, "templates", "_helpers.tpl") || e.Line != 3 {
		t.Errorf("error = %s:%d %s, want the helper's line 3", e.File, e.Line, e.Message)
	}
}

func TestMissingDependency(t *testing.T) {
	c := render(t, "testdata/needsdep", Options{})
	if len(c.objects) != 0 || len(c.errors) != 1 {
		t.Fatalf("objects %v, errors %v", refs(c), c.errors)
	}
	e := c.errors[0]
	if e.File != filepath.Join("testdata", "needsdep", "Chart.yaml") || e.Line != 5 ||
		!strings.Contains(e.Message, `"needsdep"`) || !strings.Contains(e.Message, `"redis"`) || !strings.Contains(e.Message, "helm dependency build") {
		t.Errorf("error = %s:%d %q", e.File, e.Line, e.Message)
	}
}

func TestSubchartsAliasesAndArchives(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "umbrella")
	if err := os.CopyFS(dir, os.DirFS("testdata/umbrella")); err != nil {
		t.Fatal(err)
	}
	// A dependency vendored as an archive, as `helm dependency build`
	// leaves it.
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range map[string]string{
		"cache/Chart.yaml":         "apiVersion: v2\nname: cache\nversion: 1.0.0\n",
		"cache/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: cache\nspec:\n  ports:\n    - port: 6379\n",
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "charts/cache-1.0.0.tgz", buf.String())

	c := render(t, dir, Options{KubeVersion: "v1.29.3"})
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	got := strings.Join(refs(c), " ")
	if want := "Namespace/default Pod/default/backend Pod/default/worker Service/default/cache"; got != want {
		t.Fatalf("objects = %s, want %s", got, want)
	}
	if ns := find(t, c, "Namespace", "default"); ns.Meta.Labels["kube"] != "29" {
		t.Errorf("kube label = %q, want the minor of --kube-version", ns.Meta.Labels["kube"])
	}
	podTpl := filepath.Join(dir, "charts", "backend-chart", "templates", "pod.yaml")
	for name, privileged := range map[string]bool{"backend": false, "worker": true} {
		p := find(t, c, "Pod", name)
		pod := p.Typed.(*corev1.Pod)
		if got := *pod.Spec.Containers[0].SecurityContext.Privileged; got != privileged {
			t.Errorf("%s privileged = %v, want %v (values scoped by alias)", name, got, privileged)
		}
		if loc := p.Locate("spec.containers[0].securityContext.privileged"); loc.File != podTpl || loc.Line != 10 {
			t.Errorf("%s privileged at %s:%d, want %s:10", name, loc.File, loc.Line, podTpl)
		}
	}
	svc := find(t, c, "Service", "cache")
	if want := filepath.Join(dir, "charts", "cache-1.0.0.tgz", "templates", "svc.yaml"); svc.Origin.File != want {
		t.Errorf("archived template file = %s, want %s", svc.Origin.File, want)
	}
	if loc := svc.Locate("spec.ports[0].port"); loc.Line != 7 {
		t.Errorf("archived template port at line %d, want 7", loc.Line)
	}

	// The condition turns the archived dependency off.
	c = render(t, dir, Options{Set: []string{"cache.enabled=false"}})
	if got := strings.Join(refs(c), " "); strings.Contains(got, "Service/cache") {
		t.Errorf("disabled dependency rendered: %s", got)
	}
}

func TestSchema(t *testing.T) {
	c := render(t, "testdata/schema", Options{})
	if len(c.errors) != 0 || len(c.objects) != 1 {
		t.Fatalf("objects %v, errors %v (the remote $ref must not be fetched)", refs(c), c.errors)
	}
	var e collector
	err := New(Options{Set: []string{"replicas=0"}}).Render(context.Background(), "testdata/schema", &manifest.Decoder{}, &e)
	if err == nil || !strings.Contains(err.Error(), "schema") || len(e.objects) != 0 {
		t.Errorf("values violating the schema: err %v, objects %v", err, refs(&e))
	}
}

func TestBadValues(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "bad.yaml", "a: 1\nb: [\n")
	c := render(t, "testdata/chart", Options{ValuesFiles: []string{bad}})
	if len(c.objects) != 0 || len(c.errors) != 1 || c.errors[0].File != bad {
		t.Fatalf("objects %v, errors %v", refs(c), c.errors)
	}
	c = render(t, "testdata/chart", Options{ValuesFiles: []string{filepath.Join(dir, "missing.yaml")}})
	if len(c.errors) != 1 || !strings.Contains(c.errors[0].Message, "cannot read") {
		t.Errorf("errors %v", c.errors)
	}
	c = render(t, "testdata/chart", Options{Set: []string{"noequals"}})
	if len(c.errors) != 1 || c.errors[0].File != "--set" {
		t.Errorf("errors %v", c.errors)
	}
}

func TestNotAChart(t *testing.T) {
	var c collector
	if err := New(Options{}).Render(context.Background(), "testdata", &manifest.Decoder{}, &c); err == nil {
		t.Error("no error for a directory without Chart.yaml")
	}
}

func TestLibraryChartRendersNothing(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Chart.yaml", "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n")
	write(t, dir, "templates/_x.tpl", "{{- define \"lib.x\" -}}x{{- end -}}\n")
	c := render(t, dir, Options{})
	if len(c.objects)+len(c.errors) != 0 {
		t.Errorf("objects %v, errors %v", refs(c), c.errors)
	}
}

func TestRenderedYAMLErrorHasNoTemplateLine(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Chart.yaml", "apiVersion: v2\nname: y\nversion: 0.1.0\n")
	write(t, dir, "templates/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: [\n")
	c := render(t, dir, Options{})
	if len(c.objects) != 1 || len(c.errors) != 1 {
		t.Fatalf("objects %v, errors %v", refs(c), c.errors)
	}
	if e := c.errors[0]; e.File != filepath.Join(dir, "templates", "a.yaml") || e.Line != 0 || !strings.Contains(e.Message, "rendered output") {
		t.Errorf("error = %+v", e)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var c collector
	if err := New(Options{}).Render(ctx, "testdata/chart", &manifest.Decoder{}, &c); err == nil || len(c.objects) != 0 {
		t.Errorf("err %v, objects %v", err, refs(&c))
	}
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConcurrent(t *testing.T) {
	done := make(chan *collector)
	for i := range 8 {
		opts := Options{}
		if i%2 == 1 {
			opts.ValuesFiles = []string{"testdata/chart/values-prod.yaml"}
		}
		go func() {
			var c collector
			_ = New(opts).Render(context.Background(), "testdata/chart", &manifest.Decoder{}, &c)
			done <- &c
		}()
	}
	for range 8 {
		if c := <-done; len(c.errors) != 0 || len(c.objects) < 2 {
			t.Errorf("objects %v, errors %v", refs(c), c.errors)
		}
	}
}
