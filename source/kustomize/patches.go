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
// securityContext) or that a transformer sets (an image tag, a replica
// count, a name prefix) is nowhere in the object's resource file. The
// steps of every kustomization a resource went through — its patches and
// transformer fields — are read here, so that such a field can be
// resolved to the step that wrote it: a line of a patch file, of an
// inline patch, or of a kustomization file.

// A step is one patch document, one JSON 6902 operation or one transformer
// entry of a kustomization.
type step interface {
	// applies reports whether the step applies to res, known under any
	// of names along the build, in namespace srcNS in its resource file.
	applies(res *resource.Resource, names []string, srcNS string) bool
	// locate reports where the step writes a path of the built object
	// (the zero hit when it does not).
	locate(path string, o *object) hit
}

// object is a built object as generic data, and its content in the
// resource file it came from (nil when unknown).
type object struct {
	built, src any
}

// hit is where a step writes (part of) a field path.
type hit struct {
	file      string
	line, col int
	// depth is how many segments of the path the step has.
	depth int
	// partial is set when the value the step has at the whole path is a
	// mapping (or writes inside it): the step may have written only part
	// of what the object has there.
	partial bool
}

// textPos maps positions in a patch's text to positions in its file: the
// identity for a patch file, an offset for a patch written inline as a
// literal block scalar of a kustomization, and one fixed position when the
// text's lines are not the file's (a quoted or folded inline patch).
type textPos struct {
	lines, cols         int
	fixedLine, fixedCol int
}

func (t textPos) at(line, col int) (int, int) {
	if t.fixedLine > 0 {
		return t.fixedLine, t.fixedCol
	}
	if line <= 0 {
		return 0, 0
	}
	return line + t.lines, col + t.cols
}

// selector is the target of a patch entry: it then decides what the patch
// applies to, and a strategic-merge patch's own name does not.
type selector struct {
	re                 *types.SelectorRegex
	labels, annotation string
}

// selectorOf reads a patch entry's target; ok is false for a target
// kustomize would refuse.
func selectorOf(t *yaml.Node) (s *selector, ok bool) {
	if t == nil {
		return nil, true
	}
	var sel map[string]string
	if t.Decode(&sel) != nil {
		return nil, false
	}
	re, err := types.NewSelectorRegex(&types.Selector{
		ResId: resid.ResId{
			Gvk:       resid.Gvk{Group: sel["group"], Version: sel["version"], Kind: sel["kind"]},
			Name:      sel["name"],
			Namespace: sel["namespace"],
		},
	})
	if err != nil {
		return nil, false
	}
	return &selector{re: re, labels: sel["labelSelector"], annotation: sel["annotationSelector"]}, true
}

func (s *selector) matches(res *resource.Resource, names []string, srcNS string) bool {
	if !s.re.MatchGvk(res.GetGvk()) || !anyOf(names, s.re.MatchName) {
		return false
	}
	if !s.re.MatchNamespace(res.GetNamespace()) && !s.re.MatchNamespace(srcNS) {
		return false
	}
	if s.labels != "" {
		if ok, err := res.MatchesLabelSelector(s.labels); err != nil || !ok {
			return false
		}
	}
	if s.annotation != "" {
		if ok, err := res.MatchesAnnotationSelector(s.annotation); err != nil || !ok {
			return false
		}
	}
	return true
}

// patchDoc is one document of a strategic-merge patch, from a file or
// inline.
type patchDoc struct {
	file      string
	line, col int        // of the document, in file
	pos       textPos    // from the document's text to file
	root      *yaml.Node // the document's mapping
	data      any        // its content, to match list items by name
	// The object the document names.
	kind, name, namespace string
	// The patch entry's target, if it has one.
	target *selector
	// The patch may rename the object or change its kind.
	renames bool
}

// applies reports whether the patch document applies to res.
func (p *patchDoc) applies(res *resource.Resource, names []string, srcNS string) bool {
	if p.renames && p.kind == res.GetKind() && anyOf(names, func(n string) bool { return n == p.name }) {
		// The patch gave the object its kind or name.
		return true
	}
	if p.target != nil {
		return p.target.matches(res, names, srcNS)
	}
	if p.kind != res.GetKind() || !anyOf(names, func(n string) bool { return n == p.name }) {
		return false
	}
	return p.namespace == "" || p.namespace == res.GetNamespace() || p.namespace == srcNS
}

// locate resolves a path of the patched object in the patch document: the
// position of the deepest node of the path the document has, and how many
// of the path's segments it has.
func (p *patchDoc) locate(path string, o *object) hit {
	built := o.built
	tr, depth := translateDepth(path, built, p.data)
	line, col := p.pos.at(manifest.LocateNode(p.root, tr))
	if line == 0 {
		line, col = p.line, p.col
	}
	_, isMap := lookup(p.data, path, built).(map[string]any)
	return hit{file: p.file, line: line, col: col, depth: depth, partial: isMap}
}

// base locates in the document, as the file describing an object no
// resource file has.
func (p *patchDoc) base(path string, built any) (line, col, depth int) {
	h := p.locate(path, &object{built: built})
	return h.line, h.col, h.depth
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

// readPatchFile reads the patch file name, relative to dir, into steps:
// its strategic-merge documents or its JSON 6902 operations. Remote,
// absolute, missing and oversized files are skipped (preflight and
// kustomize report them).
func (b *builder) readPatchFile(dir, name string, target *selector, renames bool) []step {
	if name == "" || remoteFile(name) || filepath.IsAbs(name) {
		return nil
	}
	file := filepath.Join(dir, filepath.FromSlash(name))
	if fi, err := os.Stat(file); err != nil || !fi.Mode().IsRegular() || fi.Size() > b.limit() {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return parsePatch(data, file, textPos{}, target, renames)
}

func (b *builder) limit() int64 {
	if l := b.dec.Limits.MaxDocumentBytes; l > 0 {
		return l
	}
	return manifest.DefaultLimits.MaxDocumentBytes
}

// parsePatch reads the text of a patch, as kustomize does: a list of JSON
// 6902 operations (which needs a target), or strategic-merge documents.
// file and pos say where the text is.
func parsePatch(data []byte, file string, pos textPos, target *selector, renames bool) []step {
	var out []step
	d := yaml.NewDecoder(bytes.NewReader(data))
	for range 10_000 {
		var doc yaml.Node
		if err := d.Decode(&doc); err != nil {
			break
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.SequenceNode {
			if target != nil && len(out) == 0 {
				return jsonOps(root, file, pos, target)
			}
			return out
		}
		if root.Kind != yaml.MappingNode {
			continue
		}
		var v any
		if root.Decode(&v) != nil {
			// Excessive aliasing, or the like.
			continue
		}
		line, col := pos.at(root.Line, root.Column)
		p := &patchDoc{file: file, line: line, col: col, pos: pos, root: root, data: v,
			target: target, renames: renames}
		m, _ := v.(map[string]any)
		p.kind, _ = m["kind"].(string)
		meta, _ := m["metadata"].(map[string]any)
		p.name, _ = meta["name"].(string)
		p.namespace, _ = meta["namespace"].(string)
		out = append(out, p)
	}
	return out
}
