package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
)

// collect is an Emitter that keeps everything.
type collect struct {
	mu      sync.Mutex
	objects []*inventory.Object
	errors  []inventory.Error
}

func (c *collect) Object(o *inventory.Object) {
	c.mu.Lock()
	c.objects = append(c.objects, o)
	c.mu.Unlock()
}
func (c *collect) Error(e inventory.Error) {
	c.mu.Lock()
	c.errors = append(c.errors, e)
	c.mu.Unlock()
}

func decode(t testing.TB, src string, lim Limits) *collect {
	t.Helper()
	var c collect
	d := Decoder{Limits: lim}
	if err := d.Decode(strings.NewReader(src), "in.yaml", "file", &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

const pod = `apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  containers:
  - name: app
    image: app:1
    securityContext:
      privileged: true
`

func TestMultiDocumentLines(t *testing.T) {
	src := "# leading comment\n---\n" + fmt.Sprintf(pod, "a") + "---\n# only a comment\n---\n" + fmt.Sprintf(pod, "b") + "...\n"
	c := decode(t, src, DefaultLimits)
	if len(c.errors) != 0 {
		t.Fatalf("errors: %v", c.errors)
	}
	if len(c.objects) != 2 {
		t.Fatalf("got %d objects, want 2", len(c.objects))
	}
	// Pod a starts on line 3, pod b on line 16 (3 + 10 lines + "---" + comment + "---").
	for i, want := range []struct{ start, priv int }{{3, 12}, {16, 25}} {
		o := c.objects[i]
		if o.Origin.Line != want.start {
			t.Errorf("object %d starts on line %d, want %d", i, o.Origin.Line, want.start)
		}
		if l := o.Locate("spec.containers[0].securityContext.privileged").Line; l != want.priv {
			t.Errorf("object %d privileged on line %d, want %d", i, l, want.priv)
		}
		if _, ok := o.Typed.(*corev1.Pod); !ok {
			t.Errorf("object %d decoded as %T", i, o.Typed)
		}
	}
}

func TestLocateMissingFieldFallsBackToParent(t *testing.T) {
	c := decode(t, fmt.Sprintf(pod, "a"), DefaultLimits)
	o := c.objects[0]
	if l := o.Locate("spec.containers[0].securityContext.runAsNonRoot").Line; l != 9 {
		t.Errorf("missing field resolves to line %d, want 9 (securityContext)", l)
	}
	if l := o.Locate("spec.containers[3].image").Line; l != 6 {
		t.Errorf("missing list item resolves to line %d, want 6 (containers)", l)
	}
	if l := o.Locate(`metadata.annotations["a.b/c"]`).Line; l != 3 {
		t.Errorf("missing annotation resolves to line %d, want 3 (metadata)", l)
	}
}

func TestBOMCRLFAndComments(t *testing.T) {
	src := "\xEF\xBB\xBF" + strings.ReplaceAll("# c\n"+fmt.Sprintf(pod, "crlf"), "\n", "\r\n")
	c := decode(t, src, DefaultLimits)
	if len(c.errors) != 0 || len(c.objects) != 1 {
		t.Fatalf("objects=%d errors=%v", len(c.objects), c.errors)
	}
	if c.objects[0].Name != "crlf" {
		t.Errorf("name %q", c.objects[0].Name)
	}
	if l := c.objects[0].Locate("spec.containers[0].securityContext.privileged").Line; l != 11 {
		t.Errorf("privileged on line %d, want 11", l)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	src := `apiVersion: apps/v1
kind: Deployment
metadata: {name: anchors}
spec:
  template:
    spec:
      containers:
      - &base
        name: one
        image: app:1
        securityContext: &sc
          privileged: true
      - <<: *base
        name: two
        securityContext: *sc
`
	c := decode(t, src, DefaultLimits)
	if len(c.errors) != 0 {
		t.Fatal(c.errors)
	}
	d := c.objects[0].Typed.(*appsv1.Deployment)
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 2 || cs[1].Name != "two" || cs[1].Image != "app:1" || cs[1].SecurityContext == nil || !*cs[1].SecurityContext.Privileged {
		t.Fatalf("merge/alias not expanded: %+v", cs)
	}
	if l := c.objects[0].Locate("spec.template.spec.containers[1].image").Line; l != 10 {
		t.Errorf("merged field resolves to line %d, want 10 (where the anchor defines it)", l)
	}
}

func TestListsAndJSON(t *testing.T) {
	src := `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": "x"}},
    {"apiVersion": "apps/v1", "kind": "DeploymentList", "items": []},
    {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"a": "b"}}}
  ]
}`
	c := decode(t, src, DefaultLimits)
	if len(c.errors) != 0 {
		t.Fatal(c.errors)
	}
	// The nested DeploymentList is a List too: expanded (to nothing), as
	// kubectl flattens nested Lists, not taken for an object.
	if len(c.objects) != 2 {
		t.Fatalf("got %d objects, want 2", len(c.objects))
	}
	if c.objects[0].Origin.Line != 5 || c.objects[0].Namespace != "x" {
		t.Errorf("first item: line %d ns %q", c.objects[0].Origin.Line, c.objects[0].Namespace)
	}
	if w := c.objects[1]; w.Typed != nil || w.Kind != "Widget" || w.Labels()["a"] != "b" {
		t.Errorf("unknown kind: %+v", w)
	}
}

func TestBadDocumentsAreReportedAndSkipped(t *testing.T) {
	src := fmt.Sprintf(pod, "before") + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec: [unclosed\n---\n" +
		"just a string\n---\nkind: Pod\nmetadata: {name: noversion}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  replicas: lots\n---\n" +
		fmt.Sprintf(pod, "after")
	c := decode(t, src, DefaultLimits)
	if len(c.objects) != 2 || c.objects[0].Name != "before" || c.objects[1].Name != "after" {
		t.Fatalf("good documents around bad ones must load, got %d objects", len(c.objects))
	}
	wantLines := []int{16, 18, 20, 27}
	if len(c.errors) != len(wantLines) {
		t.Fatalf("got errors %v, want %d", c.errors, len(wantLines))
	}
	for i, e := range c.errors {
		if e.File != "in.yaml" || e.Line != wantLines[i] {
			t.Errorf("error %d at %s:%d, want in.yaml:%d (%s)", i, e.File, e.Line, wantLines[i], e.Message)
		}
	}
}

func TestAliasBombRefusedQuickly(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	start := time.Now()
	c := decode(t, b.String(), DefaultLimits)
	if len(c.objects) != 0 || len(c.errors) != 1 || !strings.Contains(c.errors[0].Message, "alias") {
		t.Fatalf("alias bomb not refused: objects=%d errors=%v", len(c.objects), c.errors)
	}
	// Not a timing assertion on the happy path: a generous bound that only
	// an unbounded expansion (a billion nodes) could exceed.
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("alias bomb took %v", d)
	}
}

func TestOversizedDocumentRefused(t *testing.T) {
	big := fmt.Sprintf(pod, "big") + "  x: \"" + strings.Repeat("a", 5000) + "\"\n"
	src := big + "---\n" + fmt.Sprintf(pod, "small")
	c := decode(t, src, Limits{MaxDocumentBytes: 1024, MaxNodes: 1000, MaxDepth: 50})
	if len(c.errors) != 1 || c.errors[0].Line != 1 || !strings.Contains(c.errors[0].Message, "limit") {
		t.Fatalf("errors %v", c.errors)
	}
	if len(c.objects) != 1 || c.objects[0].Name != "small" {
		t.Fatalf("the document after the oversized one must load")
	}
	// One enormous line with no newline is refused too, without holding it.
	c = decode(t, "data: "+strings.Repeat("b", 1<<20), Limits{MaxDocumentBytes: 4096, MaxNodes: 1000, MaxDepth: 50})
	if len(c.errors) != 1 || !strings.Contains(c.errors[0].Message, "limit") {
		t.Fatalf("long line: %v", c.errors)
	}
}

func TestDeepNestingRefused(t *testing.T) {
	src := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  x: " + strings.Repeat("[", 400) + strings.Repeat("]", 400) + "\n"
	c := decode(t, src, DefaultLimits)
	if len(c.errors) != 1 || len(c.objects) != 0 {
		t.Fatalf("deep nesting: objects=%d errors=%v", len(c.objects), c.errors)
	}
}

func TestDirectiveKeptWithItsDocument(t *testing.T) {
	src := "%YAML 1.1\n---\n" + fmt.Sprintf(pod, "directive")
	c := decode(t, src, DefaultLimits)
	if len(c.errors) != 0 || len(c.objects) != 1 || c.objects[0].Origin.Line != 3 {
		t.Fatalf("objects=%d errors=%v", len(c.objects), c.errors)
	}
}

func TestLoaderWalksDirectoriesAndKeepsGoing(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub", ".hidden"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(fmt.Sprintf(pod, "a")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "b.yml"), []byte(fmt.Sprintf(pod, "b")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "c.json"), []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}`), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "notes.txt"), []byte("not yaml"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", ".hidden", "d.yaml"), []byte(fmt.Sprintf(pod, "d")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("a: [\n"), 0o644))
	var c collect
	l := Loader{Stdin: strings.NewReader(fmt.Sprintf(pod, "stdin"))}
	l.Load(context.Background(), []string{dir, "-", filepath.Join(dir, "missing.yaml")}, &c)
	names := map[string]bool{}
	for _, o := range c.objects {
		names[o.Name] = true
	}
	for _, n := range []string{"a", "b", "c", "stdin"} {
		if !names[n] {
			t.Errorf("object %q not loaded", n)
		}
	}
	if names["d"] {
		t.Error("hidden directory was scanned")
	}
	if len(c.errors) != 2 {
		t.Fatalf("want errors for bad.yaml and missing.yaml, got %v", c.errors)
	}
}

func TestDuplicateKeysRejected(t *testing.T) {
	src := "apiVersion: v1\nkind: Pod\nmetadata: {name: dup}\nspec:\n  containers:\n  - name: a\n    securityContext:\n      privileged: false\n      privileged: true\n"
	c := decode(t, src, DefaultLimits)
	if len(c.objects) != 0 || len(c.errors) != 1 || c.errors[0].Line != 9 || !strings.Contains(c.errors[0].Message, "duplicate key") {
		t.Fatalf("objects=%d errors=%v", len(c.objects), c.errors)
	}
}

func TestCarriageReturnOnlyLineEndings(t *testing.T) {
	src := strings.ReplaceAll(fmt.Sprintf(pod, "a")+"---\n"+fmt.Sprintf(pod, "b"), "\n", "\r")
	c := decode(t, src, DefaultLimits)
	if len(c.errors) != 0 || len(c.objects) != 2 {
		t.Fatalf("CR-only file: objects=%d errors=%v (no document may be dropped)", len(c.objects), c.errors)
	}
	if l := c.objects[1].Locate("spec.containers[0].securityContext.privileged").Line; l != 21 {
		t.Errorf("second document's field on line %d, want 21", l)
	}
}

// Batched parsing must give exactly what parsing each document alone gives:
// the same objects, lines and errors, across "..." ends, comment-only
// documents and bad documents.
func TestBatchedParsingMatchesOneByOne(t *testing.T) {
	var b strings.Builder
	for i := range 60 {
		switch i % 6 {
		case 0:
			b.WriteString("---\n# only a comment\n")
		case 1:
			b.WriteString(fmt.Sprintf(pod, fmt.Sprintf("p%d", i)) + "...\n")
		case 2:
			b.WriteString("---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad\n")
		default:
			b.WriteString("---\n" + fmt.Sprintf(pod, fmt.Sprintf("p%d", i)))
		}
	}
	src := b.String()
	type seen struct {
		name       string
		start, fld int
	}
	collectAll := func(lim Limits, oneByOne bool) ([]seen, []inventory.Error) {
		var c collect
		d := Decoder{Limits: lim}
		if oneByOne {
			st := &stream{file: "in.yaml", source: "file", lim: lim, out: &c, aliases: newAliasBudget(lim.MaxTotalAliasNodes)}
			split(strings.NewReader(src), lim.MaxDocumentBytes, false, func(ch chunk) error { d.document(ch, st); return nil })
		} else if err := d.Decode(strings.NewReader(src), "in.yaml", "file", &c); err != nil {
			t.Fatal(err)
		}
		var out []seen
		for _, o := range c.objects {
			out = append(out, seen{o.Name, o.Origin.Line, o.Locate("spec.containers[0].securityContext.privileged").Line})
		}
		return out, c.errors
	}
	wantObjs, wantErrs := collectAll(DefaultLimits, true)
	gotObjs, gotErrs := collectAll(DefaultLimits, false)
	if fmt.Sprint(gotObjs) != fmt.Sprint(wantObjs) || fmt.Sprint(gotErrs) != fmt.Sprint(wantErrs) {
		t.Errorf("batched:\n%v\n%v\none by one:\n%v\n%v", gotObjs, gotErrs, wantObjs, wantErrs)
	}
	if len(wantObjs) != 40 || len(wantErrs) != 10 {
		t.Errorf("%d objects, %d errors", len(wantObjs), len(wantErrs))
	}
	// And a file without bad documents goes through the batch path whole.
	good := strings.ReplaceAll(src, "metadata: {name: bad\n", "metadata: {name: fixed}\n")
	var c collect
	d := Decoder{}
	if err := d.Decode(strings.NewReader(good), "in.yaml", "file", &c); err != nil || len(c.errors) != 0 || len(c.objects) != 50 {
		t.Errorf("good file: %d objects, errors %v", len(c.objects), c.errors)
	}
}

// Anchors belong to their document: an alias to an anchor of an earlier
// document is an error at the alias (kubectl refuses the file too), as a
// value, a merge source or a key, and also when the documents are parsed
// in one batch or the file's lines end in bare CRs. Anchors used within
// their own document still work, including one on the "---" line.
func TestAnchorsDoNotCrossDocuments(t *testing.T) {
	const first = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: &l {app: x}\n"
	for name, tc := range map[string]struct {
		second string
		line   int
	}{
		"value": {"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels: *l\n", 11},
		"merge": {"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels:\n    <<: *l\n", 12},
		"key":   {"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  *l : v\n", 12},
	} {
		for _, cr := range []bool{false, true} {
			src := first + tc.second
			if cr {
				src = strings.ReplaceAll(src, "\n", "\r")
			}
			c := decode(t, src, DefaultLimits)
			if len(c.objects) != 1 || len(c.errors) != 1 || !strings.Contains(c.errors[0].Message, "anchor of an earlier document") {
				t.Fatalf("%s (cr=%v): objects=%d errors=%v", name, cr, len(c.objects), c.errors)
			}
			if name != "key" && c.errors[0].Line != tc.line {
				t.Errorf("%s (cr=%v): error on line %d, want %d", name, cr, c.errors[0].Line, tc.line)
			}
		}
	}
	ok := "--- &m\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {app: x}}\ndata: {x: z}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels: &l {app: w}\n  annotations: *l\n"
	c := decode(t, ok, DefaultLimits)
	if len(c.errors) != 0 || len(c.objects) != 2 {
		t.Fatalf("anchors within their own document: objects=%d errors=%v", len(c.objects), c.errors)
	}
}
