package kustomize

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/kubeharden/kubeharden/source/manifest"
)

// A field that a patch adds to an object (a sidecar container, a
// securityContext) is nowhere in the object's resource file. The
// kustomizations' local patch files are read here, so that such a field
// can be resolved to the patch that wrote it.

// patchDoc is one document of a local strategic-merge patch file.
type patchDoc struct {
	file      string
	line, col int
	root      *yaml.Node // the document's mapping
	data      any        // its content, to match list items by name
	// The object the document names.
	kind, name, namespace string
	// The patch entry's target, if it has one: it then decides what the
	// patch applies to, and the document's own name does not.
	target             *types.SelectorRegex
	labels, annotation string
	// The patch may rename the object or change its kind.
	renames bool
}

// patchDocs returns (once) the documents of the local patch files of the
// kustomization in b.dir and of the local kustomizations it includes, in
// the order kustomize applies them: a base's before its includer's,
// patchesStrategicMerge before patches.
func (b *builder) patchDocs() []*patchDoc {
	if b.patchesRead {
		return b.patches
	}
	b.patchesRead = true
	visitRoots(b.dir, b.kustomization, func(dir, _ string, root *yaml.Node, _ int) {
		for _, n := range scalars(mapValue(root, "patchesStrategicMerge")) {
			if !strings.Contains(n.Value, "\n") {
				b.readPatch(dir, n.Value, nil)
			}
		}
		for _, it := range items(mapValue(root, "patches")) {
			if p := mapValue(it, "path"); p != nil && p.Kind == yaml.ScalarNode {
				b.readPatch(dir, p.Value, it)
			}
		}
	})
	return b.patches
}

// kustomization returns (once) the mapping of a kustomization file, or nil.
func (b *builder) kustomization(file string) *yaml.Node {
	doc, ok := b.kusts[file]
	if !ok {
		doc = readKustomization(file)
		b.kusts[file] = doc
	}
	return doc
}

// readPatch reads the documents of the patch file name, relative to dir;
// entry is its patches item (nil for patchesStrategicMerge). JSON 6902
// patches (a list of operations) are skipped: their fields are not laid
// out as in the object.
func (b *builder) readPatch(dir, name string, entry *yaml.Node) {
	if name == "" || remoteFile(name) || filepath.IsAbs(name) {
		return
	}
	file := filepath.Join(dir, filepath.FromSlash(name))
	limit := b.dec.Limits.MaxDocumentBytes
	if limit <= 0 {
		limit = manifest.DefaultLimits.MaxDocumentBytes
	}
	if fi, err := os.Stat(file); err != nil || !fi.Mode().IsRegular() || fi.Size() > limit {
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var target *types.SelectorRegex
	var labels, annotation string
	renames := false
	if t := mapValue(entry, "target"); t != nil {
		var sel map[string]string
		if t.Decode(&sel) != nil {
			return
		}
		s := &types.Selector{
			ResId: resid.ResId{
				Gvk:       resid.Gvk{Group: sel["group"], Version: sel["version"], Kind: sel["kind"]},
				Name:      sel["name"],
				Namespace: sel["namespace"],
			},
		}
		if target, err = types.NewSelectorRegex(s); err != nil {
			return // kustomize would have refused it
		}
		labels, annotation = sel["labelSelector"], sel["annotationSelector"]
	}
	if o := mapValue(entry, "options"); o != nil {
		var opts map[string]bool
		if o.Decode(&opts) == nil {
			renames = opts["allowNameChange"] || opts["allowKindChange"]
		}
	}
	d := yaml.NewDecoder(bytes.NewReader(data))
	for range 10_000 {
		var doc yaml.Node
		if err := d.Decode(&doc); err != nil {
			break
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		var v any
		if root.Decode(&v) != nil {
			// Excessive aliasing, or the like.
			continue
		}
		p := &patchDoc{file: file, line: root.Line, col: root.Column, root: root, data: v,
			target: target, labels: labels, annotation: annotation, renames: renames}
		m, _ := v.(map[string]any)
		p.kind, _ = m["kind"].(string)
		meta, _ := m["metadata"].(map[string]any)
		p.name, _ = meta["name"].(string)
		p.namespace, _ = meta["namespace"].(string)
		b.patches = append(b.patches, p)
	}
}

// patchesOf returns the patch documents that apply to a built resource,
// in the order they were applied. src is the object of the resource
// file it came from, nil if unknown.
func (b *builder) patchesOf(res *resource.Resource, src *srcObj) []*patchDoc {
	var srcName, srcNS string
	if src != nil {
		srcName, srcNS = src.obj.Name, src.obj.Namespace
	}
	names := nameCandidates(res.GetName(), srcName)
	var out []*patchDoc
	for _, p := range b.patchDocs() {
		if p.applies(res, names, srcNS) {
			out = append(out, p)
		}
	}
	return out
}

// applies reports whether the patch document applies to res, known under
// any of names along the build, in namespace srcNS in its resource file.
func (p *patchDoc) applies(res *resource.Resource, names []string, srcNS string) bool {
	if p.renames && p.kind == res.GetKind() && anyOf(names, func(n string) bool { return n == p.name }) {
		// The patch gave the object its kind or name.
		return true
	}
	if p.target != nil {
		if !p.target.MatchGvk(res.GetGvk()) || !anyOf(names, p.target.MatchName) {
			return false
		}
		if !p.target.MatchNamespace(res.GetNamespace()) && !p.target.MatchNamespace(srcNS) {
			return false
		}
		if p.labels != "" {
			if ok, err := res.MatchesLabelSelector(p.labels); err != nil || !ok {
				return false
			}
		}
		if p.annotation != "" {
			if ok, err := res.MatchesAnnotationSelector(p.annotation); err != nil || !ok {
				return false
			}
		}
		return true
	}
	if p.kind != res.GetKind() || !anyOf(names, func(n string) bool { return n == p.name }) {
		return false
	}
	return p.namespace == "" || p.namespace == res.GetNamespace() || p.namespace == srcNS
}

func anyOf(names []string, f func(string) bool) bool {
	for _, n := range names {
		if f(n) {
			return true
		}
	}
	return false
}

// nameCandidates returns the names an object may have had along the
// build: its built name, its name in its resource file, and that name
// with some of the prefixes and suffixes kustomizations added around it
// (prod-web is also known as web, and staging-web-v2 as web-v2).
func nameCandidates(built, src string) []string {
	out := []string{built}
	if src == "" || src == built {
		return out
	}
	out = append(out, src)
	at := strings.Index(built, src)
	if at < 0 {
		return out
	}
	sep := func(c byte) bool { return c == '-' || c == '.' }
	var starts, ends []int
	for i := 0; i <= at; i++ {
		if i == 0 || sep(built[i-1]) {
			starts = append(starts, i)
		}
	}
	for j := at + len(src); j <= len(built); j++ {
		if j == len(built) || sep(built[j]) {
			ends = append(ends, j)
		}
	}
	seen := map[string]bool{built: true, src: true}
	for _, i := range starts {
		for _, j := range ends {
			if n := built[i:j]; !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// locate resolves a path of the patched object in the patch document: it
// returns the position of the deepest node of the path the document has,
// and how many of the path's segments it has.
func (p *patchDoc) locate(path string, built any) (line, col, depth int) {
	tr, depth := translateDepth(path, built, p.data)
	if line, col = manifest.LocateNode(p.root, tr); line == 0 {
		line, col = p.line, p.col
	}
	return line, col, depth
}

// patchLocator locates every path of an object that no resource file
// holds in the last patch applied to it.
type patchLocator struct {
	p     *patchDoc
	built any
}

func (l *patchLocator) Locate(path string) (int, int) {
	line, col, _ := l.p.locate(path, l.built)
	return line, col
}
