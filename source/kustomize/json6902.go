package kustomize

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// jsonOp is one operation of a JSON 6902 patch: it writes the value at its
// path (add, replace) or copies another field there (copy, move).
type jsonOp struct {
	file   string
	pos    textPos
	target *selector
	op     string
	ptr    []string   // the path's reference tokens, unescaped
	path   *yaml.Node // the path key
	key    *yaml.Node // the value key (nil for copy and move)
	value  *yaml.Node
	data   any // the value
}

// jsonOps reads the operations of a JSON 6902 patch that write fields.
// Removals and tests write nothing, and operations on the whole document
// are not located.
func jsonOps(list *yaml.Node, file string, pos textPos, target *selector) []step {
	var out []step
	for _, it := range list.Content {
		op := mapValue(it, "op")
		pk, pv := mapEntry(it, "path")
		if op == nil || op.Kind != yaml.ScalarNode || pv == nil || pv.Kind != yaml.ScalarNode {
			continue
		}
		o := &jsonOp{file: file, pos: pos, target: target, op: op.Value, path: pk}
		switch o.op {
		case "add", "replace":
			o.key, o.value = mapEntry(it, "value")
			if o.value == nil || o.value.Decode(&o.data) != nil {
				continue
			}
		case "copy", "move":
		default:
			continue
		}
		if !strings.HasPrefix(pv.Value, "/") {
			continue
		}
		for _, tok := range strings.Split(pv.Value[1:], "/") {
			o.ptr = append(o.ptr, unescapeToken.Replace(tok))
		}
		out = append(out, o)
	}
	return out
}

// unescapeToken decodes a JSON pointer reference token (RFC 6901).
var unescapeToken = strings.NewReplacer("~1", "/", "~0", "~")

func (o *jsonOp) applies(res *resource.Resource, names []string, srcNS string) bool {
	return o.target.matches(res, names, srcNS)
}

// locate resolves a path of the built object in the operation: when the
// operation's path is the path or one of its ancestors, at the value key
// or inside the value; when it is a descendant of the path, at the path
// key (the operation writes part of the path's value). A list index of
// the operation's path names the built object's item with the same
// identity (name...) as the value the operation writes there, else the
// item at that index, in the built list or in the resource file's (later
// patches may have moved it). A scalar is only claimed when the built
// object still holds the value the operation wrote.
func (o *jsonOp) locate(path string, obj *object) hit {
	qs := inventory.SplitPath(path)
	n := min(len(qs), len(o.ptr))
	cur, src := obj.built, obj.src
	for i := range n {
		q, tok := qs[i], o.ptr[i]
		if q.Index < 0 {
			m, _ := cur.(map[string]any)
			if q.Key != tok || m == nil {
				return hit{}
			}
			sm, _ := src.(map[string]any)
			cur, src = m[q.Key], sm[q.Key]
			continue
		}
		l, _ := cur.([]any)
		sl, _ := src.([]any)
		if q.Index >= len(l) || !o.indexMatches(tok, q.Index, l, sl, i == len(o.ptr)-1) {
			return hit{}
		}
		cur, src = l[q.Index], nil
		if j := sameItem(l, sl, q.Index); j >= 0 {
			src = sl[j]
		}
	}
	at := func(n *yaml.Node, depth int, partial bool) hit {
		line, col := o.pos.at(n.Line, n.Column)
		return hit{file: o.file, line: line, col: col, depth: depth, partial: partial}
	}
	if len(qs) < len(o.ptr) {
		return at(o.path, len(qs), true)
	}
	if o.value == nil {
		// copy, move: the whole value comes from elsewhere.
		_, isMap := cur.(map[string]any)
		return at(o.path, len(qs), isMap && len(qs) == len(o.ptr))
	}
	rest := joinPath(qs[len(o.ptr):])
	wrote := lookup(o.data, rest, cur)
	if wrote != nil && scalar(wrote) && !equalScalars(wrote, valueAt(cur, rest)) {
		return hit{} // changed since, or another item
	}
	_, isMap := wrote.(map[string]any)
	if rest == "" {
		return at(o.key, len(qs), isMap)
	}
	tr, depth := translateDepth(rest, cur, o.data)
	if depth == 0 {
		return at(o.key, len(o.ptr), false)
	}
	h := at(o.key, len(o.ptr)+depth, isMap)
	if line, col := o.pos.at(manifest.LocateNode(o.value, tr)); line > 0 {
		h.line, h.col = line, col
	}
	return h
}

// indexMatches reports whether the reference token tok of the operation's
// path names item i of the built list l, src being the same list in the
// resource file; last says whether it is the path's last token (the
// operation's value is then the item).
func (o *jsonOp) indexMatches(tok string, i int, l, src []any, last bool) bool {
	if last && o.value != nil {
		if same, known := sameIdentity(l[i], o.data); known {
			return same
		}
	}
	if tok == "-" {
		return last && i == len(l)-1
	}
	k, err := strconv.Atoi(tok)
	if err != nil || k < 0 {
		return false
	}
	if k == i {
		return true
	}
	if k < len(src) {
		same, known := sameIdentity(src[k], l[i])
		return known && same
	}
	return false
}

// sameIdentity compares two list items by their identity keys (or as
// scalars); known is false when they cannot be compared that way.
func sameIdentity(a, b any) (same, known bool) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		for _, k := range identityKeys {
			av, ok1 := am[k]
			bv, ok2 := bm[k]
			if ok1 && ok2 && scalar(av) && scalar(bv) {
				return equalScalars(av, bv), true
			}
		}
		return false, false
	}
	if scalar(a) && scalar(b) {
		return equalScalars(a, b), true
	}
	return false, false
}

// joinPath writes path segments back as a field path.
func joinPath(segs []inventory.PathSegment) string {
	var b strings.Builder
	for _, s := range segs {
		if s.Index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
			continue
		}
		writeKey(&b, s.Key)
	}
	return b.String()
}
