package kustomize

import (
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// want is a location a field path should resolve to: the nth line of
// file holding text.
type want struct {
	path, file, text string
	nth              int
}

func checkLocations(t *testing.T, c *collector, kind, name string, cases []want) {
	t.Helper()
	o := find(t, c, kind, name)
	for _, tc := range cases {
		loc := o.Locate(tc.path)
		if line := lineOf(t, tc.file, tc.text, tc.nth); loc.File != tc.file || loc.Line != line {
			t.Errorf("%s: Locate(%q) = %s:%d, want %s:%d (%s)", o.Ref, tc.path, loc.File, loc.Line, tc.file, line, strings.TrimSpace(tc.text))
		}
	}
}

// TestStepLocations builds a kustomization with every kind of patch and
// the transformers that set fields: a finding on a field one of them set
// points at the patch line or the kustomization entry that set it.
func TestStepLocations(t *testing.T) {
	c := run(t, "testdata/steps/app")
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	dir := filepath.Join("testdata", "steps", "app")
	kfile := filepath.Join(dir, "kustomization.yaml")
	res := filepath.Join(dir, "deployment.yaml")
	ops := filepath.Join(dir, "ops.yaml")
	opsJSON := filepath.Join(dir, "ops.json")

	d := find(t, c, "Deployment", "shop-web")
	if d.Origin.File != res || d.Origin.Line != 1 {
		t.Errorf("origin %s:%d, want the resource file", d.Origin.File, d.Origin.Line)
	}
	app, helper, debug := containerIndex(t, d, "app"), containerIndex(t, d, "helper"), containerIndex(t, d, "debug")
	checkLocations(t, c, "Deployment", "shop-web", []want{
		// JSON 6902 operations from a file (patches: - path:), at their
		// value, or inside it.
		{"spec.template.spec.hostNetwork", ops, "value: true", 0},
		{app + ".securityContext.capabilities", ops, "value:", 1},
		{app + ".securityContext.capabilities.add[0]", ops, "add: [NET_ADMIN]", 0},
		// ... inline in the kustomization (patch: |-), by its line there.
		{"spec.template.spec.hostPID", kfile, "value: true", 0},
		// /containers/0 was the app container when the operation ran; a
		// later patch moved it.
		{app + ".securityContext.privileged", kfile, "value: true", 1},
		// ... from a JSON file (patchesJson6902, applied after patches:
		// the inline strategic-merge patch had put helper first, so
		// /containers/1 is app), and an item appended with -.
		{app + ".securityContext.allowPrivilegeEscalation", opsJSON, `"value": true`, 0},
		{helper + ".securityContext.allowPrivilegeEscalation", res, "securityContext:", 1},
		{debug, opsJSON, `"value": {`, 0},
		{debug + ".securityContext.privileged", opsJSON, `"privileged": true`, 0},
		// An inline strategic-merge patch (patch: |).
		{helper + ".securityContext.runAsUser", kfile, "runAsUser: 0", 0},
		{helper + ".securityContext", res, "securityContext:", 1},
		// Transformers: the kustomization entry that set the field.
		{"metadata.name", kfile, "namePrefix: shop-", 0},
		{"spec.replicas", kfile, "count: 5", 0},
		{app + ".image", kfile, `newTag: "1.28"`, 0},
		{helper + ".image", kfile, "newTag: latest", 0},
		{debug + ".image", kfile, "newTag: latest", 0}, // added by a patch, tagged by images
		{`metadata.labels.team`, kfile, "team: payments", 0},
		{`metadata.labels.tier`, kfile, "tier: frontend", 0},
		{"spec.selector.matchLabels.tier", kfile, "tier: frontend", 0},
		{"spec.template.metadata.labels.tier", kfile, "tier: frontend", 0},
		{`metadata.annotations.owner`, kfile, "owner:", 0},
		// What no step sets stays in the resource file; labels that the
		// labels entry does not put in templates are not its.
		{"spec.selector.matchLabels.app", res, "app: web", 0},
		{"spec.template.metadata.labels.team", res, "      labels:", 0},
		{app + ".securityContext.runAsNonRoot", res, "securityContext:", 0},
		{helper + ".securityContext.readOnlyRootFilesystem", res, "readOnlyRootFilesystem:", 0},
		{"metadata.namespace", res, "metadata:", 0},
	})
	// Kustomize keeps no namespace on objects of a kustomization without
	// one: they go where they are applied.
	if d.Namespace != "" || d.Meta.Namespace != "" {
		t.Errorf("namespace %q without a namespace field", d.Namespace)
	}
}

// TestStepChain builds an overlay of two bases: the steps of a base apply
// to its own objects only, and a later step (the overlay's) wins over an
// earlier one.
func TestStepChain(t *testing.T) {
	c := run(t, "testdata/steps/overlay")
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	if got, want := strings.Join(refs(c), " "), "ClusterRole/reader-batch Deployment/shop/shop-web Deployment/shop/worker-batch"; got != want {
		t.Errorf("objects = %s, want %s (the namespace field places namespaced objects only)", got, want)
	}
	root := filepath.Join("testdata", "steps")
	overlay := filepath.Join(root, "overlay", "kustomization.yaml")
	app := filepath.Join(root, "app", "kustomization.yaml")
	other := filepath.Join(root, "other", "kustomization.yaml")
	worker := filepath.Join(root, "other", "worker.yaml")

	d := find(t, c, "Deployment", "shop-web")
	checkLocations(t, c, "Deployment", "shop-web", []want{
		{"metadata.namespace", overlay, "namespace: shop", 0},
		{containerIndex(t, d, "app") + ".image", overlay, `newTag: "1.29"`, 0},
		{containerIndex(t, d, "helper") + ".image", app, "newTag: latest", 0},
		{"metadata.labels.team", app, "team: payments", 0},
		{"metadata.name", app, "namePrefix:", 0},
	})
	checkLocations(t, c, "Deployment", "worker-batch", []want{
		{"metadata.namespace", overlay, "namespace: shop", 0},
		{"metadata.name", other, "nameSuffix: -batch", 0},
		{"metadata.labels.team", other, "team: payments", 0},
		{"spec.template.metadata.labels.team", other, "team: payments", 0},
		// An inline patchesStrategicMerge entry.
		{"spec.template.spec.hostIPC", other, "hostIPC: true", 0},
		// The app's images entry does not apply to the other base.
		{"spec.template.spec.containers[0].image", worker, "image: busybox", 0},
	})
	checkLocations(t, c, "ClusterRole", "reader-batch", []want{
		{"metadata.namespace", filepath.Join(root, "other", "clusterrole.yaml"), "metadata:", 0},
	})
}

func TestInlinePos(t *testing.T) {
	dir := t.TempDir()
	kfile := write(t, dir, "kustomization.yaml", "patches:\n"+
		"  - patch: |-\n      a: 1\n\n      b:\n        c: 2\n    target: {kind: X}\n"+
		"  - patch: \"a: 1\\nb: 2\"\n"+
		"  - patch: |2\n       a: 1\n      b: 2\n")
	b := &builder{kusts: map[string]*yaml.Node{}, text: map[string][]string{}}
	root := b.kustomization(kfile)
	var got []textPos
	for _, it := range items(mapValue(root, "patches")) {
		k, v := mapEntry(it, "patch")
		got = append(got, b.inlinePos(kfile, v, k))
	}
	want := []textPos{
		{lines: 2, cols: 6},
		{fixedLine: 8, fixedCol: 5}, // quoted: the text's lines are not the file's
		{fixedLine: 9, fixedCol: 5}, // an indentation indicator the first line does not follow
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("patch %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if l, c := got[0].at(4, 3); l != 6 || c != 9 {
		t.Errorf("text 4:3 at %d:%d, want the file's 6:9", l, c)
	}
}

func TestSplitImage(t *testing.T) {
	for in, want := range map[string][3]string{
		"nginx":                          {"nginx", "", ""},
		"nginx:1.27":                     {"nginx", "1.27", ""},
		"localhost:5000/app":             {"localhost:5000/app", "", ""},
		"localhost:5000/app:v1@sha256:a": {"localhost:5000/app", "v1", "sha256:a"},
		"app@sha256:a":                   {"app", "", "sha256:a"},
	} {
		if n, tag, d := splitImage(in); [3]string{n, tag, d} != want {
			t.Errorf("splitImage(%q) = %q %q %q", in, n, tag, d)
		}
	}
}

// TestNamespaceField: the kustomize API applies a kustomization's
// namespace field to every namespaced object (over the resource file's
// own), never to cluster-scoped ones; without the field, objects keep the
// namespace of their resource file, or none.
func TestNamespaceField(t *testing.T) {
	dir := t.TempDir()
	res := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n---\n" +
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: other\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: a}]\n---\n" +
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n" +
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n"
	write(t, dir, "base/objects.yaml", res)
	write(t, dir, "base/kustomization.yaml", "resources:\n- objects.yaml\n")
	write(t, dir, "prod/kustomization.yaml", "namespace: shop\nresources:\n- ../base\n")
	for sub, want := range map[string]string{
		// (in kustomize's legacy order)
		"base": "Namespace/shop ServiceAccount/sa ClusterRole/reader Deployment/other/web",
		"prod": "Namespace/shop ServiceAccount/shop/sa ClusterRole/reader Deployment/shop/web",
	} {
		c := run(t, filepath.Join(dir, sub))
		if len(c.errors) > 0 {
			t.Fatalf("%s: errors %v", sub, c.errors)
		}
		var got []string
		for _, o := range c.objects {
			got = append(got, o.Ref.String())
			if o.Meta.Namespace != o.Namespace {
				t.Errorf("%s: %s has metadata.namespace %q", sub, o.Ref, o.Meta.Namespace)
			}
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: objects = %s, want %s", sub, strings.Join(got, " "), want)
		}
	}
}

// A component's steps run in the kustomization that includes it and are
// located in the component's file.
func TestComponentSteps(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n")
	write(t, dir, "base/kustomization.yaml", "resources:\n- deploy.yaml\n")
	comp := write(t, dir, "debug/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"+
		"images:\n- name: nginx\n  newTag: latest\npatches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: add\n      path: /spec/template/spec/hostPID\n      value: true\n")
	write(t, dir, "prod/kustomization.yaml", "resources:\n- ../base\ncomponents:\n- ../debug\n")
	c := run(t, filepath.Join(dir, "prod"))
	if len(c.errors) > 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	checkLocations(t, c, "Deployment", "web", []want{
		{"spec.template.spec.containers[0].image", comp, "newTag: latest", 0},
		{"spec.template.spec.hostPID", comp, "value: true", 0},
	})
}

func TestJSONOpLocate(t *testing.T) {
	ops := "- op: add\n  path: /metadata/annotations/example.com~1owner\n  value: me\n" + // 1-3
		"- op: add\n  path: /spec/containers/-\n  value: {name: b, image: x}\n" + // 4-6
		"- op: remove\n  path: /spec/hostPID\n" + // 7-8
		"- op: copy\n  from: /spec/a\n  path: /spec/b\n" // 9-11
	steps := parsePatch([]byte(ops), "p.yaml", textPos{}, &selector{}, false)
	if len(steps) != 3 {
		t.Fatalf("%d steps, want 3 (a removal writes nothing)", len(steps))
	}
	built := map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{"example.com/owner": "me"}},
		"spec": map[string]any{
			"containers": []any{map[string]any{"name": "a"}, map[string]any{"name": "b", "image": "x:1"}, map[string]any{"name": "c"}},
			"b":          map[string]any{"k": "v"},
		},
	}
	obj := &object{built: built}
	for _, tc := range []struct {
		path       string
		line, dept int
	}{
		{`metadata.annotations["example.com/owner"]`, 3, 3},
		{"spec.containers[1]", 6, 3},       // appended, found by name
		{"spec.containers[1].name", 6, 4},  // inside the value
		{"spec.containers[1].image", 0, 0}, // changed since
		{"spec.containers[2]", 0, 0},       // another item
		{"spec.b.k", 11, 3},                // copied: the operation's path
		{"spec", 11, 1},                    // descendants are written (the last op)
	} {
		var h hit
		for _, s := range steps {
			if x := s.locate(tc.path, obj); x.line > 0 && x.depth >= h.depth {
				h = x
			}
		}
		if h.line != tc.line || h.depth != tc.dept {
			t.Errorf("%s: line %d depth %d, want line %d depth %d", tc.path, h.line, h.depth, tc.line, tc.dept)
		}
	}
}
