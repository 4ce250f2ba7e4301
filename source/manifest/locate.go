package manifest

import (
	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/inventory"
)

// nodeLocator resolves field paths against a document's node tree.
type nodeLocator struct {
	root *yaml.Node
	off  int // file line of the document's line 1, minus one
}

// Locate walks the path as far as it exists and returns the position of
// the deepest node reached: the key of a map entry, or the list item.
func (l *nodeLocator) Locate(path string) (int, int) {
	line, col := LocateNode(l.root, path)
	return l.off + line, col
}

// LocateNode walks a field path (inventory.SplitPath syntax) through a YAML
// node tree as far as it exists, following aliases and merge keys, and
// returns the node-relative position of the deepest node reached: the key
// of a map entry, or the list item.
func LocateNode(root *yaml.Node, path string) (line, col int) {
	cur := resolveAlias(root)
	if cur == nil {
		return 0, 0
	}
	line, col = cur.Line, cur.Column
	for _, s := range inventory.SplitPath(path) {
		cur = resolveAlias(cur)
		if cur == nil {
			break
		}
		if s.Index >= 0 {
			if cur.Kind != yaml.SequenceNode || s.Index >= len(cur.Content) {
				break
			}
			cur = cur.Content[s.Index]
			line, col = cur.Line, cur.Column
			continue
		}
		k, v := findKey(cur, s.Key, 0)
		if k == nil {
			break
		}
		line, col = k.Line, k.Column
		cur = v
	}
	return line, col
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
