package kustomize

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/inventory"
)

// sourceFile is a resource file a kustomization reads, decoded once.
type sourceFile struct {
	objs []*srcObj
}

// srcObj is one object of a resource file.
type srcObj struct {
	obj  *inventory.Object // as the manifest decoder reads it
	data any               // its content, to match list items by name
}

// source decodes (once) the resource file at path.
func (b *builder) source(path string) *sourceFile {
	if s, ok := b.sources[path]; ok {
		return s
	}
	s := &sourceFile{}
	b.sources[path] = s
	data, err := os.ReadFile(path)
	if err != nil {
		return s
	}
	var c collector
	if err := b.dec.Decode(bytes.NewReader(data), path, Source, &c); err != nil {
		return s
	}
	content := contentByLine(data)
	for _, o := range c.objects {
		s.objs = append(s.objs, &srcObj{obj: o, data: content[o.Origin.Line]})
	}
	return s
}

// contentByLine decodes every document of a YAML stream, and the items of
// Lists, into generic values keyed by the line their mapping starts on:
// the line the manifest decoder gives as the object's origin.
func contentByLine(data []byte) map[int]any {
	out := map[int]any{}
	d := yaml.NewDecoder(bytes.NewReader(data))
	for range 100_000 {
		var doc yaml.Node
		if err := d.Decode(&doc); err != nil {
			// io.EOF, or a document the manifest decoder reports.
			break
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			continue
		}
		add := func(n *yaml.Node) {
			var v any
			if n.Decode(&v) == nil {
				out[n.Line] = v
			}
		}
		add(root)
		if items := mapValue(root, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				if it.Kind == yaml.MappingNode {
					add(it)
				}
			}
		}
	}
	return out
}

// match finds the object of the file a built resource comes from: same
// kind and name; else same kind and a name the built name contains
// (kustomize adds prefixes, suffixes and hashes); else the only object of
// that kind; else the only object of the file.
func (s *sourceFile) match(kind, name, namespace string) *srcObj {
	if s == nil || len(s.objs) == 0 {
		return nil
	}
	var same []*srcObj
	for _, o := range s.objs {
		if o.obj.Kind == kind {
			same = append(same, o)
		}
	}
	var exact *srcObj
	for _, o := range same {
		if o.obj.Name == name {
			if o.obj.Namespace == namespace {
				return o
			}
			if exact == nil {
				exact = o
			}
		}
	}
	if exact != nil {
		return exact
	}
	var best *srcObj
	for _, o := range same {
		if o.obj.Name != "" && strings.Contains(name, o.obj.Name) && (best == nil || len(o.obj.Name) > len(best.obj.Name)) {
			best = o
		}
	}
	switch {
	case best != nil:
		return best
	case len(same) == 1:
		return same[0]
	case len(s.objs) == 1:
		return s.objs[0]
	}
	return nil
}

// baseFile is the file an object is described in: its resource file, or
// the patch that gave it its name when no resource file has it.
type baseFile interface {
	// base returns the position of the deepest node of a path of the
	// built object the file has, and how many of the path's segments it
	// has.
	base(path string, built any) (line, col, depth int)
}

// base locates in the resource file. Paths are translated first: a list
// index of the built object becomes the index of the same item (by name,
// mountPath, containerPort...) in the source, since patches add and
// reorder items. What the source does not have (a field or item added by
// a patch) resolves to its deepest ancestor the source has.
func (s *srcObj) base(path string, built any) (line, col, depth int) {
	tr, depth := translateDepth(path, built, s.data)
	if s.obj.Locator == nil {
		return s.obj.Origin.Line, s.obj.Origin.Column, depth
	}
	line, col = s.obj.Locator.Locate(tr)
	return line, col, depth
}

// sourceLocator resolves field paths of a built object in the file that
// describes it (its base) and in the steps (patches, transformers) that
// were applied to it.
//
// Locate resolves in the base file only, since that is the file the
// object's origin names. LocateFile also considers the steps, and names
// the file it resolved in; inventory.Object.Locate uses it.
type sourceLocator struct {
	file  string // the base file
	base  baseFile
	obj   object
	steps []step // in the order they were applied
}

func (l *sourceLocator) Locate(path string) (int, int) {
	line, col, _ := l.base.base(path, l.obj.built)
	return line, col
}

// LocateFile resolves a path in the file that wrote it:
//
//   - a value that a step sets (a scalar, a list, a mapping the base file
//     does not have) is located in the last step applied that sets it,
//     since it overrides the base file's and the earlier steps': the
//     patch line, the JSON 6902 operation, the kustomization's
//     transformer entry;
//   - otherwise the base file, when it has the whole path;
//   - otherwise the file that has the most of the path, the base file on
//     a tie: a container a patch adds resolves to that patch's item, and
//     a field missing from it to its deepest ancestor in the patch.
func (l *sourceLocator) LocateFile(path string) (file string, line, column int) {
	want := len(inventory.SplitPath(path))
	line, column, srcDepth := l.base.base(path, l.obj.built)
	var best hit
	bestDepth := srcDepth
	for i := len(l.steps) - 1; i >= 0; i-- {
		h := l.steps[i].locate(path, &l.obj)
		if h.line <= 0 {
			continue
		}
		if h.depth == want && (!h.partial || srcDepth < want) {
			return h.file, h.line, h.col
		}
		if h.depth > bestDepth {
			best, bestDepth = h, h.depth
		}
	}
	if best.line > 0 {
		return best.file, best.line, best.col
	}
	return l.file, line, column
}

// lookup returns the value at a path of the built object in src (a
// resource or a patch document), nil if src does not have it all.
func lookup(src any, path string, built any) any {
	for _, seg := range inventory.SplitPath(path) {
		if seg.Index < 0 {
			sm, ok := src.(map[string]any)
			if !ok {
				return nil
			}
			bm, _ := built.(map[string]any)
			built, src = bm[seg.Key], sm[seg.Key]
			continue
		}
		bl, _ := built.([]any)
		sl, _ := src.([]any)
		j := sameItem(bl, sl, seg.Index)
		if j < 0 {
			return nil
		}
		built, src = bl[seg.Index], sl[j]
	}
	return src
}

// identityKeys name list items, in order of preference: the merge keys
// of the Kubernetes lists patches merge.
var identityKeys = []string{"name", "mountPath", "devicePath", "containerPort", "ip"}

// translate rewrites a path of the built object as a path of the source
// object, as far as the source has it; the rest of the path is dropped.
func translate(path string, built, src any) string {
	p, _ := translateDepth(path, built, src)
	return p
}

// translateDepth is translate that also returns how many segments of the
// path the source has (a missing last key is in the path, not the count).
func translateDepth(path string, built, src any) (string, int) {
	var b strings.Builder
	depth := 0
	for _, seg := range inventory.SplitPath(path) {
		if seg.Index < 0 {
			sm, ok := src.(map[string]any)
			if !ok {
				return b.String(), depth
			}
			// A missing key stays in the path: the locator resolves it
			// to its parent.
			writeKey(&b, seg.Key)
			sv, ok := sm[seg.Key]
			if !ok {
				return b.String(), depth
			}
			bm, _ := built.(map[string]any)
			built, src = bm[seg.Key], sv
			depth++
			continue
		}
		bl, _ := built.([]any)
		sl, ok := src.([]any)
		if !ok {
			return b.String(), depth
		}
		j := sameItem(bl, sl, seg.Index)
		if j < 0 {
			return b.String(), depth
		}
		b.WriteString("[" + strconv.Itoa(j) + "]")
		built, src = bl[seg.Index], sl[j]
		depth++
	}
	return b.String(), depth
}

func writeKey(b *strings.Builder, key string) {
	if strings.ContainsAny(key, `.[]"`) {
		b.WriteString(`["` + key + `"]`)
		return
	}
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.WriteString(key)
}

// sameItem returns the index in src of item i of built, or -1.
func sameItem(built, src []any, i int) int {
	if i >= len(built) {
		return -1
	}
	switch e := built[i].(type) {
	case map[string]any:
		for _, k := range identityKeys {
			v, ok := e[k]
			if !ok || !scalar(v) {
				continue
			}
			for j, s := range src {
				if sm, ok := s.(map[string]any); ok && scalar(sm[k]) && fmt.Sprint(sm[k]) == fmt.Sprint(v) {
					return j
				}
			}
			return -1
		}
	default:
		if scalar(e) {
			for j, s := range src {
				if scalar(s) && fmt.Sprint(s) == fmt.Sprint(e) {
					return j
				}
			}
			return -1
		}
	}
	// Items without a name: only trusted when the list kept its length.
	if len(built) == len(src) {
		return i
	}
	return -1
}

func scalar(v any) bool {
	switch v.(type) {
	case nil, map[string]any, []any:
		return false
	}
	return true
}
