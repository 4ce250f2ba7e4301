package procrule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The allow-list's apiVersion and kind.
const (
	APIVersion    = "kubeharden.io/v1alpha1"
	AllowlistKind = "RuntimeAllowlist"
)

// Allowlist says which executables each workload's containers may run:
//
//	apiVersion: kubeharden.io/v1alpha1
//	kind: RuntimeAllowlist
//	spec:
//	  workloads:
//	  - namespace: shop
//	    kind: Deployment          # the owning controller; Pod for a bare pod
//	    name: web
//	    containers:
//	      web: [/usr/local/bin/web, /bin/sleep, "/opt/app/bin/*"]
//
// Executables are absolute paths in the container's root; `*`, `?` and
// `[...]` match within one path element, and a trailing `/**` matches
// everything below a directory. A nil *Allowlist allows nothing and lists
// nothing.
type Allowlist struct {
	Workloads []WorkloadEntry
	index     map[Workload]*WorkloadEntry
}

// WorkloadEntry is one workload's allow-list.
type WorkloadEntry struct {
	Namespace  string
	Kind       string
	Name       string
	Containers map[string][]string
}

// Allows reports whether the target's allow-list allows exe, and whether
// the target's workload has an entry at all (listed). A container the
// entry does not name allows nothing.
func (al *Allowlist) Allows(t Target, exe string) (allowed, listed bool) {
	if al == nil || t.Workload.Kind == "" {
		return false, false
	}
	e := al.lookup(Workload{Namespace: t.Namespace, Kind: t.Workload.Kind, Name: t.Workload.Name})
	if e == nil {
		return false, false
	}
	for _, p := range e.Containers[t.ContainerName] {
		if Glob(p, exe) {
			return true, true
		}
	}
	return false, true
}

// lookup finds a workload's entry: through the index that ParseAllowlist
// and Learner.Allowlist build, else by scanning (an Allowlist built by
// hand). It never writes, so an Allowlist may be shared by goroutines.
func (al *Allowlist) lookup(w Workload) *WorkloadEntry {
	if al.index != nil {
		return al.index[w]
	}
	for i := range al.Workloads {
		e := &al.Workloads[i]
		if e.Namespace == w.Namespace && e.Kind == w.Kind && e.Name == w.Name {
			return e
		}
	}
	return nil
}

func (al *Allowlist) buildIndex() *Allowlist {
	al.index = make(map[Workload]*WorkloadEntry, len(al.Workloads))
	for i := range al.Workloads {
		e := &al.Workloads[i]
		al.index[Workload{Namespace: e.Namespace, Kind: e.Kind, Name: e.Name}] = e
	}
	return al
}

// Glob reports whether exe matches pattern: path.Match, plus a trailing
// "/**" for everything below a directory. A malformed pattern matches
// nothing (ParseAllowlist rejects them).
func Glob(pattern, exe string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/**"); ok {
		return strings.HasPrefix(exe, dir+"/")
	}
	ok, err := path.Match(pattern, exe)
	return err == nil && ok
}

// ParseAllowlist reads a RuntimeAllowlist in YAML or JSON. Errors name
// file:line.
func ParseAllowlist(file string, data []byte) (*Allowlist, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty allow-list", file)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: one RuntimeAllowlist document per file", file, extra.Line)
	}
	p := parser{file: file}
	al := p.root(&doc)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return al.buildIndex(), nil
}

type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.file, n.Line, fmt.Sprintf(format, args...)))
}

// fields returns a mapping's keys and values, reporting duplicates and
// keys not in known.
func (p *parser) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", what)
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: keys must be strings", what)
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		if known != nil && !contains(known, k.Value) {
			p.errorf(k, "%s: unknown field %q (known: %s)", what, k.Value, strings.Join(known, ", "))
			continue
		}
		out[k.Value] = v
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (p *parser) root(doc *yaml.Node) *Allowlist {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	f := p.fields(n, "allow-list", "apiVersion", "kind", "metadata", "spec")
	if f == nil {
		return nil
	}
	if v := p.str(f["apiVersion"], "apiVersion"); v != APIVersion {
		p.errorf(nodeOr(f["apiVersion"], n), "apiVersion is %q, want %s", v, APIVersion)
	}
	if v := p.str(f["kind"], "kind"); v != AllowlistKind {
		p.errorf(nodeOr(f["kind"], n), "kind is %q, want %s", v, AllowlistKind)
	}
	al := &Allowlist{}
	spec := f["spec"]
	if spec == nil {
		p.errorf(n, "spec is missing")
		return al
	}
	sf := p.fields(spec, "spec", "workloads")
	wl := sf["workloads"]
	if wl == nil || (wl.Kind == yaml.ScalarNode && wl.Tag == "!!null") {
		return al
	}
	if wl.Kind != yaml.SequenceNode {
		p.errorf(wl, "spec.workloads must be a list")
		return al
	}
	seen := map[Workload]int{}
	for i, item := range wl.Content {
		what := fmt.Sprintf("spec.workloads[%d]", i)
		wf := p.fields(item, what, "namespace", "kind", "name", "containers")
		if wf == nil {
			continue
		}
		e := WorkloadEntry{
			Namespace:  p.str(wf["namespace"], what+".namespace"),
			Kind:       p.str(wf["kind"], what+".kind"),
			Name:       p.str(wf["name"], what+".name"),
			Containers: map[string][]string{},
		}
		for _, req := range []struct{ v, name string }{{e.Namespace, "namespace"}, {e.Kind, "kind"}, {e.Name, "name"}} {
			if req.v == "" && wf[req.name] == nil {
				p.errorf(item, "%s.%s is missing", what, req.name)
			}
		}
		key := Workload{Namespace: e.Namespace, Kind: e.Kind, Name: e.Name}
		if line, dup := seen[key]; dup {
			p.errorf(item, "%s: workload %s %s/%s is already listed at line %d", what, e.Kind, e.Namespace, e.Name, line)
		}
		seen[key] = item.Line
		if c := wf["containers"]; c != nil {
			cf := p.fields(c, what+".containers")
			for name, list := range cf {
				if list.Kind != yaml.SequenceNode {
					p.errorf(list, "%s.containers.%s must be a list of executables", what, name)
					continue
				}
				exes := []string{}
				for _, x := range list.Content {
					s := p.str(x, what+".containers."+name+"[]")
					if s == "" {
						continue
					}
					if !strings.HasPrefix(s, "/") {
						p.errorf(x, "%s.containers.%s: %q is not an absolute path", what, name, s)
						continue
					}
					if _, err := path.Match(strings.TrimSuffix(s, "/**"), "/"); err != nil {
						p.errorf(x, "%s.containers.%s: bad pattern %q: %v", what, name, s, err)
						continue
					}
					exes = append(exes, s)
				}
				e.Containers[name] = exes
			}
		}
		al.Workloads = append(al.Workloads, e)
	}
	return al
}

func nodeOr(n, def *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return def
}

// Marshal writes the allow-list as YAML, workloads and executables sorted,
// so that a learned list diffs well.
func (al *Allowlist) Marshal() ([]byte, error) {
	type entry struct {
		Namespace  string              `yaml:"namespace"`
		Kind       string              `yaml:"kind"`
		Name       string              `yaml:"name"`
		Containers map[string][]string `yaml:"containers"`
	}
	var doc struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Workloads []entry `yaml:"workloads"`
		} `yaml:"spec"`
	}
	doc.APIVersion, doc.Kind = APIVersion, AllowlistKind
	doc.Spec.Workloads = []entry{}
	for _, w := range al.sorted() {
		doc.Spec.Workloads = append(doc.Spec.Workloads, entry(w))
	}
	var b bytes.Buffer
	b.WriteString("# Written by kubeharden runtime learn: review before use.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding the allow-list: %w", err)
	}
	return b.Bytes(), enc.Close()
}

func (al *Allowlist) sorted() []WorkloadEntry {
	out := append([]WorkloadEntry(nil), al.Workloads...)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	for i := range out {
		c := map[string][]string{}
		for name, exes := range out[i].Containers {
			s := append([]string(nil), exes...)
			sort.Strings(s)
			c[name] = s
		}
		out[i].Containers = c
	}
	return out
}

// Learner collects what each workload's containers execute, for an
// allow-list. Executions of unknown workloads (no API access) cannot be
// written to an allow-list and are counted in Unattributed.
type Learner struct {
	seen         map[Workload]map[string]map[string]bool
	Unattributed int
}

// Observe records an execution.
func (l *Learner) Observe(e Exec) {
	t := e.Target
	if t.Host || t.Workload.Kind == "" || t.ContainerName == "" || e.Exe == "" {
		l.Unattributed++
		return
	}
	if l.seen == nil {
		l.seen = map[Workload]map[string]map[string]bool{}
	}
	w := Workload{Namespace: t.Namespace, Kind: t.Workload.Kind, Name: t.Workload.Name}
	if l.seen[w] == nil {
		l.seen[w] = map[string]map[string]bool{}
	}
	if l.seen[w][t.ContainerName] == nil {
		l.seen[w][t.ContainerName] = map[string]bool{}
	}
	l.seen[w][t.ContainerName][e.Exe] = true
}

// Allowlist merges what was observed into base (nil: none): every
// workload, container and executable of either, an executable already
// matched by one of base's patterns not added again.
func (l *Learner) Allowlist(base *Allowlist) *Allowlist {
	out := &Allowlist{}
	idx := map[Workload]int{}
	if base != nil {
		for _, e := range base.Workloads {
			c := map[string][]string{}
			for n, x := range e.Containers {
				c[n] = append([]string(nil), x...)
			}
			idx[Workload{Namespace: e.Namespace, Kind: e.Kind, Name: e.Name}] = len(out.Workloads)
			out.Workloads = append(out.Workloads, WorkloadEntry{Namespace: e.Namespace, Kind: e.Kind, Name: e.Name, Containers: c})
		}
	}
	for w, containers := range l.seen {
		i, ok := idx[w]
		if !ok {
			i = len(out.Workloads)
			idx[w] = i
			out.Workloads = append(out.Workloads, WorkloadEntry{Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, Containers: map[string][]string{}})
		}
		e := &out.Workloads[i]
		for name, exes := range containers {
			for exe := range exes {
				covered := false
				for _, p := range e.Containers[name] {
					if Glob(p, exe) {
						covered = true
						break
					}
				}
				if !covered {
					e.Containers[name] = append(e.Containers[name], exe)
				}
			}
		}
	}
	out.Workloads = out.sorted()
	return out.buildIndex()
}
