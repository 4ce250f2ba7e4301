package kustomize

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/source/manifest"
)

func run(t *testing.T, dir string) *collector {
	t.Helper()
	var c collector
	if err := New().Render(context.Background(), dir, &manifest.Decoder{}, &c); err != nil {
		t.Fatalf("Render(%s): %v", dir, err)
	}
	return &c
}

func find(t *testing.T, c *collector, kind, prefix string) *inventory.Object {
	t.Helper()
	for _, o := range c.objects {
		if o.Kind == kind && strings.HasPrefix(o.Name, prefix) {
			return o
		}
	}
	t.Fatalf("no %s %s* among %v (errors %v)", kind, prefix, refs(c), c.errors)
	return nil
}

func refs(c *collector) []string {
	var out []string
	for _, o := range c.objects {
		out = append(out, o.Ref.String())
	}
	return out
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

func TestDetect(t *testing.T) {
	r := New()
	if r.Name() != "kustomize" {
		t.Errorf("Name() = %q", r.Name())
	}
	dir := t.TempDir()
	if r.Detect(dir) {
		t.Error("empty directory detected")
	}
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		d := filepath.Join(dir, strings.ReplaceAll(name, ".", "_"))
		write(t, d, name, "resources: []\n")
		if !r.Detect(d) {
			t.Errorf("%s not detected", name)
		}
	}
}

func TestBase(t *testing.T) {
	c := run(t, "testdata/base")
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	want := "ServiceAccount/web ConfigMap/app-config-hf678c7m2b Service/web Deployment/web"
	if got := strings.Join(refs(c), " "); got != want {
		t.Fatalf("objects = %s, want %s", got, want)
	}
	dep := filepath.Join("testdata", "base", "deployment.yaml")
	d := find(t, c, "Deployment", "web")
	if d.Origin.Source != "kustomize" || d.Origin.File != dep || d.Origin.Line != 2 || d.Origin.Column != 1 {
		t.Errorf("origin = %+v, want kustomize %s:2:1", d.Origin, dep)
	}
	if got := d.Meta.Labels["app.kubernetes.io/part-of"]; got != "shop" {
		t.Errorf("label from the kustomization = %q", got)
	}
	if loc := d.Locate("spec.template.spec.containers[0].securityContext.privileged"); loc.File != dep || loc.Line != lineOf(t, dep, "privileged:", 0) || loc.Column != 13 {
		t.Errorf("privileged at %s:%d:%d", loc.File, loc.Line, loc.Column)
	}

	svcFile := filepath.Join("testdata", "base", "service.yaml")
	svc := find(t, c, "Service", "web")
	if svc.Origin.File != svcFile || svc.Origin.Line != lineOf(t, svcFile, "kind: Service", 1)-1 {
		t.Errorf("service origin = %s:%d (second document of its file)", svc.Origin.File, svc.Origin.Line)
	}
	if loc := svc.Locate("spec.ports[0].targetPort"); loc.Line != lineOf(t, svcFile, "targetPort:", 0) {
		t.Errorf("targetPort at line %d", loc.Line)
	}
	sa := find(t, c, "ServiceAccount", "web")
	if loc := sa.Locate("automountServiceAccountToken"); loc.File != svcFile || loc.Line != lineOf(t, svcFile, "automountServiceAccountToken", 0) {
		t.Errorf("automount at %s:%d", loc.File, loc.Line)
	}

	kfile := filepath.Join("testdata", "base", "kustomization.yaml")
	cm := find(t, c, "ConfigMap", "app-config-")
	if cm.Origin.File != kfile || cm.Origin.Line != lineOf(t, kfile, "- name: app-config", 0) {
		t.Errorf("generated ConfigMap origin = %s:%d, want its configMapGenerator entry", cm.Origin.File, cm.Origin.Line)
	}
	if loc := cm.Locate("data.LOG_LEVEL"); loc.File != kfile || loc.Line != cm.Origin.Line {
		t.Errorf("generated data at %s:%d", loc.File, loc.Line)
	}
}

func TestOverlay(t *testing.T) {
	c := run(t, "testdata/overlay")
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	want := "ServiceAccount/prod/prod-web ConfigMap/prod/prod-app-config-hf678c7m2b ConfigMap/prod/prod-overlay-config-b665tmfc75 Service/prod/prod-web Deployment/prod/prod-web"
	if got := strings.Join(refs(c), " "); got != want {
		t.Fatalf("objects = %s, want %s", got, want)
	}
	for _, o := range c.objects {
		for k := range o.Meta.Annotations {
			if strings.HasPrefix(k, "config.kubernetes.io/") || strings.HasPrefix(k, "internal.config.kubernetes.io/") || strings.HasPrefix(k, "alpha.config.kubernetes.io/") {
				t.Errorf("%s keeps the build annotation %s", o.Ref, k)
			}
		}
	}

	dep := filepath.Join("testdata", "base", "deployment.yaml")
	d := find(t, c, "Deployment", "prod-web")
	if d.Origin.File != dep || d.Origin.Line != 2 {
		t.Errorf("origin = %s:%d, want the base's file %s:2", d.Origin.File, d.Origin.Line, dep)
	}
	typed, ok := d.Typed.(*appsv1.Deployment)
	if !ok {
		t.Fatalf("Typed = %T", d.Typed)
	}
	spec := typed.Spec.Template.Spec
	if *typed.Spec.Replicas != 3 || !spec.HostNetwork || len(spec.Containers) != 2 {
		t.Fatalf("patch not applied: replicas %d, hostNetwork %v, %d containers", *typed.Spec.Replicas, spec.HostNetwork, len(spec.Containers))
	}
	app, side := -1, -1
	for i, ct := range spec.Containers {
		switch ct.Name {
		case "app":
			app = i
		case "sidecar":
			side = i
		}
	}
	if app < 0 || side < 0 || !*spec.Containers[app].SecurityContext.Privileged {
		t.Fatalf("containers = %+v", spec.Containers)
	}
	appPath := "spec.template.spec.containers[" + itoa(app) + "]"
	sidePath := "spec.template.spec.containers[" + itoa(side) + "]"
	patch := filepath.Join("testdata", "overlay", "patch.yaml")
	overlay := filepath.Join("testdata", "overlay", "kustomization.yaml")
	cases := []struct {
		path, file, text string
		nth              int
	}{
		// The container is found by name wherever the patch moved it; what
		// only the base sets points into the base.
		{appPath + ".securityContext.allowPrivilegeEscalation", dep, "allowPrivilegeEscalation:", 0},
		{appPath + ".image", dep, "image: nginx", 0},
		{appPath + ".volumeMounts[0].mountPath", dep, "mountPath:", 0},
		{appPath + ".envFrom[0].configMapRef.name", dep, "name: app-config", 0},
		{"spec.template.spec.volumes[0].emptyDir", dep, "emptyDir:", 0},
		// What the patch sets or adds points into the patch.
		{appPath + ".securityContext.privileged", patch, "privileged: true", 1},
		{appPath + ".securityContext.runAsUser", patch, "runAsUser: 0", 0},
		{sidePath + ".securityContext.privileged", patch, "privileged: true", 0},
		{sidePath, patch, "- name: sidecar", 0},
		{"spec.template.spec.hostNetwork", patch, "hostNetwork: true", 0},
		{"spec.replicas", patch, "replicas: 3", 0},
		// Set by a transformer: its kustomization entry.
		{"metadata.namespace", overlay, "namespace: prod", 0},
		{"metadata.name", overlay, "namePrefix: prod-", 0},
	}
	for _, tc := range cases {
		loc := d.Locate(tc.path)
		if want := lineOf(t, tc.file, tc.text, tc.nth); loc.File != tc.file || loc.Line != want {
			t.Errorf("Locate(%q) = %s:%d, want %s:%d", tc.path, loc.File, loc.Line, tc.file, want)
		}
	}

	base := filepath.Join("testdata", "base", "kustomization.yaml")
	if cm := find(t, c, "ConfigMap", "prod-app-config-"); cm.Origin.File != base || cm.Origin.Line != lineOf(t, base, "- name: app-config", 0) {
		t.Errorf("base generated ConfigMap at %s:%d", cm.Origin.File, cm.Origin.Line)
	}
	if cm := find(t, c, "ConfigMap", "prod-overlay-config-"); cm.Origin.File != overlay || cm.Origin.Line != lineOf(t, overlay, "- name: overlay-config", 0) {
		t.Errorf("overlay generated ConfigMap at %s:%d", cm.Origin.File, cm.Origin.Line)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestRemoteRefused(t *testing.T) {
	start := time.Now()
	c := run(t, "testdata/remote")
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v: something waited on the network", time.Since(start))
	}
	if len(c.objects) != 0 {
		t.Errorf("objects built: %v", refs(c))
	}
	kfile := filepath.Join("testdata", "remote", "kustomization.yaml")
	wantLines := map[int]string{2: "github.com/example/never", 3: "https://example.invalid/manifests", 6: "https://example.invalid/patch"}
	if len(c.errors) != len(wantLines) {
		t.Fatalf("errors = %v", c.errors)
	}
	for _, e := range c.errors {
		if e.File != kfile || !strings.Contains(e.Message, wantLines[e.Line]) || !strings.Contains(e.Message, "network") {
			t.Errorf("error %s:%d %q", e.File, e.Line, e.Message)
		}
	}
}

func TestRemoteInNestedBase(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base/kustomization.yaml", "resources:\n- git@github.com:example/repo.git//deploy\n")
	write(t, dir, "app/kustomization.yaml", "resources:\n- ../base\nconfigMapGenerator:\n- name: x\n  literals:\n  - URL=https://example.com\n  files:\n  - conf=https://example.invalid/conf\n")
	c := run(t, filepath.Join(dir, "app"))
	if len(c.objects) != 0 || len(c.errors) != 2 {
		t.Fatalf("objects %v, errors %v", refs(c), c.errors)
	}
	got := map[string]int{}
	for _, e := range c.errors {
		got[filepath.Base(filepath.Dir(e.File))] = e.Line
	}
	if got["base"] != 2 || got["app"] != 8 {
		t.Errorf("errors = %v (the literal URL is data, not a reference)", c.errors)
	}
}

func TestBuildError(t *testing.T) {
	c := run(t, "testdata/broken")
	if len(c.objects) != 0 || len(c.errors) != 1 {
		t.Fatalf("objects %v, errors %v", refs(c), c.errors)
	}
	if e := c.errors[0]; e.File != filepath.Join("testdata", "broken", "kustomization.yaml") || !strings.Contains(e.Message, "missing.yaml") {
		t.Errorf("error = %+v", e)
	}
}

func TestPluginsDisabled(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "generators:\n- gen.yaml\n")
	write(t, dir, "gen.yaml", "apiVersion: example.com/v1\nkind: MyGenerator\nmetadata:\n  name: g\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n")
	c := run(t, dir)
	if len(c.objects) != 0 || len(c.errors) != 1 {
		t.Fatalf("objects %v, errors %v", refs(c), c.errors)
	}
}

func TestUserOriginAnnotationsKept(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "resources:\n- cm.yaml\nbuildMetadata: [originAnnotations]\n")
	write(t, dir, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n")
	c := run(t, dir)
	if len(c.objects) != 1 {
		t.Fatalf("objects %v, errors %v", refs(c), c.errors)
	}
	o := c.objects[0]
	if o.Annotation("config.kubernetes.io/origin") == "" {
		t.Error("origin annotation the kustomization asked for was removed")
	}
	if loc := o.Locate("data.k"); loc.File != filepath.Join(dir, "cm.yaml") || loc.Line != 6 {
		t.Errorf("data.k at %s:%d", loc.File, loc.Line)
	}
}

func TestKustomizationFileUnchanged(t *testing.T) {
	before, err := os.ReadFile("testdata/overlay/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run(t, "testdata/overlay")
	after, _ := os.ReadFile("testdata/overlay/kustomization.yaml")
	if string(before) != string(after) {
		t.Error("the kustomization file on disk was changed")
	}
}

func TestTranslate(t *testing.T) {
	built := map[string]any{"spec": map[string]any{
		"containers": []any{
			map[string]any{"name": "new"},
			map[string]any{"name": "app", "ports": []any{map[string]any{"containerPort": 8080}}, "args": []any{"-b", "-a"}},
		},
		"tolerations": []any{map[string]any{"effect": "x"}},
	}}
	src := map[string]any{"spec": map[string]any{
		"containers": []any{
			map[string]any{"name": "app", "ports": []any{map[string]any{"containerPort": 9}, map[string]any{"containerPort": 8080}}, "args": []any{"-a"}},
		},
		"tolerations": []any{map[string]any{"effect": "y"}},
	}}
	cases := map[string]string{
		"spec.containers[1].ports[0].containerPort": "spec.containers[0].ports[1].containerPort",
		"spec.containers[1].args[1]":                "spec.containers[0].args[0]",
		"spec.containers[1].args[0]":                "spec.containers[0].args",
		"spec.containers[0].image":                  "spec.containers",
		"spec.containers[1].securityContext.x":      "spec.containers[0].securityContext",
		"spec.tolerations[0].effect":                "spec.tolerations[0].effect",
		`metadata.annotations["a.b/c"]`:             "metadata",
		"spec.containers[7]":                        "spec.containers",
	}
	for in, want := range cases {
		if got := translate(in, built, src); got != want {
			t.Errorf("translate(%q) = %q, want %q", in, got, want)
		}
	}
	src["metadata"] = map[string]any{"annotations": map[string]any{"a.b/c": "1"}}
	if got := translate(`metadata.annotations["a.b/c"]`, built, src); got != `metadata.annotations["a.b/c"]` {
		t.Errorf("quoted key: %q", got)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var c collector
	if err := New().Render(ctx, "testdata/base", &manifest.Decoder{}, &c); err == nil || len(c.objects) != 0 {
		t.Errorf("err %v, objects %v", err, refs(&c))
	}
}

func TestConcurrent(t *testing.T) {
	done := make(chan *collector)
	for i := range 8 {
		dir := "testdata/base"
		if i%2 == 1 {
			dir = "testdata/overlay"
		}
		go func() {
			var c collector
			_ = New().Render(context.Background(), dir, &manifest.Decoder{}, &c)
			done <- &c
		}()
	}
	for range 8 {
		if c := <-done; len(c.errors) != 0 || len(c.objects) < 4 {
			t.Errorf("objects %v, errors %v", refs(c), c.errors)
		}
	}
}

// safe is a collector for concurrent loading.
type safe struct {
	mu sync.Mutex
	collector
}

func (s *safe) Object(o *inventory.Object) { s.mu.Lock(); defer s.mu.Unlock(); s.collector.Object(o) }
func (s *safe) Error(e inventory.Error)    { s.mu.Lock(); defer s.mu.Unlock(); s.collector.Error(e) }

func TestThroughLoader(t *testing.T) {
	l := manifest.Loader{Renderers: []manifest.DirRenderer{New()}}
	var s safe
	l.Load(context.Background(), []string{"testdata"}, &s)
	files := map[string]int{}
	for _, o := range s.objects {
		if o.Origin.Source != "kustomize" {
			t.Errorf("%s source %q", o.Ref, o.Origin.Source)
		}
		files[filepath.ToSlash(o.Origin.File)]++
	}
	// The overlay builds the base, so the base is not built again on its
	// own (its objects are reported once); the files inside the roots are
	// not read again as plain manifests.
	if files["testdata/base/deployment.yaml"] != 1 || files["testdata/overlay/patch.yaml"] != 0 || files["testdata/remote/local.yaml"] != 0 {
		t.Errorf("objects by file = %v", files)
	}
	if len(s.errors) != 4 { // three remote references, one missing resource
		t.Errorf("errors = %v", s.errors)
	}
}

// fileLocator is what a locator that knows about patches offers.
type fileLocator interface {
	LocateFile(path string) (file string, line, column int)
}

func containerIndex(t *testing.T, d *inventory.Object, name string) string {
	t.Helper()
	for i, ct := range d.Typed.(*appsv1.Deployment).Spec.Template.Spec.Containers {
		if ct.Name == name {
			return "spec.template.spec.containers[" + itoa(i) + "]"
		}
	}
	t.Fatalf("no container %s", name)
	return ""
}

func TestPatchLocations(t *testing.T) {
	c := run(t, "testdata/patched")
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	base := filepath.Join("testdata", "base", "deployment.yaml")
	overlay := filepath.Join("testdata", "overlay", "patch.yaml")
	sidecar := filepath.Join("testdata", "patched", "debug-sidecar.yaml")
	host := filepath.Join("testdata", "patched", "host.yaml")

	d := find(t, c, "Deployment", "staging-prod-web")
	if d.Origin.File != base || d.Origin.Line != 2 {
		t.Errorf("origin = %s:%d, want the resource file %s:2", d.Origin.File, d.Origin.Line, base)
	}
	fl, ok := d.Locator.(fileLocator)
	if !ok {
		t.Fatalf("locator %T does not locate in files", d.Locator)
	}
	debug, side, app := containerIndex(t, d, "debug"), containerIndex(t, d, "sidecar"), containerIndex(t, d, "app")
	cases := []struct {
		path, file, text string
		nth              int
	}{
		// What a patch adds is in that patch, list items matched by name.
		{debug, sidecar, "- name: debug", 0},
		{debug + ".securityContext.privileged", sidecar, "privileged: true", 0},
		{debug + ".securityContext.capabilities.add[0]", sidecar, "add: [NET_ADMIN]", 0},
		{side + ".securityContext.privileged", overlay, "privileged: true", 0},
		{app + ".securityContext.runAsUser", overlay, "runAsUser: 0", 0},
		{"spec.template.spec.hostNetwork", overlay, "hostNetwork:", 0},
		{"spec.template.spec.hostPID", host, "hostPID:", 0}, // a patch with a target
		// A field missing everywhere: its deepest ancestor, in the file
		// that has most of the path.
		{debug + ".securityContext.allowPrivilegeEscalation", sidecar, "securityContext:", 0},
		{debug + ".resources.limits", sidecar, "- name: debug", 0},
		{app + ".resources.limits", base, "- name: app", 0},
		// A value a patch sets overrides the resource file's: the last
		// patch that sets it.
		{app + ".securityContext.privileged", overlay, "privileged: true", 1},
		{app + ".image", host, "image: nginx:latest", 0},
		{"spec.replicas", overlay, "replicas: 3", 0},
		// The rest, and the objects patches only add to, stay in the
		// resource file.
		{app + ".securityContext.allowPrivilegeEscalation", base, "allowPrivilegeEscalation:", 0},
		{app + ".volumeMounts[0].mountPath", base, "mountPath:", 0},
		{app, base, "- name: app", 0},
		{app + ".securityContext", base, "  securityContext:", 1},
		{"spec.template.spec", base, "    spec:", 0},
		{"spec.selector.matchLabels.app", base, "app: web", 0},
	}
	for _, tc := range cases {
		file, line, _ := fl.LocateFile(tc.path)
		if want := lineOf(t, tc.file, tc.text, tc.nth); file != tc.file || line != want {
			t.Errorf("LocateFile(%q) = %s:%d, want %s:%d", tc.path, file, line, tc.file, want)
		}
	}
	// The object's Locate follows its FileLocator: the sidecar is in the patch.
	sideFile, sideLine, _ := fl.LocateFile(debug + ".securityContext.privileged")
	if loc := d.Locate(debug + ".securityContext.privileged"); loc.File != sideFile || loc.Line != sideLine || sideFile == base {
		t.Errorf("Locate of the sidecar = %s:%d, want %s:%d in the patch", loc.File, loc.Line, sideFile, sideLine)
	}

	// A patch of another kind with the same name does not apply.
	unrelated := filepath.Join("testdata", "patched", "unrelated.yaml")
	svc := find(t, c, "Service", "staging-prod-web")
	if file, line, _ := svc.Locator.(fileLocator).LocateFile("spec.ports[0].targetPort"); file != unrelated || line != lineOf(t, unrelated, "targetPort:", 0) {
		t.Errorf("targetPort at %s:%d", file, line)
	}
	if file, _, _ := fl.LocateFile("spec.ports"); file == unrelated {
		t.Error("the Service patch was applied to the Deployment")
	}
	svcFile := filepath.Join("testdata", "base", "service.yaml")
	if file, line, _ := svc.Locator.(fileLocator).LocateFile("spec.selector.app"); file != svcFile || line != lineOf(t, svcFile, "app: web", 0) {
		t.Errorf("selector at %s:%d", file, line)
	}
}

func TestRenamedByPatch(t *testing.T) {
	c := run(t, "testdata/renamed")
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	res := filepath.Join("testdata", "renamed", "deployments.yaml")
	patch := filepath.Join("testdata", "renamed", "rename.yaml")
	if b := find(t, c, "Deployment", "beta"); b.Origin.File != res || b.Origin.Line != lineOf(t, res, "apiVersion:", 1) {
		t.Errorf("beta at %s:%d", b.Origin.File, b.Origin.Line)
	}
	// No resource file has a Deployment gamma: the patch that made it is
	// where it is described.
	g := find(t, c, "Deployment", "gamma")
	if g.Origin.File != patch || g.Origin.Line != 1 || g.Origin.Column != 1 {
		t.Errorf("origin = %+v, want %s:1:1", g.Origin, patch)
	}
	for path, text := range map[string]string{
		"spec.template.spec.containers[0].securityContext.privileged": "privileged: true",
		"spec.template.spec.containers[0].image":                      "- name: alpha",
		"spec.selector":                                               "spec:",
	} {
		if loc := g.Locate(path); loc.File != patch || loc.Line != lineOf(t, patch, text, 0) {
			t.Errorf("Locate(%q) = %s:%d", path, loc.File, loc.Line)
		}
	}
}

func TestNameCandidates(t *testing.T) {
	got := strings.Join(nameCandidates("staging-prod-web-v2", "web"), " ")
	for _, want := range []string{"staging-prod-web-v2", "web", "prod-web", "staging-prod-web", "web-v2", "prod-web-v2"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("candidates %q lack %q", got, want)
		}
	}
	if strings.Contains(" "+got+" ", " rod-web ") || strings.Contains(" "+got+" ", " eb ") {
		t.Errorf("candidates %q cut names apart", got)
	}
	if got := nameCandidates("web", "web"); len(got) != 1 {
		t.Errorf("candidates of an unchanged name = %v", got)
	}
}
