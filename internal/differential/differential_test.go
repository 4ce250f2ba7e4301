package differential_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/inventory/defaults"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/source/helm"
	"github.com/kubeharden/kubeharden/source/kustomize"
	"github.com/kubeharden/kubeharden/source/manifest"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// exceptions are objects of the corpus that are deliberately not valid
// Kubernetes objects, by "file" (relative to the repository root) or
// "file#Kind/name", with the reason. An object listed here is still
// decoded, but not sent to the API server.
var exceptions = map[string]string{
	// Windows pods, which the API server refuses to give Linux-only
	// settings: the checks of those settings must stay silent on them (or,
	// for host namespaces, still report them, as the Pod Security
	// Standards do on every OS).
	"checks/pod/testdata/apparmor-unconfined/pass/decoys.yaml#Pod/win":                         windowsDecoy,
	"checks/pod/testdata/dangerous-capabilities-added/pass/decoys.yaml#Pod/win":                windowsDecoy,
	"checks/pod/testdata/proc-mount-unmasked/pass/decoys.yaml#Pod/win":                         windowsDecoy,
	"checks/pod/testdata/selinux-custom-options/pass/decoys.yaml#Pod/win":                      windowsDecoy,
	"checks/pod/testdata/unsafe-sysctls/pass/decoys.yaml#Pod/win":                              windowsDecoy,
	"checks/pod/testdata/host-ipc/fail/kinds.yaml#Deployment/win":                              windowsDecoy,
	"checks/pod/testdata/host-pid/fail/kinds.yaml#Deployment/win":                              windowsDecoy,
	"checks/pod/testdata/apparmor-unconfined/pass/decoys.yaml#StatefulSet/contradicted":        "deliberately invalid: AppArmor annotations that contradict the field or name no container, which the API server refuses; kubeharden reads the field and ignores the stray annotation",
	"checks/rbac/testdata/rbac-dangling-subject/pass/existing.yaml#ClusterRoleBinding/invalid": "deliberately invalid: a ServiceAccount subject without a namespace, which the API server refuses",
	// Manifests of API versions the API server no longer serves: kubeharden
	// still reads them (kinds.Type.Aliases).
	"checks/network/testdata/ingress-nginx-snippet/fail/snippets.yaml#Ingress/legacy": legacyAPI,
	"checks/network/testdata/ingress-without-tls/fail/no-tls.yaml#Ingress/legacy":     legacyAPI,
	"checks/network/testdata/netpol-allow-all/fail/rules.yaml#NetworkPolicy/legacy":   legacyAPI,
	// Official fixtures that a v1.37 API server refuses at validation, which
	// runs before admission: procMount Unmasked needs hostUsers: false.
	"psa/baseline/v1.37/fail/procmount0.yaml":   unmaskedProcMount,
	"psa/baseline/v1.37/fail/procmount1.yaml":   unmaskedProcMount,
	"psa/restricted/v1.37/fail/procmount0.yaml": unmaskedProcMount,
	"psa/restricted/v1.37/fail/procmount1.yaml": unmaskedProcMount,
}

const (
	windowsDecoy      = "deliberately invalid: a Linux-only setting on a Windows pod, which the API server refuses"
	legacyAPI         = "extensions/v1beta1, no longer served"
	unmaskedProcMount = "procMount: Unmasked without hostUsers: false, which the API server refuses before admission"
)

// Namespaces the test creates.
const (
	// homeNS holds the objects that name no namespace.
	homeNS = "kh-diff"
	// enforceNS + level enforces, and warns at, that level.
	enforceNS = "kh-diff-enforce-"
)

// levels are the Pod Security Standards levels, from the most permissive.
var levels = []string{"privileged", "baseline", "restricted"}

func meets(level, want string) bool {
	return slices.Index(levels, level) >= slices.Index(levels, want)
}

// object is one object of the corpus.
type object struct {
	id   string // file#Kind/name, for messages and exceptions
	file string // relative to the repository root (or the module cache)
	// raw is the object as written, with metadata.namespace set to homeNS
	// when it is namespaced and names none: what is sent to the API server.
	raw map[string]any
	// manifest is the object as kubeharden decodes it from its file.
	manifest *inventory.Object
	// typ is the object's kind; nil for custom kinds (with a pod template
	// or not), which the test cluster does not serve.
	typ *kinds.Type
	// psa is "baseline/pass", "restricted/fail"... for the official Pod
	// Security Admission fixtures, and "" for the others.
	psa string
}

func (o *object) custom() bool {
	_, ok := o.manifest.Typed.(*inventory.TemplateWorkload)
	return ok
}

func (o *object) podBearing() bool { return o.custom() || (o.typ != nil && o.typ.PodBearing) }

func (o *object) exception() string {
	if r, ok := exceptions[o.id]; ok {
		return r
	}
	return exceptions[o.file]
}

// TestDifferential: see the package documentation.
func TestDifferential(t *testing.T) {
	start := time.Now()
	root := repoRoot(t)
	objs := corpus(t, root)
	if t.Failed() {
		return
	}
	c := testcluster.Shared(t)
	clusterUp := time.Now()

	cfg := c.AdminConfig()
	cfg.QPS, cfg.Burst = 5000, 5000 // the server is local: no client-side throttling
	cfg.WarningHandlerWithContext = warningCollector{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Checks: checks.All(), Now: func() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dyn: dyn, engine: eng}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	h.setup(ctx, objs)
	if t.Failed() {
		return
	}
	ready := time.Now()
	for key := range exceptions {
		if !slices.ContainsFunc(objs, func(o *object) bool { return o.id == key || o.file == key }) {
			t.Errorf("exception %q matches no object of the corpus: remove it", key)
		}
	}

	var pods, compared, admissions atomic.Int64
	parallel(32, objs, func(o *object) {
		if r := o.exception(); r != "" {
			t.Logf("%s: not sent to the API server: %s", o.id, r)
			return
		}
		if !o.podBearing() {
			h.validate(ctx, o)
			return
		}
		pods.Add(1)
		n, a := h.pod(ctx, o)
		compared.Add(int64(n))
		admissions.Add(int64(a))
	})
	t.Logf("%d objects, %d pod-bearing: %d returned by the API server and compared with their manifests, %d admission decisions compared with PSS levels; cluster start %v, setup %v, comparisons %v",
		len(objs), pods.Load(), compared.Load(), admissions.Load(),
		clusterUp.Sub(start).Round(time.Millisecond), ready.Sub(clusterUp).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
}

// parallel calls f for every object, n at a time.
func parallel[T any](n int, xs []T, f func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for x := range ch {
				f(x)
			}
		})
	}
	for _, x := range xs {
		ch <- x
	}
	close(ch)
	wg.Wait()
}

// ---------------------------------------------------------------- corpus

func repoRoot(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return dir
}

// corpus gathers every check fixture, every example (Helm charts and
// Kustomize roots rendered) and the official Pod Security Admission
// fixtures of the newest policy version.
func corpus(t *testing.T, root string) []*object {
	var objs []*object
	fixtures, err := filepath.Glob(filepath.Join(root, "checks", "*", "testdata", "*", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		if d := filepath.Base(filepath.Dir(f)); d == "pass" || d == "fail" {
			objs = append(objs, loadFile(t, f, rel(t, root, f), "")...)
		}
	}
	// Objects made to exercise every defaulting rule.
	objs = append(objs, loadFile(t, filepath.Join("testdata", "defaulting.yaml"), "internal/differential/testdata/defaulting.yaml", "")...)
	nFixtures := len(objs)

	var rendered []string
	err = filepath.WalkDir(filepath.Join(root, "examples"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			for _, marker := range []string{"Chart.yaml", "kustomization.yaml"} {
				if _, err := os.Stat(filepath.Join(p, marker)); err == nil {
					rendered = append(rendered, p)
					return filepath.SkipDir
				}
			}
			return nil
		}
		if ext := filepath.Ext(p); ext == ".yaml" || ext == ".yml" || ext == ".json" {
			objs = append(objs, loadFile(t, p, rel(t, root, p), "")...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range rendered {
		objs = append(objs, render(t, root, dir)...)
	}
	nExamples := len(objs) - nFixtures

	base, version := psaFixtures(t)
	for _, level := range []string{"baseline", "restricted"} {
		for _, verdict := range []string{"pass", "fail"} {
			files, _ := filepath.Glob(filepath.Join(base, level, version, verdict, "*.yaml"))
			if len(files) == 0 {
				t.Fatalf("no PSA fixtures in %s", filepath.Join(base, level, version, verdict))
			}
			for _, f := range files {
				objs = append(objs, loadFile(t, f, "psa/"+level+"/"+version+"/"+verdict+"/"+filepath.Base(f), level+"/"+verdict)...)
			}
		}
	}
	t.Logf("corpus: %d objects in check fixtures and testdata/defaulting.yaml, %d in examples, %d official PSA fixtures (%s)",
		nFixtures, nExamples, len(objs)-nFixtures-nExamples, filepath.Join(base, "*", version))
	return objs
}

// psaFixtures returns the directory of the official Pod Security Admission
// fixtures (<dir>/<level>/<version>/<pass|fail>) and their newest version
// folder, which must be the test cluster's minor version.
func psaFixtures(t *testing.T) (dir, version string) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/pod-security-admission").Output()
	if err != nil {
		t.Fatalf("locating k8s.io/pod-security-admission: %v", err)
	}
	dir = filepath.Join(strings.TrimSpace(string(out)), "test", "testdata")
	entries, err := os.ReadDir(filepath.Join(dir, "restricted"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^v1\.(\d+)$`)
	newest := -1
	for _, e := range entries {
		if m := re.FindStringSubmatch(e.Name()); m != nil {
			if n, _ := strconv.Atoi(m[1]); n > newest {
				newest = n
			}
		}
	}
	version = fmt.Sprintf("v1.%d", newest)
	if minor := testcluster.KubeVersion[:strings.LastIndexByte(testcluster.KubeVersion, '.')]; version != minor {
		t.Fatalf("the newest PSA fixture folder in %s is %s, but the test cluster is %s", dir, version, testcluster.KubeVersion)
	}
	return dir, version
}

// collector gathers what a manifest decoder or renderer emits.
type collector struct {
	mu      sync.Mutex
	objects []*inventory.Object
	errors  []inventory.Error
}

func (c *collector) Object(o *inventory.Object) {
	c.mu.Lock()
	c.objects = append(c.objects, o)
	c.mu.Unlock()
}
func (c *collector) Error(e inventory.Error) {
	c.mu.Lock()
	c.errors = append(c.errors, e)
	c.mu.Unlock()
}

// decode decodes data with kubeharden's manifest decoder.
func decode(data []byte, file string) ([]*inventory.Object, error) {
	var c collector
	var d manifest.Decoder
	if err := d.Decode(bytes.NewReader(data), file, inventory.SourceFile, &c); err != nil {
		return nil, err
	}
	if len(c.errors) > 0 {
		return nil, c.errors[0]
	}
	return c.objects, nil
}

func rel(t *testing.T, root, file string) string {
	r, err := filepath.Rel(root, file)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(r)
}

// loadFile decodes a file twice: with kubeharden's decoder (the manifest
// scan) and with sigs.k8s.io/yaml, as kubectl reads it (what is sent to
// the API server), and pairs the two in document order. rel names the
// file in messages and exceptions.
func loadFile(t *testing.T, file, rel, psa string) []*object {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := decode(data, rel)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return nil
	}
	var raws []map[string]any
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		raws = appendItems(raws, m)
	}
	if len(raws) != len(decoded) {
		t.Errorf("%s: kubeharden decodes %d objects, sigs.k8s.io/yaml %d", rel, len(decoded), len(raws))
		return nil
	}
	out := make([]*object, len(raws))
	for i, m := range raws {
		u := unstructured.Unstructured{Object: m}
		if o := decoded[i]; u.GetKind() != o.Kind || u.GetName() != o.Meta.Name {
			t.Errorf("%s: object %d is %s/%s for kubeharden, %s/%s for sigs.k8s.io/yaml", rel, i, o.Kind, o.Meta.Name, u.GetKind(), u.GetName())
			return nil
		}
		out[i] = newObject(t, rel, m, decoded[i], psa)
	}
	return out
}

// appendItems appends m, or the items of m if it is a List (nested Lists
// flattened, as kubectl and kubeharden do).
func appendItems(out []map[string]any, m map[string]any) []map[string]any {
	if m == nil {
		return out
	}
	kind, _ := m["kind"].(string)
	if items, ok := m["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		for _, it := range items {
			im, _ := it.(map[string]any)
			out = appendItems(out, im)
		}
		return out
	}
	return append(out, m)
}

// render renders a Helm chart or Kustomize root as kubeharden does; what
// is sent to the API server is the decoded object, marshalled.
func render(t *testing.T, root, dir string) []*object {
	rel := rel(t, root, dir)
	var r manifest.DirRenderer = kustomize.New()
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err == nil {
		r = helm.New(helm.Options{})
	}
	var c collector
	if err := r.Render(context.Background(), dir, &manifest.Decoder{}, &c); err != nil {
		t.Errorf("%s: %v", rel, err)
		return nil
	}
	for _, e := range c.errors {
		t.Errorf("%s: %s", rel, e)
	}
	var out []*object
	for _, o := range c.objects {
		data, err := json.Marshal(o.Typed)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, newObject(t, rel, m, o, ""))
	}
	return out
}

func newObject(t *testing.T, file string, raw map[string]any, o *inventory.Object, psa string) *object {
	obj := &object{id: file + "#" + o.Kind + "/" + o.Name, file: file, raw: raw, manifest: o, psa: psa}
	obj.typ = kinds.Of(o.Ref) // nil for kinds kubeharden does not read: only scanned
	if psa != "" {
		// The official fixtures' names are not all valid object names
		// (their own test names every pod "test").
		md, _ := raw["metadata"].(map[string]any)
		if name, ok := md["name"].(string); ok {
			md["name"] = strings.ReplaceAll(name, "_", "-")
		}
	}
	if o.Namespace == "" && (obj.custom() || (obj.typ != nil && obj.typ.Namespaced)) {
		// The API server puts it in the namespace of the request: both
		// scans see it there.
		o.Ref.Namespace, o.Meta.Namespace = homeNS, homeNS
		md, _ := raw["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			raw["metadata"] = md
		}
		md["namespace"] = homeNS
	}
	return obj
}

// ---------------------------------------------------------------- harness

type harness struct {
	t      *testing.T
	dyn    dynamic.Interface
	engine *engine.Engine
	seq    atomic.Int64 // for names of objects really created
}

// setup creates the namespaces the objects name, the enforcing
// namespaces, and in every one of them the service accounts the pods
// name (the ServiceAccount admission plugin refuses a pod whose service
// account does not exist).
func (h *harness) setup(ctx context.Context, objs []*object) {
	namespaces := map[string]map[string]string{homeNS: nil}
	for _, l := range levels[1:] {
		namespaces[enforceNS+l] = map[string]string{
			"pod-security.kubernetes.io/enforce":         l,
			"pod-security.kubernetes.io/enforce-version": "latest",
			"pod-security.kubernetes.io/warn":            l,
			"pod-security.kubernetes.io/warn-version":    "latest",
		}
	}
	accounts := map[string]bool{"default": true}
	for _, o := range objs {
		if ns := o.manifest.Namespace; ns != "" {
			if _, ok := namespaces[ns]; !ok {
				namespaces[ns] = nil
			}
		}
		if p := o.manifest.Pod(); p != nil {
			for _, sa := range []string{p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount} {
				if sa != "" {
					accounts[sa] = true
				}
			}
		}
	}
	nsNames := make([]string, 0, len(namespaces))
	for ns := range namespaces {
		nsNames = append(nsNames, ns)
	}
	parallel(16, nsNames, func(ns string) {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
		if l := namespaces[ns]; l != nil {
			u.SetLabels(l)
		}
		_, err := h.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx, u, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			h.t.Errorf("creating namespace %s: %v", ns, err)
			return
		}
		for sa := range accounts {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": sa, "namespace": ns}}}
			_, err := h.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				h.t.Errorf("creating service account %s/%s: %v", ns, sa, err)
			}
		}
	})
}

// resource returns the client for the object's kind and namespace.
func (h *harness) resource(typ *kinds.Type, ns string) dynamic.ResourceInterface {
	gvr := schema.GroupVersionResource{Group: typ.Group, Version: typ.Version, Resource: typ.Resource}
	if typ.Namespaced {
		return h.dyn.Resource(gvr).Namespace(ns)
	}
	return h.dyn.Resource(gvr)
}

var dryRun = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict}

// create creates a copy of raw (in namespace ns if not empty) with a
// server-side dry run and returns the object the API server would store.
// A Pod with ephemeral containers cannot be created with them: it is
// created for real without them, and they are added by a dry-run update of
// its ephemeralcontainers subresource, which returns the whole pod.
func (h *harness) create(ctx context.Context, typ *kinds.Type, raw map[string]any, ns string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(raw)}
	if ns != "" {
		u.SetNamespace(ns)
	}
	if u.GetAPIVersion() != typ.APIVersion() {
		return nil, fmt.Errorf("apiVersion %s is not served: use %s", u.GetAPIVersion(), typ.APIVersion())
	}
	eph, _, _ := unstructured.NestedSlice(u.Object, "spec", "ephemeralContainers")
	if typ != kinds.Pod || len(eph) == 0 {
		return h.resource(typ, u.GetNamespace()).Create(ctx, u, dryRun)
	}
	unstructured.RemoveNestedField(u.Object, "spec", "ephemeralContainers")
	if u.GetName() != "" {
		u.SetName(fmt.Sprintf("%s-%d", u.GetName(), h.seq.Add(1)))
	}
	created, err := h.resource(typ, u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict})
	if err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedSlice(created.Object, eph, "spec", "ephemeralContainers"); err != nil {
		return nil, err
	}
	return h.resource(typ, u.GetNamespace()).Update(ctx, created,
		metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict}, "ephemeralcontainers")
}

// validate checks that the API server accepts an object that carries no
// pod (the fixtures of RBAC, network and namespace checks...).
func (h *harness) validate(ctx context.Context, o *object) {
	if o.typ == nil || o.typ.Synthetic {
		return // the APIServer object is kubeharden's own
	}
	if _, err := h.create(ctx, o.typ, o.raw, ""); err != nil && !apierrors.IsAlreadyExists(err) {
		h.t.Errorf("%s: the API server rejects it: %v", o.id, err)
	}
}

// scanned is what a scan says of one object.
type scanned struct {
	findings []string // "check-id path", suppressed ones marked
	pss      *pss.Result
}

func (h *harness) scan(o *inventory.Object) scanned {
	run := h.engine.NewRun(engine.RunOptions{Complete: true})
	run.Object(o)
	rep := run.Report()
	var s scanned
	for _, f := range rep.Findings {
		s.findings = append(s.findings, f.Check.ID+" "+f.Location.Path)
	}
	for _, f := range rep.Suppressed {
		s.findings = append(s.findings, f.Check.ID+" "+f.Location.Path+" (suppressed)")
	}
	slices.Sort(s.findings)
	if len(rep.Objects) == 1 {
		s.pss = rep.Objects[0].PSS
	}
	return s
}

// pod runs the comparisons for one pod-bearing object and returns how
// many server objects and admission decisions it compared.
func (h *harness) pod(ctx context.Context, o *object) (compared, admissions int) {
	t := h.t
	want := h.scan(o.manifest)
	if want.pss == nil {
		t.Errorf("%s: the manifest scan gives no PSS level", o.id)
		return
	}
	level := want.pss.Level

	if o.typ != nil {
		stored, err := h.create(ctx, o.typ, o.raw, "")
		if err != nil {
			t.Errorf("%s: the API server rejects it: %v", o.id, err)
			return
		}
		data, err := json.Marshal(stored.Object)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode(data, "server:"+o.id)
		if err != nil || len(got) != 1 {
			t.Errorf("%s: the object the API server returns does not decode: %v (%d objects)", o.id, err, len(got))
			return
		}
		server := got[0]
		asStored := podJSON(t, server)
		defaults.Apply(server)
		if again := podJSON(t, server); !reflect.DeepEqual(asStored, again) {
			t.Errorf("%s: defaulting the object the API server returns changes it (defaulting must be idempotent):\n%s", o.id, strings.Join(diffJSON("", asStored, again), "\n"))
		}
		if diff := diffJSON("", podJSON(t, o.manifest), withoutAdmission(asStored, o.manifest)); len(diff) > 0 {
			t.Errorf("%s: the defaulted manifest and the object the API server returns differ (manifest, server):\n%s", o.id, strings.Join(diff, "\n"))
		}
		compare(t, o.id, want, h.scan(server))
		compared++
	}

	// Admission: PSA enforces on Pods only; on the templates of the
	// workload kinds it knows it only warns. A Pod is created in the
	// enforcing namespaces; a controller is created there too (it must be
	// admitted, with a warning exactly when its template falls short),
	// and its template, wrapped in a Pod as its controller would create
	// it, must be admitted exactly when the level is met.
	for _, l := range levels[1:] {
		ns := enforceNS + l
		expect := meets(level, l)
		if o.typ == kinds.Pod {
			admitted, err := h.admit(ctx, kinds.Pod, o.raw, ns)
			if err != nil {
				t.Errorf("%s: creating it in a namespace enforcing %s: %v", o.id, l, err)
				continue
			}
			admissions++
			if admitted != expect {
				t.Errorf("%s: kubeharden's level is %s (failing %v) but a namespace enforcing %s %s it", o.id, level, want.pss.Failing, l, admits(admitted))
			}
			if o.psa != "" && strings.HasPrefix(o.psa, l+"/") && admitted != strings.HasSuffix(o.psa, "/pass") {
				t.Errorf("%s: official %s fixture, but a namespace enforcing %s %s it", o.id, o.psa, l, admits(admitted))
			}
			continue
		}
		if o.typ != nil {
			w := &warnings{}
			_, err := h.create(context.WithValue(ctx, warningsKey{}, w), o.typ, o.raw, ns)
			if err != nil {
				t.Errorf("%s: creating it in a namespace enforcing %s: %v", o.id, l, err)
			} else if warned := w.violation(); warned == expect {
				t.Errorf("%s: kubeharden's level is %s (failing %v) but in a namespace enforcing %s the API server warns: %q", o.id, level, want.pss.Failing, l, w.list)
			} else {
				admissions++
			}
		}
		pod, err := wrap(o)
		if err != nil {
			t.Errorf("%s: %v", o.id, err)
			continue
		}
		admitted, err := h.admit(ctx, kinds.Pod, pod, ns)
		if err != nil {
			t.Errorf("%s: creating its pod in a namespace enforcing %s: %v", o.id, l, err)
			continue
		}
		admissions++
		if admitted != expect {
			t.Errorf("%s: kubeharden's level is %s (failing %v) but a namespace enforcing %s %s a pod of its template", o.id, level, want.pss.Failing, l, admits(admitted))
		}
	}
	return compared, admissions
}

func admits(ok bool) string {
	if ok {
		return "admits"
	}
	return "rejects"
}

// admit creates raw in namespace ns and reports whether Pod Security
// admission let it in; any other failure is an error.
func (h *harness) admit(ctx context.Context, typ *kinds.Type, raw map[string]any, ns string) (bool, error) {
	_, err := h.create(ctx, typ, raw, ns)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity"):
		return false, nil
	}
	return false, err
}

// wrap makes a Pod of a controller's pod template, as the controller would.
func wrap(o *object) (map[string]any, error) {
	path := []string{"spec", "template"}
	switch o.typ {
	case kinds.CronJob:
		path = []string{"spec", "jobTemplate", "spec", "template"}
	case kinds.PodTemplate:
		path = []string{"template"}
	}
	tmpl, found, err := unstructured.NestedMap(o.raw, path...)
	if err != nil || !found {
		return nil, fmt.Errorf("no pod template at %s: %v", strings.Join(path, "."), err)
	}
	md, _ := tmpl["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	delete(md, "name")
	md["generateName"] = "wrapped-"
	spec, _ := tmpl["spec"].(map[string]any)
	if o.typ == kinds.StatefulSet {
		// The StatefulSet controller gives each pod a volume per claim
		// template, bound to that pod's claim.
		claims, _, _ := unstructured.NestedSlice(o.raw, "spec", "volumeClaimTemplates")
		vols, _ := spec["volumes"].([]any)
		for _, c := range claims {
			name, _, _ := unstructured.NestedString(c.(map[string]any), "metadata", "name")
			vols = append(vols, map[string]any{"name": name, "persistentVolumeClaim": map[string]any{"claimName": name + "-0"}})
		}
		if len(vols) > 0 {
			spec["volumes"] = vols
		}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}, nil
}

// podJSON returns the pod of a pod-bearing object (a Pod, or a workload's
// template), its annotations and spec, as JSON values.
func podJSON(t *testing.T, o *inventory.Object) map[string]any {
	p := o.Pod()
	data, err := json.Marshal(map[string]any{"annotations": p.Meta.Annotations, "spec": p.Spec})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// withoutAdmission undoes, in the JSON of a Pod the API server returned,
// what admission plugins that depend on the cluster's state add to it and
// kubeharden does not (ServiceAccount, DefaultTolerationSeconds,
// Priority), when the manifest did not set it itself.
func withoutAdmission(pod map[string]any, manifest *inventory.Object) map[string]any {
	if manifest.Kind != "Pod" {
		return pod
	}
	pod = runtime.DeepCopyJSON(pod)
	spec := pod["spec"].(map[string]any)
	mspec := manifest.Pod().Spec
	if mspec.ServiceAccountName == "" {
		delete(spec, "serviceAccountName")
		delete(spec, "serviceAccount")
	}
	if mspec.Priority == nil {
		delete(spec, "priority")
	}
	if mspec.PreemptionPolicy == nil {
		delete(spec, "preemptionPolicy")
	}
	filter := func(list any, drop func(map[string]any) bool) []any {
		var out []any
		for _, x := range asList(list) {
			if m, ok := x.(map[string]any); !ok || !drop(m) {
				out = append(out, x)
			}
		}
		return out
	}
	token := func(m map[string]any) bool { return strings.HasPrefix(fmt.Sprint(m["name"]), "kube-api-access-") }
	setOrDelete(spec, "volumes", filter(spec["volumes"], token))
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, c := range asList(spec[list]) {
			c := c.(map[string]any)
			setOrDelete(c, "volumeMounts", filter(c["volumeMounts"], token))
		}
	}
	if len(mspec.Tolerations) == 0 {
		setOrDelete(spec, "tolerations", filter(spec["tolerations"], func(m map[string]any) bool {
			k := m["key"]
			return (k == "node.kubernetes.io/not-ready" || k == "node.kubernetes.io/unreachable") && m["tolerationSeconds"] == float64(300)
		}))
	}
	return pod
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func setOrDelete(m map[string]any, key string, list []any) {
	if len(list) == 0 {
		delete(m, key)
	} else {
		m[key] = list
	}
}

// diffJSON lists the paths at which two JSON values differ.
func diffJSON(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		var out []string
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			out = append(out, diffJSON(path+"."+k, am[k], bm[k])...)
		}
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		var out []string
		for i := range al {
			out = append(out, diffJSON(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i])...)
		}
		return out
	}
	if reflect.DeepEqual(a, b) || (len(al) == 0 && len(bl) == 0 && (aok || a == nil) && (bok || b == nil)) {
		return nil // an empty list is no list: the API server stores neither
	}
	sa, _ := json.Marshal(a)
	sb, _ := json.Marshal(b)
	return []string{fmt.Sprintf("  %s: %s, %s", path, sa, sb)}
}

// compare fails the test when the two scans differ.
func compare(t *testing.T, id string, manifest, server scanned) {
	var diff []string
	for _, f := range manifest.findings {
		if !slices.Contains(server.findings, f) {
			diff = append(diff, "  only in the manifest scan: "+f)
		}
	}
	for _, f := range server.findings {
		if !slices.Contains(manifest.findings, f) {
			diff = append(diff, "  only in the server object's scan: "+f)
		}
	}
	if len(diff) == 0 && !slices.Equal(manifest.findings, server.findings) {
		diff = append(diff, fmt.Sprintf("  findings: manifest %q, server object %q", manifest.findings, server.findings))
	}
	if manifest.pss.Level != server.pss.Level || !slices.Equal(manifest.pss.Failing, server.pss.Failing) {
		diff = append(diff, fmt.Sprintf("  PSS: manifest %s %v, server object %s %v", manifest.pss.Level, manifest.pss.Failing, server.pss.Level, server.pss.Failing))
	}
	if len(diff) > 0 {
		t.Errorf("%s: the object the API server would store scans differently:\n%s", id, strings.Join(diff, "\n"))
	}
}

// ---------------------------------------------------------------- warnings

type warningsKey struct{}

// warnings collects the warnings of the requests made with it in their
// context.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) violation() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.list {
		if strings.Contains(s, "would violate PodSecurity") {
			return true
		}
	}
	return false
}

type warningCollector struct{}

func (warningCollector) HandleWarningHeaderWithContext(ctx context.Context, _ int, _ string, text string) {
	if w, ok := ctx.Value(warningsKey{}).(*warnings); ok {
		w.mu.Lock()
		w.list = append(w.list, text)
		w.mu.Unlock()
	}
}
