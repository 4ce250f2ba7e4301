package kustomize

import (
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
)

// chain returns the local kustomization files whose transformers ran over
// a resource, in the order they ran (a base's before its overlay's), from
// the transformations kustomize recorded on it.
func (b *builder) chain(trs resource.Transformations) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range trs {
		if t == nil || t.Repo != "" || t.ConfiguredIn == "" {
			continue
		}
		f := filepath.Join(b.dir, filepath.FromSlash(t.ConfiguredIn))
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// stepsFor returns the steps of the kustomizations of chain that apply to
// a built resource, in the order they were applied. src is the object of
// the resource file it came from, nil if unknown.
func (b *builder) stepsFor(res *resource.Resource, chain []string, src *srcObj) []step {
	var srcName, srcNS string
	if src != nil {
		srcName, srcNS = src.obj.Name, src.obj.Namespace
	}
	names := nameCandidates(res.GetName(), srcName)
	var out []step
	for _, k := range chain {
		for _, s := range b.stepsOf(k) {
			if s.applies(res, names, srcNS) {
				out = append(out, s)
			}
		}
	}
	return out
}

// stepsOf returns (once) the steps of the kustomization file kfile, in the
// order kustomize's builtin transformers apply them: strategic-merge
// patches, patches, namespace, namePrefix, nameSuffix, labels and
// commonLabels, commonAnnotations, JSON 6902 patches, replicas, images.
// (Replacements copy values from other objects and are not followed.)
func (b *builder) stepsOf(kfile string) []step {
	if s, ok := b.steps[kfile]; ok {
		return s
	}
	var out []step
	add := func(s step) {
		if s != nil {
			out = append(out, s)
		}
	}
	root := b.kustomization(kfile)
	dir := filepath.Dir(kfile)

	for _, n := range scalars(mapValue(root, "patchesStrategicMerge")) {
		if strings.Contains(n.Value, "\n") {
			out = append(out, parsePatch([]byte(n.Value), kfile, b.inlinePos(kfile, n, n), nil, false)...)
		} else {
			out = append(out, b.readPatchFile(dir, n.Value, nil, false)...)
		}
	}
	out = append(out, b.patchEntries(kfile, mapValue(root, "patches"))...)
	if k, v := mapEntry(root, "namespace"); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
		add(namespaceStep(kfile, k, v))
	}
	if k, v := mapEntry(root, "namePrefix"); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
		add(prefixStep(kfile, k, v, false))
	}
	if k, v := mapEntry(root, "nameSuffix"); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
		add(prefixStep(kfile, k, v, true))
	}
	for _, it := range items(mapValue(root, "labels")) {
		if s := newMapStep(kfile, mapValue(it, "pairs")); s != nil {
			s.selectors = isTrue(mapValue(it, "includeSelectors"))
			s.templates = isTrue(mapValue(it, "includeTemplates"))
			add(s)
		}
	}
	if s := newMapStep(kfile, mapValue(root, "commonLabels")); s != nil {
		s.selectors, s.templates = true, true
		add(s)
	}
	if s := newMapStep(kfile, mapValue(root, "commonAnnotations")); s != nil {
		s.annotations = true
		add(s)
	}
	out = append(out, b.patchEntries(kfile, mapValue(root, "patchesJson6902"))...)
	for _, it := range items(mapValue(root, "replicas")) {
		add(replicaStep(kfile, it))
	}
	for _, field := range []string{"images", "imageTags"} {
		for _, it := range items(mapValue(root, field)) {
			add(newImageStep(kfile, it))
		}
	}
	b.steps[kfile] = out
	return out
}

// patchEntries reads the entries of a patches or patchesJson6902 list of
// the kustomization kfile: each a patch file (path) or an inline patch
// (patch), with an optional target and options.
func (b *builder) patchEntries(kfile string, list *yaml.Node) []step {
	var out []step
	for _, it := range items(list) {
		target, ok := selectorOf(mapValue(it, "target"))
		if !ok {
			continue // kustomize would have refused it
		}
		renames := false
		if o := mapValue(it, "options"); o != nil {
			var opts map[string]bool
			if o.Decode(&opts) == nil {
				renames = opts["allowNameChange"] || opts["allowKindChange"]
			}
		}
		if p := mapValue(it, "path"); p != nil && p.Kind == yaml.ScalarNode {
			out = append(out, b.readPatchFile(filepath.Dir(kfile), p.Value, target, renames)...)
			continue
		}
		if k, p := mapEntry(it, "patch"); p != nil && p.Kind == yaml.ScalarNode {
			out = append(out, parsePatch([]byte(p.Value), kfile, b.inlinePos(kfile, p, k), target, renames)...)
		}
	}
	return out
}

// inlinePos maps positions in the text of an inline patch, the scalar n of
// the kustomization kfile, to positions in kfile. A literal block scalar
// (patch: |-) keeps its lines, shifted and indented: the mapping is an
// offset, used once the text rebuilt from the file's lines is the
// scalar's. Any other scalar maps every position to key.
func (b *builder) inlinePos(kfile string, n, key *yaml.Node) textPos {
	fixed := textPos{fixedLine: key.Line, fixedCol: key.Column}
	if n.Style&yaml.LiteralStyle == 0 {
		return fixed
	}
	lines := b.lines(kfile)
	indent := -1
	var text []string
	// n.Line is the line of the | indicator; the text starts on the next.
	for i := n.Line; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			text = append(text, "")
			continue
		}
		ind := len(l) - len(strings.TrimLeft(l, " "))
		if indent < 0 {
			indent = ind
		}
		if ind < indent {
			break
		}
		text = append(text, strings.TrimRight(l[indent:], " \t"))
	}
	want := strings.Split(strings.TrimRight(n.Value, "\n"), "\n")
	for i := range want {
		want[i] = strings.TrimRight(want[i], " \t")
	}
	if indent < 0 || strings.TrimRight(strings.Join(text, "\n"), "\n") != strings.Join(want, "\n") {
		return fixed
	}
	return textPos{lines: n.Line, cols: indent}
}

// lines returns (once) the lines of a kustomization file.
func (b *builder) lines(file string) []string {
	if l, ok := b.text[file]; ok {
		return l
	}
	var l []string
	if data, err := os.ReadFile(file); err == nil {
		l = strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	}
	b.text[file] = l
	return l
}

func isTrue(n *yaml.Node) bool {
	var v bool
	return n != nil && n.Decode(&v) == nil && v
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
