package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/report"
)

// sink is an Emitter that also takes notices, as every source.Sink does.
type sink struct {
	collect
	nmu     sync.Mutex
	notices []report.Notice
}

func (s *sink) Notice(n report.Notice) {
	s.nmu.Lock()
	s.notices = append(s.notices, n)
	s.nmu.Unlock()
}

// noticesOf returns "kind file" for every notice, sorted.
func (s *sink) noticesOf() []string {
	var out []string
	for _, n := range s.notices {
		out = append(out, n.Kind+" "+filepath.ToSlash(n.File))
	}
	sort.Strings(out)
	return out
}

func (s *sink) names() []string {
	var out []string
	for _, o := range s.objects {
		out = append(out, o.Kind+"/"+o.Name)
	}
	sort.Strings(out)
	return out
}

// load runs a Loader over paths, failing the test (rather than hanging)
// if it does not return: the timeout is there to fail fast, not to time.
func load(t *testing.T, l *Loader, paths ...string) *sink {
	t.Helper()
	var s sink
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Load(context.Background(), paths, &s)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("Load(%v) did not return", paths)
	}
	return &s
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks not available: %v", err)
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// The fixture repository holds what users' repositories hold: tool
// configuration next to manifests, symlinks (to a directory outside, to a
// directory inside, back to an ancestor), ignored trees, nested Lists and
// YAML 1.1 values.
func TestFixtureRepository(t *testing.T) {
	for _, root := range []string{"repo", "repo-link"} {
		t.Run(root, func(t *testing.T) {
			dir := filepath.Join("testdata", root)
			s := load(t, &Loader{}, dir)
			if len(s.errors) != 0 {
				t.Errorf("errors: %v", s.errors)
			}
			want := []string{"ConfigMap/nested-config", "Deployment/nested", "Namespace/shop", "Pod/yaml11",
				"Service/vendored", "ServiceAccount/generated-but-kept", "ServiceAccount/top"}
			if got := s.names(); !equal(got, want) {
				t.Errorf("objects:\n got %v\nwant %v", got, want)
			}
			d := "testdata/" + root + "/"
			wantNotices := []string{
				"not-kubernetes " + d + "docker-compose.yml",
				"not-kubernetes " + d + "k8s/patch-ops.yaml",
				"not-kubernetes " + d + "package.json",
				"not-kubernetes " + d + "tsconfig.json",
				"repeated-path " + d + "again",
				"symlink-loop " + d + "k8s/loop",
			}
			if got := s.noticesOf(); !equal(got, wantNotices) {
				t.Errorf("notices:\n got %v\nwant %v", got, wantNotices)
			}
			for _, o := range s.objects {
				switch o.Name {
				case "vendored": // reached through the symlink "vendored"
					if filepath.ToSlash(o.Origin.File) != d+"vendored/service.yaml" {
						t.Errorf("vendored object from %s", o.Origin.File)
					}
				case "shop": // under its own path, not the symlink "again"
					if filepath.ToSlash(o.Origin.File) != d+"shared/namespace.yaml" {
						t.Errorf("namespace from %s", o.Origin.File)
					}
				case "yaml11":
					p := o.Typed.(*corev1.Pod)
					sc := p.Spec.Containers[0].SecurityContext
					if !p.Spec.HostPID || !*sc.Privileged || !*sc.AllowPrivilegeEscalation || *sc.ReadOnlyRootFilesystem ||
						*sc.RunAsNonRoot || *p.Spec.AutomountServiceAccountToken {
						t.Errorf("YAML 1.1 booleans not read as kubectl reads them: %+v %+v", p.Spec, sc)
					}
					if p.Annotations["example.com/enabled"] != "yes" || p.Spec.Containers[0].Env[0].Value != "on" {
						t.Errorf("quoted yes/on must stay strings: %v %v", p.Annotations, p.Spec.Containers[0].Env)
					}
					if l := o.Locate("spec.containers[0].securityContext.privileged").Line; l != 20 {
						t.Errorf("privileged located on line %d, want 20", l)
					}
				case "nested":
					if o.Origin.Line != 17 {
						t.Errorf("nested Deployment starts on line %d, want 17", o.Origin.Line)
					}
					if l := o.Locate("spec.template.spec.containers[0].securityContext.privileged").Line; l != 31 {
						t.Errorf("nested privileged on line %d, want 31", l)
					}
					if _, ok := o.Typed.(*appsv1.Deployment); !ok {
						t.Errorf("nested Deployment decoded as %T", o.Typed)
					}
				case "nested-config":
					if o.Origin.Line != 32 {
						t.Errorf("nested ConfigMap starts on line %d, want 32", o.Origin.Line)
					}
				}
			}
		})
	}
}

func TestSymlinks(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	outside := filepath.Join(dir, "outside")
	writeFile(t, filepath.Join(root, "a", "pod.yaml"), fmt.Sprintf(pod, "a"))
	writeFile(t, filepath.Join(outside, "pod.yaml"), fmt.Sprintf(pod, "outside"))
	symlink(t, "../a", filepath.Join(root, "a", "self"))          // a loop: a/self -> a
	symlink(t, "..", filepath.Join(root, "a", "up"))              // a loop: a/up -> root
	symlink(t, "/", filepath.Join(root, "slash"))                 // contains the root too
	symlink(t, "../outside", filepath.Join(root, "out1"))         // walked through the link
	symlink(t, "../outside", filepath.Join(root, "out2"))         // the same directory again
	symlink(t, "a", filepath.Join(root, "b"))                     // a directory inside, again
	symlink(t, "pod.yaml", filepath.Join(root, "a", "same.yaml")) // the same file again
	symlink(t, "itself", filepath.Join(root, "itself"))           // leads nowhere but itself
	symlink(t, "gone", filepath.Join(root, "notes"))              // dangling, not a manifest name

	s := load(t, &Loader{}, root)
	if len(s.errors) != 0 {
		t.Errorf("errors: %v", s.errors)
	}
	if got, want := s.names(), []string{"Pod/a", "Pod/outside"}; !equal(got, want) {
		t.Errorf("objects %v, want %v (each once)", got, want)
	}
	r := filepath.ToSlash(root) + "/"
	want := []string{
		"repeated-path " + r + "a/same.yaml",
		"repeated-path " + r + "b",
		"repeated-path " + r + "out2",
		"symlink-loop " + r + "a/self",
		"symlink-loop " + r + "a/up",
		"symlink-loop " + r + "itself",
		"symlink-loop " + r + "slash",
	}
	if got := s.noticesOf(); !equal(got, want) {
		t.Errorf("notices:\n got %v\nwant %v", got, want)
	}

	// A symlink to a directory named on the command line is walked.
	link := filepath.Join(dir, "link")
	symlink(t, "root", link)
	s = load(t, &Loader{}, link)
	if got := s.names(); !equal(got, []string{"Pod/a", "Pod/outside"}) {
		t.Errorf("symlink to a directory as a path: %v", got)
	}

	// A broken symlink is an input error with its path, named or met.
	broken := filepath.Join(dir, "broken.yaml")
	symlink(t, "missing.yaml", broken)
	s = load(t, &Loader{}, broken)
	if len(s.errors) != 1 || s.errors[0].File != broken || !strings.Contains(s.errors[0].Message, "broken symlink") ||
		!strings.Contains(s.errors[0].Message, "missing.yaml") {
		t.Errorf("named broken symlink: %v", s.errors)
	}
	in := filepath.Join(dir, "withbroken")
	writeFile(t, filepath.Join(in, "ok.yaml"), fmt.Sprintf(pod, "ok"))
	symlink(t, "missing.yaml", filepath.Join(in, "dangling.yml"))
	s = load(t, &Loader{}, in)
	if len(s.errors) != 1 || s.errors[0].File != filepath.Join(in, "dangling.yml") || len(s.objects) != 1 {
		t.Errorf("broken symlink in a directory: errors %v, %d objects", s.errors, len(s.objects))
	}
}

func TestSameFileLoadedOnce(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, filepath.Join(dir, "k8s", "pod.yaml"), fmt.Sprintf(pod, "p"))
	link := filepath.Join(dir, "link.yaml")
	symlink(t, f, link)
	s := load(t, &Loader{}, f, f, filepath.Join(dir, "k8s"), link, filepath.Join(dir, "k8s")+"/../k8s/pod.yaml")
	if len(s.objects) != 1 || len(s.errors) != 0 || len(s.notices) != 0 {
		t.Errorf("the same file named four ways: %d objects, errors %v, notices %v", len(s.objects), s.errors, s.notices)
	}
	// Named both ways, the file is loaded under the path without a symlink.
	s = load(t, &Loader{}, link, f)
	if len(s.objects) != 1 || s.objects[0].Origin.File != link {
		t.Errorf("named twice: %d objects", len(s.objects))
	}
}

func TestNotKubernetesDocumentsSkipped(t *testing.T) {
	src := "services:\n  web: {image: x}\n---\n" + fmt.Sprintf(pod, "kept") +
		"---\n- op: add\n  path: /x\n---\njust a string\n---\n[1, 2]\n---\nkey: [unclosed\n" +
		"---\napiVersion: v1\nkind: Pod\nspec: [unclosed\n" + // claims to be Kubernetes: an error
		"---\napiversion: v1\nKind: Pod\nmetadata: {name: typo}\n" + // misspelt keys: an error, not a skip
		"---\n<<: {kind: Secret}\napiVersion: v1\nmetadata: {name: merged}\n"
	var s sink
	d := Decoder{}
	if err := d.Decode(strings.NewReader(src), "mixed.yaml", "file", &s); err != nil {
		t.Fatal(err)
	}
	if got := s.names(); !equal(got, []string{"Pod/kept", "Secret/merged"}) {
		t.Errorf("objects %v", got)
	}
	if len(s.notices) != 1 || s.notices[0].Kind != report.NoticeNotKubernetes || s.notices[0].Line != 1 ||
		!strings.HasPrefix(s.notices[0].Message, "5 documents are not Kubernetes objects") || !strings.Contains(s.notices[0].Message, "1 of them not valid YAML") {
		t.Errorf("notices %+v", s.notices)
	}
	if len(s.errors) != 2 || s.errors[0].Line != 26 || s.errors[1].Line != 28 || !strings.Contains(s.errors[1].Message, `"apiversion"`) {
		t.Errorf("errors %v, want the unclosed Pod (line 26) and the misspelt keys (line 28)", s.errors)
	}

	// An emitter that cannot take notices keeps getting errors: nothing is
	// ever dropped without a word.
	c := decode(t, "services: {web: {image: x}}\n", DefaultLimits)
	if len(c.errors) != 1 {
		t.Errorf("without notices: %v", c.errors)
	}
}

func TestEmptyInputs(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(empty, "README.md"), "# nothing\n")
	writeFile(t, filepath.Join(empty, ".hidden.yaml"), fmt.Sprintf(pod, "hidden"))
	compose := writeFile(t, filepath.Join(dir, "compose", "docker-compose.yml"), "services: {}\n")
	good := writeFile(t, filepath.Join(dir, "good", "pod.yaml"), fmt.Sprintf(pod, "good"))
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), "apiVersion: v1\nkind: Pod\nspec: [\n")
	emptyList := writeFile(t, filepath.Join(dir, "list.yaml"), "apiVersion: v1\nkind: List\nitems: []\n")
	blank := writeFile(t, filepath.Join(dir, "blank.yaml"), "# just a comment\n---\n")

	s := load(t, &Loader{Stdin: strings.NewReader("")}, empty, filepath.Dir(compose), good, bad, emptyList, blank, "-", filepath.Join(dir, "missing"))
	got := map[string]string{}
	for _, n := range s.notices {
		if n.Kind == report.NoticeEmptyInput {
			got[n.File] = n.Message
		}
	}
	want := []string{empty, filepath.Dir(compose), blank, "<stdin>"}
	if len(got) != len(want) {
		t.Errorf("empty-input notices %v, want %v", got, want)
	}
	for _, w := range want {
		if got[w] == "" {
			t.Errorf("no empty-input notice for %s (%v)", w, got)
		}
	}
	if !strings.Contains(got[empty], "no .yaml, .yml or .json file") {
		t.Errorf("empty directory: %q", got[empty])
	}
}

func TestIgnoreFilesAndExclude(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.yaml", "b.yaml", "sub/c.yaml", "sub/d.yaml", "sub/deep/e.yaml", "gen/f.yaml", "other/gen/g.yaml", "x/y/h.yaml"} {
		writeFile(t, filepath.Join(dir, f), fmt.Sprintf(pod, strings.TrimSuffix(filepath.Base(f), ".yaml")))
	}
	writeFile(t, filepath.Join(dir, IgnoreFile), "# root rules\n/gen/\nb.yaml\nd.yaml\nx/**/h.yaml\n")
	writeFile(t, filepath.Join(dir, "sub", IgnoreFile), "!d.yaml\ndeep\n")
	s := load(t, &Loader{}, dir)
	if got, want := s.names(), []string{"Pod/a", "Pod/c", "Pod/d", "Pod/g"}; !equal(got, want) {
		t.Errorf("with .kubehardenignore files: %v, want %v", got, want)
	}
	// --exclude patterns are relative to the named directory and win.
	s = load(t, &Loader{Exclude: []string{"sub/d.yaml", "*/gen"}}, dir)
	if got, want := s.names(), []string{"Pod/a", "Pod/c"}; !equal(got, want) {
		t.Errorf("with --exclude: %v, want %v", got, want)
	}
	// A file named explicitly is read whatever the patterns say.
	s = load(t, &Loader{Exclude: []string{"*.yaml"}}, filepath.Join(dir, "b.yaml"))
	if len(s.objects) != 1 {
		t.Errorf("named file excluded")
	}
}

func TestIgnorePatterns(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		dir, want     bool
	}{
		{"*.yaml", "a.yaml", false, true},
		{"*.yaml", "x/y/a.yaml", false, true},
		{"*.yaml", "a.yml", false, false},
		{"/a.yaml", "a.yaml", false, true},
		{"/a.yaml", "x/a.yaml", false, false},
		{"x/a.yaml", "x/a.yaml", false, true},
		{"x/a.yaml", "y/x/a.yaml", false, false}, // a slash in the middle anchors
		{"build/", "build", true, true},
		{"build/", "build", false, false},
		{"build/", "src/build", true, true},
		{"**/tmp", "a/b/tmp", true, true},
		{"**/tmp", "tmp", false, true},
		{"a/**/b", "a/b", true, true},
		{"a/**/b", "a/x/y/b", true, true},
		{"a/**", "a/x/y", false, true},
		{"a/**", "a", true, false},
		{"a*b", "a/b", false, false}, // * does not match /
		{"?.yaml", "a.yaml", false, true},
		{"?.yaml", "ab.yaml", false, false},
		{"[ab].yaml", "b.yaml", false, true},
		{"[!ab].yaml", "b.yaml", false, false},
		{"[!ab].yaml", "c.yaml", false, true},
		{`\#x`, "#x", false, true},
		{`\!x`, "!x", false, true},
		{"trailing   ", "trailing", false, true},
		{"a[b", "a[b", false, true},
		{"*.Yaml", "a.yaml", false, false},
	} {
		rules := parseIgnore(c.pattern)
		m, ign := matchIgnore(rules, c.path, c.dir)
		if got := m && ign; got != c.want {
			t.Errorf("pattern %q, path %q (dir %v): %v, want %v", c.pattern, c.path, c.dir, got, c.want)
		}
	}
	// The last matching pattern wins; comments and blank lines are not patterns.
	rules := parseIgnore("# c\n\n*.yaml\n!keep.yaml\n")
	if m, ign := matchIgnore(rules, "keep.yaml", false); !m || ign {
		t.Error("negation did not re-include")
	}
	if m, ign := matchIgnore(parseIgnore("!keep.yaml\n*.yaml\n"), "keep.yaml", false); !m || !ign {
		t.Error("a later pattern must win over an earlier negation")
	}
}

// An infinite reader that is neither a file nor an in-memory buffer.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestSpecialFilesDoNotHang(t *testing.T) {
	lim := Limits{MaxDocumentBytes: 1 << 20, MaxNodes: 10_000, MaxDepth: 64}
	// Standard input that never ends stops at its first oversized document.
	s := load(t, &Loader{Decoder: Decoder{Limits: lim}, Stdin: zeros{}}, "-")
	if len(s.errors) != 1 || s.errors[0].File != "<stdin>" || s.errors[0].Line != 1 || !strings.Contains(s.errors[0].Message, "reading stopped") {
		t.Errorf("endless stdin: %v", s.errors)
	}
	// So does one with an end of line now and then.
	s = load(t, &Loader{Decoder: Decoder{Limits: lim}, Stdin: &lines{}}, "-")
	if len(s.errors) != 1 || !strings.Contains(s.errors[0].Message, "reading stopped") {
		t.Errorf("endless stdin of lines: %v", s.errors)
	}
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	s = load(t, &Loader{Decoder: Decoder{Limits: lim}}, "/dev/zero")
	if len(s.errors) != 1 || s.errors[0].File != "/dev/zero" || s.errors[0].Line != 1 || !strings.Contains(s.errors[0].Message, "reading stopped") {
		t.Errorf("/dev/zero: %v", s.errors)
	}
}

// lines is an endless stream of short lines.
type lines struct{ n int }

func (l *lines) Read(p []byte) (int, error) {
	n := 0
	for n+8 <= len(p) {
		n += copy(p[n:], fmt.Sprintf("k%05d: ", l.n%100000)[:7]+"\n")
		l.n++
	}
	return n, nil
}

func TestOversizedDocumentInRegularFileIsSkipped(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, filepath.Join(dir, "big.yaml"), fmt.Sprintf(pod, "big")+"  x: \""+strings.Repeat("a", 5000)+"\"\n---\n"+fmt.Sprintf(pod, "small"))
	s := load(t, &Loader{Decoder: Decoder{Limits: Limits{MaxDocumentBytes: 1024, MaxNodes: 1000, MaxDepth: 50}}}, f)
	if len(s.errors) != 1 || strings.Contains(s.errors[0].Message, "stopped") || len(s.objects) != 1 {
		t.Errorf("a regular file goes on after an oversized document: errors %v, %d objects", s.errors, len(s.objects))
	}
}

// aliasDoc is a document whose aliases expand to about 9^levels nodes.
func aliasDoc(name string, levels int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: %s}\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n", name)
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

func TestAliasBudgetSpansTheLoad(t *testing.T) {
	dir := t.TempDir()
	// Each document expands 8,289 nodes through aliases, well under
	// MaxNodes; together they are over the load's budget of 100,000.
	var first, second strings.Builder
	for i := range 10 {
		fmt.Fprintf(&first, "---\n%s", aliasDoc(fmt.Sprintf("a%d", i), 4))
		fmt.Fprintf(&second, "---\n%s", aliasDoc(fmt.Sprintf("b%d", i), 4))
	}
	second.WriteString("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n")
	one := writeFile(t, filepath.Join(dir, "1.yaml"), first.String())
	two := writeFile(t, filepath.Join(dir, "2.yaml"), second.String())
	lim := DefaultLimits
	lim.MaxTotalAliasNodes = 100_000
	s := load(t, &Loader{Decoder: Decoder{Limits: lim}, Workers: 1}, one, two)
	// About 12 documents fit in the budget; every later one that expands
	// an alias is refused.
	if len(s.objects) < 10 || len(s.objects) > 14 {
		t.Errorf("%d objects loaded, want about 12 alias documents and the plain one", len(s.objects))
	}
	plain := false
	for _, o := range s.objects {
		plain = plain || o.Name == "plain"
	}
	if !plain {
		t.Error("a document without aliases must still load once the budget is spent")
	}
	if len(s.objects)+len(s.errors) != 21 {
		t.Errorf("%d objects and %d errors for 21 documents", len(s.objects), len(s.errors))
	}
	for _, e := range s.errors {
		if e.File != two || e.Line < 1 || !strings.Contains(e.Message, "limit of 100000 nodes over all documents") {
			t.Errorf("error %+v", e)
		}
	}
	// The first refused document is refused where the budget ran out.
	if len(s.errors) > 0 {
		if e := s.errors[0]; e.Line <= 1 {
			t.Errorf("first refusal at line %d", e.Line)
		}
	}
}

// The attack of issue 13: many documents each just under MaxNodes. With the
// default limits the whole load expands at most MaxTotalAliasNodes nodes.
func TestAliasBudgetStopsManyDocumentAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("expands 20 million nodes")
	}
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "---\n%s", aliasDoc(fmt.Sprintf("w%d", i), 6)) // 664,290 nodes each
	}
	c := decode(t, b.String(), DefaultLimits)
	if len(c.objects) > 31 || len(c.objects)+len(c.errors) != 100 {
		t.Errorf("%d documents expanded, %d refused: the budget allows 30", len(c.objects), len(c.errors))
	}
	if len(c.errors) == 0 || !strings.Contains(c.errors[0].Message, "over all documents") {
		t.Errorf("errors: %v", c.errors[:min(len(c.errors), 3)])
	}
}
