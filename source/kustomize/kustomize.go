// Package kustomize builds Kustomize roots found on disk into inventory
// objects with the kustomize Go API: no kustomize or kubectl binary, no
// plugins, no network.
//
// Every built object is pointed back at the file it was read from (the
// base's resource file, not the overlay), using the origin kustomize
// records for each resource; field paths resolve to lines of that file,
// except those that a patch or a transformer of a kustomization the
// resource went through (recorded by kustomize too) sets: they resolve to
// the patch line, or to the kustomization's transformer entry. An object
// that no resource file has as built (a patch renamed it) is pointed at
// the last local patch applied to it instead.
//
// Objects keep the namespace the build gives them: a kustomization's
// namespace field, else the resource file's, else none. An object without
// one goes where it is applied (kubectl apply -k -n, a GitOps
// destination), which a build cannot know.
package kustomize

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// Source is the Origin.Source of built objects.
const Source = "kustomize"

// Renderer builds Kustomize roots. It implements manifest.DirRenderer and
// is safe for concurrent use.
type Renderer struct{}

var _ manifest.DirRenderer = (*Renderer)(nil)

// New returns a renderer.
func New() *Renderer { return &Renderer{} }

// Name implements manifest.DirRenderer.
func (r *Renderer) Name() string { return "kustomize" }

// Detect reports whether dir is a Kustomize root: it holds a
// kustomization.yaml, kustomization.yml or Kustomization file.
func (r *Renderer) Detect(dir string) bool {
	return kustomizationFile(dir) != ""
}

// kustomizationFile returns the path of dir's kustomization file, or "".
func kustomizationFile(dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// Includes returns the absolute directories of the local Kustomize roots
// (bases, components) that building dir also builds. The manifest loader
// uses it so that a scan of base/ and overlays/prod/ together does not
// report the base's objects twice.
func (r *Renderer) Includes(dir string) []string {
	_, inc := walkRoots(dir)
	return inc
}

// Render builds dir, as `kustomize build` would with its default load
// restrictions and without plugins, and emits the objects. A
// kustomization that needs the network (a remote base or file) is an
// error, reported before anything is built.
func (r *Renderer) Render(ctx context.Context, dir string, dec *manifest.Decoder, out manifest.Emitter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	kfile := kustomizationFile(dir)
	if kfile == "" {
		return fmt.Errorf("no kustomization file (%s)", strings.Join(konfig.RecognizedKustomizationFileNames(), ", "))
	}
	if errs := preflight(dir); len(errs) > 0 {
		for _, e := range errs {
			out.Error(e)
		}
		return nil
	}

	disk := filesys.MakeFsOnDisk()
	fs := &originFS{FileSystem: disk}
	injected, err := fs.requestBuildMetadata(dir, filepath.Base(kfile))
	if err != nil {
		return err
	}
	m, err := build(fs, dir)
	if err != nil {
		out.Error(inventory.Error{File: kfile, Message: "kustomize build failed: " + oneLine(err.Error())})
		return nil
	}

	b := &builder{dir: dir, kfile: kfile, dec: dec, sources: map[string]*sourceFile{}, kusts: map[string]*yaml.Node{},
		steps: map[string][]step{}, text: map[string][]string{}}
	for _, res := range m.Resources() {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.emit(res, injected, out)
	}
	return nil
}

// buildMu serialises builds: kustomize keeps the OpenAPI schema a
// kustomization selects in process-wide state.
var buildMu sync.Mutex

// build runs the kustomizer, turning its panics into errors.
func build(fs filesys.FileSystem, dir string) (m resmap.ResMap, err error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("kustomize failed: %v", r)
		}
	}()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	// Like the kustomize CLI: legacy order unless the kustomization
	// sets sortOptions.
	opts.Reorder = krusty.ReorderOptionUnspecified
	return krusty.MakeKustomizer(opts).Run(fs, dir)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// originFS is the disk, except that the root kustomization file reads as
// if its buildMetadata asked for origin and transformer annotations: that
// makes kustomize record, on every resource, the file it came from and
// the kustomizations whose transformers (patches included) ran over it.
type originFS struct {
	filesys.FileSystem
	path string // absolute, symlink-free path of the root kustomization
	data []byte // its content with the annotations requested
}

// injected says which build annotations kubeharden asked for (the
// kustomization did not): they are removed from the built objects.
type injected struct {
	origins, transformations bool
}

// requestBuildMetadata sets the root kustomization up for origin and
// transformer annotations, and reports which it had to ask for.
func (f *originFS) requestBuildMetadata(dir, name string) (injected, error) {
	root, _, err := f.FileSystem.CleanedAbs(dir)
	if err != nil {
		return injected{}, err
	}
	p := root.Join(name)
	data, err := f.FileSystem.ReadFile(p)
	if err != nil {
		return injected{}, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		// Not a mapping: let kustomize report it.
		return injected{}, nil
	}
	m := doc.Content[0]
	meta := mapValue(m, "buildMetadata")
	switch {
	case meta == nil:
		meta = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "buildMetadata"}, meta)
	case meta.Kind != yaml.SequenceNode:
		return injected{}, nil
	}
	have := map[string]bool{}
	for _, it := range meta.Content {
		have[it.Value] = true
	}
	var inj injected
	for _, opt := range []struct {
		name string
		set  *bool
	}{{types.OriginAnnotations, &inj.origins}, {types.TransformerAnnotations, &inj.transformations}} {
		if !have[opt.name] {
			meta.Content = append(meta.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: opt.name})
			*opt.set = true
		}
	}
	if inj == (injected{}) {
		return inj, nil
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return injected{}, nil
	}
	f.path, f.data = p, out
	return inj, nil
}

// ReadFile implements filesys.FileSystem.
func (f *originFS) ReadFile(path string) ([]byte, error) {
	if f.path != "" && filepath.Clean(path) == f.path {
		return bytes.Clone(f.data), nil
	}
	return f.FileSystem.ReadFile(path)
}

// builder turns built resources into objects pointed at their sources.
type builder struct {
	dir, kfile string
	dec        *manifest.Decoder
	sources    map[string]*sourceFile // resource files, by path
	kusts      map[string]*yaml.Node  // kustomization files, by path
	steps      map[string][]step      // steps of kustomization files, by path
	text       map[string][]string    // lines of kustomization files, by path
}

// collector keeps what a decoder emits.
type collector struct {
	objects []*inventory.Object
	errors  []inventory.Error
}

func (c *collector) Object(o *inventory.Object) { c.objects = append(c.objects, o) }
func (c *collector) Error(e inventory.Error)    { c.errors = append(c.errors, e) }

func (b *builder) emit(res *resource.Resource, inj injected, out manifest.Emitter) {
	origin, oerr := res.GetOrigin()
	trs, _ := res.GetTransformations()
	if inj.origins {
		if err := res.SetOrigin(nil); err != nil {
			out.Error(inventory.Error{File: b.kfile, Message: fmt.Sprintf("cannot clean up %s %s: %v", res.GetKind(), res.GetName(), err)})
			return
		}
	}
	if inj.transformations {
		if err := res.ClearTransformations(); err != nil {
			out.Error(inventory.Error{File: b.kfile, Message: fmt.Sprintf("cannot clean up %s %s: %v", res.GetKind(), res.GetName(), err)})
			return
		}
	}
	chain := b.chain(trs)
	data, err := res.AsYAML()
	if err != nil {
		out.Error(inventory.Error{File: b.kfile, Message: fmt.Sprintf("cannot serialise %s %s: %v", res.GetKind(), res.GetName(), err)})
		return
	}
	var built any
	_ = yaml.Unmarshal(data, &built)

	// Where the object comes from.
	file, line, col := b.kfile, 1, 1
	var loc inventory.Locator
	generated := false
	switch {
	case oerr != nil || origin == nil:
	case origin.Repo != "":
		// Remote origins are refused before building; keep the
		// kustomization if one ever shows up.
	case origin.Path != "":
		file = filepath.Join(b.dir, filepath.FromSlash(origin.Path))
		if src := b.source(file).match(res.GetKind(), res.GetName(), res.GetNamespace()); src != nil {
			line, col = src.obj.Origin.Line, src.obj.Origin.Column
			loc = &sourceLocator{file: file, base: src, obj: object{built: built, src: src.data}, steps: b.stepsFor(res, chain, src)}
		}
	case origin.ConfiguredIn != "":
		file = filepath.Join(b.dir, filepath.FromSlash(origin.ConfiguredIn))
		line, col = b.generatorLine(file, origin.ConfiguredBy.Kind, res.GetName())
		generated = true
	}
	if loc == nil && !generated {
		// No resource file has the object as it was built (a patch
		// renamed it, say): the last strategic-merge patch applied to it
		// is the only text that describes it.
		steps := b.stepsFor(res, chain, nil)
		for i := len(steps) - 1; i >= 0; i-- {
			if p, ok := steps[i].(*patchDoc); ok {
				file, line, col = p.file, p.line, p.col
				loc = &sourceLocator{file: p.file, base: p, obj: object{built: built}, steps: steps}
				break
			}
		}
	}
	if loc == nil {
		loc = fixed{line, col}
	}

	var c collector
	if err := b.dec.Decode(bytes.NewReader(data), file, Source, &c); err != nil {
		out.Error(inventory.Error{File: file, Line: line, Message: err.Error()})
		return
	}
	for _, e := range c.errors {
		// Lines of the built YAML are no lines of the file.
		e.File, e.Line = file, line
		e.Message = fmt.Sprintf("%s (built %s %s)", e.Message, res.GetKind(), res.GetName())
		out.Error(e)
	}
	for _, o := range c.objects {
		o.Origin = inventory.Origin{Source: Source, File: file, Line: line, Column: col}
		o.Locator = loc
		out.Object(o)
	}
}

// fixed locates every path at one position.
type fixed struct{ line, col int }

func (f fixed) Locate(string) (int, int) { return f.line, f.col }

// generatorLine finds, in a kustomization file, the generator entry that
// made a resource: the configMapGenerator or secretGenerator item whose
// name the resource's name contains (prefixes, suffixes and the content
// hash are added to it). It falls back to the generator field, then to
// line 1.
func (b *builder) generatorLine(file, generator, name string) (int, int) {
	doc := b.kustomization(file)
	if doc == nil {
		return 1, 1
	}
	field := map[string]string{"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}[generator]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		if k.Value != field || field == "" {
			continue
		}
		best, bestLen := (*yaml.Node)(nil), -1
		if v.Kind == yaml.SequenceNode {
			for _, it := range v.Content {
				n := mapValue(it, "name")
				if n == nil || n.Kind != yaml.ScalarNode || !strings.Contains(name, n.Value) {
					continue
				}
				if len(n.Value) > bestLen {
					best, bestLen = it, len(n.Value)
				}
			}
		}
		if best != nil {
			return best.Line, best.Column
		}
		return k.Line, k.Column
	}
	return 1, 1
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
