package kustomize

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/kubeharden/kubeharden/inventory"
)

// The transformer fields of a kustomization set fields of every object the
// kustomization builds (namespace, namePrefix, nameSuffix, labels,
// commonLabels, commonAnnotations) or of the objects they match (replicas,
// images). Each entry is a step that claims the fields it sets, by field
// path and value: a field is only claimed when the built object holds the
// value the entry sets there, so a later patch or transformer that
// changed it again is not hidden.

// fieldStep is a transformer entry that sets one field path (metadata.name,
// metadata.namespace, spec.replicas) to a value it can check.
type fieldStep struct {
	file  string
	at    *yaml.Node // the key of the entry's setting
	path  string
	holds func(v any) bool // whether the built value is the step's
	names []string         // names the entry applies to (replicas); nil: all
}

func (s *fieldStep) applies(_ *resource.Resource, names []string, _ string) bool {
	if s.names == nil {
		return true
	}
	return anyOf(names, func(n string) bool {
		for _, m := range s.names {
			if m == n {
				return true
			}
		}
		return false
	})
}

func (s *fieldStep) locate(path string, o *object) hit {
	if path != s.path || !s.holds(valueAt(o.built, path)) {
		return hit{}
	}
	return hit{file: s.file, line: s.at.Line, col: s.at.Column, depth: len(inventory.SplitPath(path))}
}

// namespaceStep is the namespace field.
func namespaceStep(file string, k, v *yaml.Node) step {
	return &fieldStep{file: file, at: k, path: "metadata.namespace", holds: func(x any) bool { return x == v.Value }}
}

// prefixStep is namePrefix (suffix false) or nameSuffix (suffix true).
func prefixStep(file string, k, v *yaml.Node, suffix bool) step {
	return &fieldStep{file: file, at: k, path: "metadata.name", holds: func(x any) bool {
		s, _ := x.(string)
		if suffix {
			return strings.HasSuffix(s, v.Value)
		}
		return strings.HasPrefix(s, v.Value)
	}}
}

// replicaStep is one replicas entry: the count of the objects of its name.
func replicaStep(file string, it *yaml.Node) step {
	name := mapValue(it, "name")
	k, v := mapEntry(it, "count")
	if name == nil || name.Kind != yaml.ScalarNode || v == nil || v.Kind != yaml.ScalarNode {
		return nil
	}
	return &fieldStep{file: file, at: k, path: "spec.replicas", names: []string{name.Value},
		holds: func(x any) bool { return x != nil && scalar(x) && fmt.Sprint(x) == v.Value }}
}

// mapStep is a set of labels or annotations: a labels entry, commonLabels
// or commonAnnotations. It claims the keys it sets in the maps it
// writes: the object's own labels or annotations, and, for labels, the
// pod templates' labels (templates) and the selectors (selectors).
type mapStep struct {
	file                 string
	keys                 map[string]*yaml.Node // key nodes of the pairs
	values               map[string]string
	annotations          bool
	templates, selectors bool
}

func newMapStep(file string, pairs *yaml.Node) *mapStep {
	if pairs == nil || pairs.Kind != yaml.MappingNode {
		return nil
	}
	s := &mapStep{file: file, keys: map[string]*yaml.Node{}, values: map[string]string{}}
	for i := 0; i+1 < len(pairs.Content); i += 2 {
		k, v := pairs.Content[i], pairs.Content[i+1]
		if k.Kind == yaml.ScalarNode && v.Kind == yaml.ScalarNode {
			s.keys[k.Value], s.values[k.Value] = k, v.Value
		}
	}
	if len(s.keys) == 0 {
		return nil
	}
	return s
}

func (s *mapStep) applies(*resource.Resource, []string, string) bool { return true }

func (s *mapStep) locate(path string, o *object) hit {
	segs := inventory.SplitPath(path)
	n := len(segs)
	if n < 2 || segs[n-1].Index >= 0 || segs[n-2].Index >= 0 {
		return hit{}
	}
	key, parent := segs[n-1].Key, segs[n-2].Key
	k, ok := s.keys[key]
	if !ok {
		return hit{}
	}
	own := n == 3 && segs[0].Key == "metadata"
	switch {
	case s.annotations:
		ok = parent == "annotations"
	case parent == "labels":
		ok = own || s.templates || s.selectors
	case parent == "matchLabels", parent == "selector":
		ok = s.selectors
	default:
		ok = false
	}
	if v := valueAt(o.built, path); !ok || v == nil || !scalar(v) || fmt.Sprint(v) != s.values[key] {
		return hit{}
	}
	return hit{file: s.file, line: k.Line, col: k.Column, depth: n}
}

// imageStep is one images entry: it sets the name, tag or digest of the
// images of that name. A finding on an image points at what the entry
// changed, preferring the digest, then the tag, then the name.
type imageStep struct {
	file                               string
	name                               string
	newName, newTag, digest, tagSuffix *yaml.Node // keys, nil when unset
	newNameV, newTagV, digestV, sufV   string
}

func newImageStep(file string, it *yaml.Node) step {
	name := mapValue(it, "name")
	if name == nil || name.Kind != yaml.ScalarNode || name.Value == "" {
		return nil
	}
	s := &imageStep{file: file, name: name.Value}
	get := func(field string) (*yaml.Node, string) {
		k, v := mapEntry(it, field)
		if v == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
			return nil, ""
		}
		return k, v.Value
	}
	s.newName, s.newNameV = get("newName")
	s.newTag, s.newTagV = get("newTag")
	s.digest, s.digestV = get("digest")
	s.tagSuffix, s.sufV = get("tagSuffix")
	if s.newName == nil && s.newTag == nil && s.digest == nil && s.tagSuffix == nil {
		return nil // changes nothing
	}
	return s
}

func (s *imageStep) applies(*resource.Resource, []string, string) bool { return true }

func (s *imageStep) locate(path string, o *object) hit {
	segs := inventory.SplitPath(path)
	if len(segs) == 0 || segs[len(segs)-1].Key != "image" || segs[len(segs)-1].Index >= 0 {
		return hit{}
	}
	img, ok := valueAt(o.built, path).(string)
	if !ok {
		return hit{}
	}
	name, tag, digest := splitImage(img)
	want := s.name
	if s.newName != nil {
		want = s.newNameV
	}
	if name != want {
		return hit{}
	}
	var at *yaml.Node
	switch {
	case s.digest != nil && digest == s.digestV:
		at = s.digest
	case s.newTag != nil && tag == s.newTagV && digest == "":
		at = s.newTag
	case s.tagSuffix != nil && strings.HasSuffix(tag, s.sufV):
		at = s.tagSuffix
	case s.newName != nil:
		at = s.newName
	default:
		return hit{}
	}
	return hit{file: s.file, line: at.Line, col: at.Column, depth: len(segs)}
}

// splitImage splits an image reference into its name, tag and digest.
func splitImage(s string) (name, tag, digest string) {
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s, digest = s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i+1:], "/") {
		s, tag = s[:i], s[i+1:]
	}
	return s, tag, digest
}

// valueAt returns the value at a field path of a generic object, or nil.
func valueAt(v any, path string) any {
	for _, seg := range inventory.SplitPath(path) {
		if seg.Index >= 0 {
			l, _ := v.([]any)
			if seg.Index >= len(l) {
				return nil
			}
			v = l[seg.Index]
			continue
		}
		m, _ := v.(map[string]any)
		v = m[seg.Key]
	}
	return v
}

func equalScalars(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// mapEntry returns the key and value nodes of a key of a mapping node.
func mapEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}
