package manifest

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// nodeLocator resolves field paths against a document's node tree.
type nodeLocator struct {
	root *yaml.Node
	off  int // file line of the document's line 1, minus one
}

// segment is one step of a field path: a map key or a list index.
type segment struct {
	key   string
	index int // -1 for a key
}

// parsePath splits a field path such as
// spec.containers[0].env[2].name or metadata.annotations["a.b/c"].
func parsePath(p string) []segment {
	var segs []segment
	i := 0
	for i < len(p) {
		switch p[i] {
		case '.':
			i++
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '"' {
				k := j + 1
				for k < len(p) && p[k] != '"' {
					k++
				}
				segs = append(segs, segment{key: p[j+1 : k], index: -1})
				i = k + 1
				if i < len(p) && p[i] == ']' {
					i++
				}
				continue
			}
			k := j
			for k < len(p) && p[k] != ']' {
				k++
			}
			if n, err := strconv.Atoi(p[j:k]); err == nil {
				segs = append(segs, segment{index: n})
			} else {
				segs = append(segs, segment{key: p[j:k], index: -1})
			}
			i = k + 1
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			segs = append(segs, segment{key: p[i:j], index: -1})
			i = j
		}
	}
	return segs
}

// Locate walks the path as far as it exists and returns the position of
// the deepest node reached: the key of a map entry, or the list item.
func (l *nodeLocator) Locate(path string) (int, int) {
	cur := resolveAlias(l.root)
	line, col := cur.Line, cur.Column
	for _, s := range parsePath(path) {
		cur = resolveAlias(cur)
		if cur == nil {
			break
		}
		if s.index >= 0 {
			if cur.Kind != yaml.SequenceNode || s.index >= len(cur.Content) {
				break
			}
			cur = cur.Content[s.index]
			line, col = cur.Line, cur.Column
			continue
		}
		k, v := findKey(cur, s.key, 0)
		if k == nil {
			break
		}
		line, col = k.Line, k.Column
		cur = v
	}
	return l.off + line, col
}

// findKey finds a key in a mapping node, following merge keys.
func findKey(m *yaml.Node, key string, depth int) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode || depth > 8 {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i].Kind == yaml.ScalarNode {
			return m.Content[i], m.Content[i+1]
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "<<" && m.Content[i].ShortTag() == "!!merge" {
			src := resolveAlias(m.Content[i+1])
			srcs := []*yaml.Node{src}
			if src != nil && src.Kind == yaml.SequenceNode {
				srcs = src.Content
			}
			for _, s := range srcs {
				if k, v := findKey(resolveAlias(s), key, depth+1); k != nil {
					return k, v
				}
			}
		}
	}
	return nil, nil
}
